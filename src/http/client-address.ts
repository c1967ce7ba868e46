import type { IncomingMessage } from "node:http";
import proxyAddr from "proxy-addr";
import { ConfigurationError } from "../app/errors.js";

/**
 * The proxies that may set `X-Forwarded-For` and `X-Forwarded-Proto`:
 * - `false` (default): none; the socket address is the client.
 * - a number `n`: the `n` nearest hops are proxies of yours.
 * - a list of addresses, CIDR ranges or the names `loopback`, `linklocal`, `uniquelocal`.
 */
export type TrustProxy = false | number | readonly string[];

/** Decides whether the hop at `index` (0 is the socket peer) with address `address` is a trusted proxy. */
export type TrustFunction = (address: string, index: number) => boolean;

/** Checks a `trustProxy` option at start-up and compiles it; null means no proxy is trusted. */
export function compileTrustProxy(trustProxy: unknown): TrustFunction | null {
  if (trustProxy === false || trustProxy === undefined || trustProxy === 0) return null;
  if (trustProxy === true) {
    throw new ConfigurationError(
      "trustProxy: true would let any client set its own address with X-Forwarded-For. " +
        "Set trustProxy to the number of proxies in front of the app (for example 1) or to their addresses.",
    );
  }
  if (typeof trustProxy === "number") {
    if (!Number.isInteger(trustProxy) || trustProxy < 0) {
      throw new ConfigurationError(`trustProxy must be a non-negative integer hop count, got ${String(trustProxy)}`);
    }
    const hops = trustProxy;
    return function trustNearestHops(_address, index) {
      return index < hops;
    };
  }
  if (Array.isArray(trustProxy) && trustProxy.every((entry) => typeof entry === "string")) {
    try {
      return proxyAddr.compile([...trustProxy]);
    } catch (error) {
      throw new ConfigurationError(`trustProxy contains an invalid address or range: ${(error as Error).message}`);
    }
  }
  throw new ConfigurationError(
    `trustProxy must be false, a hop count or a list of addresses, got ${JSON.stringify(trustProxy)}`,
  );
}

/**
 * Returns the client address: the socket peer, or with a trust function the right-most
 * `X-Forwarded-For` entry that was not added by a trusted proxy. IPv4-mapped IPv6
 * addresses such as `::ffff:10.0.0.1` are returned as IPv4.
 */
export function resolveClientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trust: TrustFunction | null,
): string {
  const socketAddress = remoteAddress ?? "";
  if (trust === null || forwardedFor === undefined) return unmapIPv4(socketAddress);
  const peer = { socket: { remoteAddress: socketAddress }, headers: { "x-forwarded-for": forwardedFor } };
  return unmapIPv4(proxyAddr(peer as unknown as IncomingMessage, trust));
}

function unmapIPv4(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
