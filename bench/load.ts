import autocannon from "autocannon";

/** Load generator settings, with durations in seconds. */
export interface LoadSettings {
  connections: number;
  seconds: number;
  /** Cookie header sent with every request. Default: none. */
  cookie?: string;
  /** Method of every request, sent without a body. Default `"GET"`. */
  method?: "GET" | "POST";
}

/** The figures of one autocannon run. */
export interface LoadResult {
  /** Mean of autocannon's per-second request counts. */
  requestsPerSecond: number;
  /** Responses received. */
  requests: number;
  /** Wall-clock length of the run in seconds. */
  durationSeconds: number;
  /** 99th percentile latency in milliseconds. */
  p99Ms: number;
  /** Responses with a status other than 2xx. */
  non2xx: number;
  /** Connection errors, timeouts included. */
  errors: number;
}

/** Runs autocannon against `url`, which must be on 127.0.0.1 or ::1. */
export async function runLoad(url: string, settings: LoadSettings): Promise<LoadResult> {
  const { hostname } = new URL(url);
  if (hostname !== "127.0.0.1" && hostname !== "[::1]") {
    throw new Error(`The benchmark only loads servers on this machine, got ${url}`);
  }
  const result = await autocannon({
    url,
    connections: settings.connections,
    duration: settings.seconds,
    method: settings.method ?? "GET",
    headers: settings.cookie === undefined ? {} : { cookie: settings.cookie },
  });
  return {
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    durationSeconds: result.duration,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
