import ipaddr from "ipaddr.js";
import type { Request } from "../http/request.js";

/**
 * Returns the key that rate limits count a client under: its address as `req.ip` resolves
 * it (proxy headers only when `trustProxy` allows them), with IPv4-mapped IPv6 as IPv4 and
 * other IPv6 addresses grouped by their /64 prefix, since one subscriber usually holds a
 * whole /64 and could otherwise rotate through its addresses.
 */
export function clientKey(req: Request): string {
  return addressKey(req.ip);
}

/** Groups one address as {@link clientKey} does; an unparsable address is returned as it is. */
export function addressKey(address: string): string {
  // Most clients are plain IPv4, which needs no parsing.
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(address)) return address;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(address);
  } catch {
    return address;
  }
  if (parsed.kind() === "ipv4") return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${parts.join(":")}::/64`;
}
