export { emitSecurityEvent, setSecurityEventSink } from "./audit.js";
export type { SecurityEvent, SecurityEventInit, SecurityEventSink } from "./audit.js";
export { SECURITY_EVENT_NAMES } from "./events.js";
export type { SecurityEventName } from "./events.js";
