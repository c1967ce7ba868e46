import autocannon from "autocannon";

/** Load generator settings, with durations in seconds. */
export interface LoadSettings {
  connections: number;
  seconds: number;
  /** Cookie header sent with every request. Default: none. */
  cookie?: string;
  /** Method of every request. Default `"GET"`. */
  method?: "GET" | "POST";
  /** Body of every request. Default: none. */
  body?: string;
  /** More headers of every request, such as `content-type` and `origin`. */
  headers?: Readonly<Record<string, string>>;
}

/** The figures of one autocannon run. */
export interface LoadResult {
  /** Mean of autocannon's per-second request counts. */
  requestsPerSecond: number;
  /** Responses received. */
  requests: number;
  /** Wall-clock length of the run in seconds. */
  durationSeconds: number;
  /** Median latency in milliseconds. */
  p50Ms: number;
  /** 99th percentile latency in milliseconds. */
  p99Ms: number;
  /** Responses by status code. */
  statuses: Record<string, number>;
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
    headers: { ...settings.headers, ...(settings.cookie === undefined ? {} : { cookie: settings.cookie }) },
    ...(settings.body === undefined ? {} : { body: settings.body }),
  });
  const statuses: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = stats.count ?? 0;
  return {
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    durationSeconds: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    statuses,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
