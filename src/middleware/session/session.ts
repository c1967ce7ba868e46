/** A value a session can store: what JSON can represent without loss of type. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Session data by key, in a null-prototype record. */
export type SessionData = Record<string, JsonValue>;

/** The largest session data a store can keep, checked whenever a value is set. */
export interface SessionSizeLimit {
  /** Maximum byte length of `JSON.stringify(data)`. */
  readonly maxDataBytes: number;
  /** Returns the error that `set` throws for data whose JSON is `dataBytes` long. */
  tooLarge(dataBytes: number): Error;
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

const MAX_DEPTH = 32;

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  const constructor = (value as { constructor?: { name?: string } }).constructor;
  return constructor?.name ?? "an object without a plain prototype";
}

/** Throws a TypeError naming the path of the first value JSON cannot represent exactly. */
export function assertJsonValue(value: unknown, path: string, seen?: Set<object>, depth = 0): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value))
      throw new TypeError(`Session value ${path} is ${String(value)}; store finite numbers only`);
    return;
  }
  if (typeof value !== "object") {
    throw new TypeError(`Session value ${path} is a ${typeof value}; sessions store JSON values only`);
  }
  if (depth > MAX_DEPTH)
    throw new TypeError(`Session value ${path} is nested more than ${String(MAX_DEPTH)} levels deep`);
  // Created only for objects, so storing a string or number allocates nothing here.
  seen ??= new Set<object>();
  if (seen.has(value)) throw new TypeError(`Session value ${path} contains a circular reference`);
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      assertJsonValue(item, `${path}[${String(index)}]`, seen, depth + 1);
    });
  } else {
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype !== Object.prototype && prototype !== null) {
      throw new TypeError(
        `Session value ${path} is ${describeType(value)}; store plain objects, arrays, strings, numbers, booleans or null (convert a Date to an ISO string)`,
      );
    }
    for (const [key, item] of Object.entries(value)) assertJsonValue(item, `${path}.${key}`, seen, depth + 1);
  }
  seen.delete(value);
}

/**
 * The session of one request. Values must be JSON values and are checked when set. Changes
 * are tracked, so the response carries a cookie only when something changed. A value read
 * with `get` and then mutated is not saved until it is passed to `set` again.
 */
export class Session {
  #data: SessionData;
  #modified = false;
  #regenerated = false;
  readonly #isNew: boolean;
  readonly #sizeLimit: SessionSizeLimit | null;
  /**
   * At least the byte length of the data's JSON. Undefined until the first set computes it,
   * unless the middleware passed one.
   */
  #dataBytesBound: number | undefined;
  /** True once the data is this session's own copy, which set() and delete() may change in place. */
  #ownsData = false;

  /**
   * @internal Created by SessionMiddleware. `sizeLimit` is null for stores without a limit.
   * `dataBytesBound`, when known, is at least the byte length of `data` as JSON.
   */
  constructor(data: SessionData, isNew: boolean, sizeLimit: SessionSizeLimit | null, dataBytesBound?: number) {
    this.#data = data;
    this.#isNew = isNew;
    this.#sizeLimit = sizeLimit;
    this.#dataBytesBound = dataBytesBound;
  }

  /** Returns the value stored under `key`; `T` is the caller's expectation and is not checked. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed read, like Map.get
  get<T extends JsonValue = JsonValue>(key: string): T | undefined {
    return Object.hasOwn(this.#data, key) ? (this.#data[key] as T) : undefined;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.#data, key);
  }

  keys(): string[] {
    return Object.keys(this.#data);
  }

  /**
   * Stores a JSON value. Throws a TypeError for anything else (undefined, functions, Dates,
   * Maps, class instances, non-finite numbers, cycles), and an error from the store when the
   * session would grow too large for it. In both cases the session is left unchanged.
   */
  set(key: string, value: JsonValue): void {
    assertJsonValue(value, key);
    const bound = this.#sizeLimit === null ? undefined : this.#checkSize(this.#sizeLimit, key, value);
    this.#ownData()[key] = value;
    this.#dataBytesBound = bound;
    this.#modified = true;
  }

  /**
   * Returns the data for changing it, copied on the first change of the request. Until then
   * it may be the frozen object that other requests with the same cookie share.
   */
  #ownData(): SessionData {
    if (!this.#ownsData) {
      this.#data = Object.assign(Object.create(null) as SessionData, this.#data);
      this.#ownsData = true;
    }
    return this.#data;
  }

  /**
   * Throws when setting `key` to `value` would take the data over the limit, and returns a
   * new bound of its size. The bound adds the new entry to the current size as if the key
   * were new, which overstates a replaced value, so only a bound over the limit costs a full
   * JSON.stringify.
   */
  #checkSize(limit: SessionSizeLimit, key: string, value: JsonValue): number {
    const current = this.#dataBytesBound ?? jsonBytes(this.#data);
    // The entry adds `"key":value`, and a comma unless the data was empty.
    const bound = current + jsonBytes(key) + 1 + jsonBytes(value) + 1;
    if (bound <= limit.maxDataBytes) return bound;
    const next = Object.assign(Object.create(null) as SessionData, this.#data);
    next[key] = value;
    const exact = jsonBytes(next);
    if (exact > limit.maxDataBytes) throw limit.tooLarge(exact);
    return exact;
  }

  delete(key: string): void {
    if (!Object.hasOwn(this.#data, key)) return;
    // Dynamic delete on the request's own null-prototype copy; the key is an ordinary data key.
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
    delete this.#ownData()[key];
    this.#modified = true;
  }

  /** Removes every value. An empty session ends: its cookie and server-side record are deleted. */
  clear(): void {
    if (Object.keys(this.#data).length === 0) return;
    this.#data = Object.create(null) as SessionData;
    this.#ownsData = true;
    this.#dataBytesBound = undefined;
    this.#modified = true;
  }

  /**
   * Moves the session to a new id, keeping its data, and drops the old server-side record,
   * so an id an attacker planted or copied before login stops working (session fixation).
   * The session's absolute lifetime starts again.
   */
  regenerate(): void {
    this.#regenerated = true;
  }

  /** True when the request arrived without a valid session. */
  get isNew(): boolean {
    return this.#isNew;
  }

  get isEmpty(): boolean {
    return Object.keys(this.#data).length === 0;
  }

  get isModified(): boolean {
    return this.#modified;
  }

  get isRegenerated(): boolean {
    return this.#regenerated;
  }

  /** @internal The current data, for saving. */
  get data(): Readonly<SessionData> {
    return this.#data;
  }
}
