import assert from "node:assert/strict";
import { test } from "node:test";
import {
  PEER_METRICS,
  formatPeerRounds,
  formatPeerSummary,
  formatPeerTable,
  peerRatio,
  renderPeerChart,
} from "../../bench/peers/report.js";
import type { PeerReport, PeerResults, PeerRound } from "../../bench/peers/run.js";
import { PEER_LABELS, type Peer } from "../../bench/peers/spec.js";

const SECONDS = 3;
const MAX_RSS = 64 * 2 ** 20;

/** Figures of one stack, with one value per round in every list. */
interface Figures {
  p50Ms?: readonly number[];
  p99Ms?: readonly number[];
  cpuMicrosPerRequest?: readonly number[];
  loginsPerSecond?: readonly number[];
}

function stack(requestsPerSecond: readonly number[], figures: Figures = {}): PeerResults {
  const rounds = requestsPerSecond.map((rate, index): PeerRound => {
    const requests = rate * SECONDS;
    const logins = figures.loginsPerSecond?.[index];
    return {
      requestsPerSecond: rate,
      requests,
      durationSeconds: SECONDS,
      p50Ms: figures.p50Ms?.[index] ?? 2,
      p99Ms: figures.p99Ms?.[index] ?? 10,
      statuses: { "200": requests },
      non2xx: 0,
      errors: 0,
      cpuMicros: requests * (figures.cpuMicrosPerRequest?.[index] ?? 25),
      ...(logins === undefined ? {} : { loginsPerSecond: logins }),
    };
  });
  return { rounds, maxRss: MAX_RSS };
}

/** Requests/s of node:http in each of the three rounds, which the other stacks are divided by. */
const BARE = [1000, 2000, 4000];

/**
 * Builds a report of three rounds whose paired ratios are known exactly. It leaves out the
 * "form" scenario. In "hello", bengal-chirp's per-round ratios are 0.9, 0.8 and 0.85, so the
 * paired median is 0.85 where the ratio of the medians would be 0.80.
 */
function syntheticReport(): Partial<PeerReport> {
  return {
    hello: {
      bare: stack(BARE, { p99Ms: [10, 8, 11] }),
      chirp: stack([900, 1600, 3400], { p99Ms: [12, 10, 11], cpuMicrosPerRequest: [20, 22.5, 30] }),
      fastify: stack([800, 1600, 3200]),
      express: stack([500, 1000, 2000]),
      hono: stack([950, 1900, 3800]),
    },
    page: {
      bare: stack(BARE),
      chirp: stack([600, 1200, 2400]),
      fastify: stack([500, 1000, 2000]),
      express: stack([400, 800, 1600]),
      hono: stack([550, 1100, 2200]),
    },
    "login-429": {
      bare: stack(BARE),
      chirp: stack([1300, 2600, 5200]),
      fastify: stack([1300, 2600, 5200]),
      express: stack([650, 1300, 2600]),
      hono: stack([2600, 5200, 10400]),
    },
    burst: {
      bare: stack(BARE, { p99Ms: [10, 12, 11], loginsPerSecond: [40, 50, 60] }),
      chirp: stack(BARE, { p99Ms: [14, 13, 15], loginsPerSecond: [44, 50, 54] }),
      fastify: stack(BARE, { p99Ms: [20, 20, 20], loginsPerSecond: [20, 25, 30] }),
      express: stack(BARE, { p99Ms: [30, 31, 29], loginsPerSecond: [40, 50, 60] }),
      hono: stack(BARE, { p99Ms: [12, 12, 12], loginsPerSecond: [22, 25, 27] }),
    },
  };
}

/** Replaces the results of one stack in one scenario that the report has. */
function replace(
  report: Partial<PeerReport>,
  scenarioId: keyof PeerReport,
  peer: Peer,
  results: PeerResults,
): Partial<PeerReport> {
  const scenario = report[scenarioId];
  assert.ok(scenario, `the report has no ${scenarioId} scenario`);
  return { ...report, [scenarioId]: { ...scenario, [peer]: results } };
}

test("peerRatio pairs rounds before the median", () => {
  const report = syntheticReport();

  assert.equal(peerRatio(report, "hello", "chirp", "bare"), 0.85);
  assert.equal(peerRatio(report, "page", "chirp", "express"), 1.5);
  assert.equal(peerRatio(report, "hello", "chirp", "bare", PEER_METRICS.p99Ms), 1.2);
});

test("peerRatio of a missing scenario is NaN", () => {
  assert.ok(Number.isNaN(peerRatio(syntheticReport(), "form", "chirp", "bare")));
});

test("peerRatio skips rounds without a figure", () => {
  const report = syntheticReport();

  // Only the burst rounds carry loginsPerSecond.
  assert.ok(Number.isNaN(peerRatio(report, "page", "chirp", "bare", PEER_METRICS.loginsPerSecond)));
  const partial = replace(report, "burst", "chirp", stack(BARE, { loginsPerSecond: [44, 50] }));
  assert.equal(peerRatio(partial, "burst", "chirp", "bare", PEER_METRICS.loginsPerSecond), 1.05);
});

test("peerRatio pairs only the rounds both stacks have", () => {
  // Round ratios of 0.75 and 1.25, whose mean is exact in binary floating point.
  const report = replace(syntheticReport(), "hello", "chirp", stack([750, 2500]));

  assert.equal(peerRatio(report, "hello", "chirp", "bare"), 1);
});

test("formatPeerTable rows show medians and paired ratios", () => {
  const lines = formatPeerTable(syntheticReport()).split("\n");

  assert.equal(
    lines[0],
    "| Scenario | Stack | Requests/s | vs node:http | p50 (ms) | p99 (ms) | p99 vs node:http | CPU µs/request | Peak RSS (MiB) | Logins/s |",
  );
  assert.ok(lines.includes("| hello world | node:http | 2,000 | 1.00x | 2.0 | 10.0 | 1.00x | 25.0 | 64 | – |"));
  assert.ok(lines.includes("| hello world | bengal-chirp | 1,600 | 0.85x | 2.0 | 11.0 | 1.20x | 22.5 | 64 | – |"));
  assert.ok(lines.includes("| authenticated page | Express | 800 | 0.40x | 2.0 | 10.0 | 1.00x | 25.0 | 64 | – |"));
  assert.ok(
    lines.includes(
      "| page reads during a login burst | bengal-chirp | 2,000 | 1.00x | 2.0 | 14.0 | 1.36x | 25.0 | 64 | 50.0 |",
    ),
  );
});

test("formatPeerTable lists scenarios and stacks in order", () => {
  const rows = formatPeerTable(syntheticReport()).split("\n").slice(2);
  const keys = rows.map((row) => row.split(" | ").slice(0, 2).join(" / "));

  const scenarios = [
    "| hello world",
    "| authenticated page",
    "| rate-limited login, 429",
    "| page reads during a login burst",
  ];
  const stacks = ["node:http", "bengal-chirp", "Fastify", "Express", "Hono"];
  assert.deepEqual(
    keys,
    scenarios.flatMap((scenario) => stacks.map((label) => `${scenario} / ${label}`)),
  );
});

test("formatPeerTable omits a missing scenario", () => {
  const table = formatPeerTable(syntheticReport());

  assert.doesNotMatch(table, /CSRF-checked form POST/);
  assert.equal(table.split("\n").length, 2 + 4 * 5);
});

test("formatPeerTable shows n/a for a stack without rounds", () => {
  const table = formatPeerTable(replace(syntheticReport(), "page", "hono", stack([])));

  assert.ok(table.split("\n").includes("| authenticated page | Hono | n/a | n/a | n/a | n/a | n/a | n/a | 64 | – |"));
  assert.doesNotMatch(table, /NaN|Infinity/);
});

test("formatPeerSummary when every aim is met", () => {
  assert.deepEqual(formatPeerSummary(syntheticReport()), [
    "- hello world: bengal-chirp 0.85x node:http (aim: at least 0.85x node:http, met)",
    "- authenticated page: bengal-chirp 1.20x Fastify, 1.50x Express (aim: at least 1.00x Fastify and 1.50x Express, met)",
    "- rate-limited login, 429: bengal-chirp 1.30x node:http, 1.00x Fastify, 2.00x Express, 0.50x Hono",
    "- page reads during a login burst: p99 of the page reads node:http 11.0 ms, bengal-chirp 14.0 ms, Fastify 20.0 ms, Express 30.0 ms, Hono 12.0 ms",
    "- page reads during a login burst: bengal-chirp 50.0 logins/s, 1.00x node:http, 2.00x Fastify, 1.00x Express, 2.00x Hono",
  ]);
});

test("formatPeerSummary reports missed aims", () => {
  let report = replace(syntheticReport(), "hello", "chirp", stack([840, 1680, 3360]));
  report = replace(report, "page", "express", stack([420, 840, 1680]));
  const summary = formatPeerSummary(report);

  assert.equal(summary[0], "- hello world: bengal-chirp 0.84x node:http (aim: at least 0.85x node:http, missed)");
  assert.equal(
    summary[1],
    "- authenticated page: bengal-chirp 1.20x Fastify, 1.43x Express (aim: at least 1.00x Fastify and 1.50x Express, missed)",
  );
});

test("formatPeerSummary misses when one of two aims fails", () => {
  const report = replace(syntheticReport(), "page", "fastify", stack([700, 1400, 2800]));

  assert.equal(
    formatPeerSummary(report)[1],
    "- authenticated page: bengal-chirp 0.86x Fastify, 1.50x Express (aim: at least 1.00x Fastify and 1.50x Express, missed)",
  );
});

test("formatPeerSummary gives no verdict without rounds", () => {
  const report = replace(syntheticReport(), "hello", "chirp", stack([]));

  assert.equal(
    formatPeerSummary(report)[0],
    "- hello world: bengal-chirp n/a node:http (aim: at least 0.85x node:http, n/a)",
  );
});

test("formatPeerSummary skips missing scenarios", () => {
  const { hello, burst } = syntheticReport();
  const summary = formatPeerSummary({ hello, burst });

  assert.equal(summary.length, 3);
  assert.ok(summary.every((line) => !line.includes("authenticated page") && !line.includes("CSRF-checked")));
  assert.deepEqual(formatPeerSummary({}), []);
});

/**
 * Checks that `svg` is well-formed XML as far as this renderer writes it: elements nest and
 * close, attribute values are double-quoted, and every `&` starts one of the escapes used.
 */
function assertWellFormed(svg: string): void {
  assert.ok(svg.startsWith("<svg "), "the document starts with the svg element");
  assert.doesNotMatch(svg, /&(?!(?:amp|lt|gt|quot|#39);)/, "every & starts an escape");
  const open: string[] = [];
  let position = 0;
  for (const match of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g)) {
    const between = svg.slice(position, match.index);
    assert.doesNotMatch(between, /[<>]/, `stray markup before ${match[0]}`);
    position = match.index + match[0].length;
    const [, closing, name, , selfClosing] = match;
    if (closing === "/") assert.equal(open.pop(), name, `</${String(name)}> closes the element that is open`);
    else if (selfClosing !== "/") open.push(name!);
  }
  assert.deepEqual(open, [], "every element is closed");
  assert.equal(svg.slice(position).trim(), "", "nothing follows the svg element");
}

/** Returns the scenario names of the chart, with the lines of a wrapped name joined by spaces. */
function scenarioNames(svg: string): string[] {
  const names = svg.matchAll(/<text class="scenario"[^>]*>(.*?)<\/text>/g);
  return [...names].map(([, tspans]) =>
    [...tspans!.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map(([, line]) => line).join(" "),
  );
}

/** Returns the width of each bar by its tooltip. */
function barWidths(svg: string): Map<string, number> {
  const bars = svg.matchAll(/<rect class="bar"[^>]* width="([\d.]+)"[^>]*><title>([^<]*)<\/title><\/rect>/g);
  return new Map([...bars].map(([, width, title]) => [title!, Number(width)]));
}

test("renderPeerChart is well-formed with one bar per stack", () => {
  const svg = renderPeerChart(syntheticReport());

  assertWellFormed(svg);
  assert.match(svg, /width="760"/);
  assert.equal(svg.match(/<rect class="bar"/g)?.length, 4 * 4);
  assert.equal(barWidths(svg).size, 4 * 4);
  assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
});

test("renderPeerChart labels title, scenarios and bars", () => {
  const svg = renderPeerChart(syntheticReport());

  assert.match(svg, /<title>Requests\/s as a ratio to node:http, same run<\/title>/);
  assert.deepEqual(scenarioNames(svg), [
    "hello world",
    "authenticated page",
    "rate-limited login, 429",
    "page reads during a login burst",
  ]);
  for (const label of ["bengal-chirp", "Fastify", "Express", "Hono"]) {
    assert.ok(svg.includes(`>${label}</text>`), `legend label ${label}`);
  }
  assert.ok(svg.includes(">node:http</text>"), "label of the reference line");
  assert.ok(svg.includes(">0.85x</text>"), "value label of bengal-chirp in hello world");
  assert.ok(svg.includes(">2.60x</text>"), "value label of Hono in the rate-limited login");
  assert.doesNotMatch(svg, /CSRF-checked form POST/);
});

test("renderPeerChart bars share one axis", () => {
  const widths = barWidths(renderPeerChart(syntheticReport()));
  const hello = widths.get("bengal-chirp, hello world: 0.85x the requests/s of node:http");
  const longest = widths.get("Hono, rate-limited login, 429: 2.60x the requests/s of node:http");

  assert.ok(hello !== undefined, "bar of bengal-chirp in hello world");
  assert.ok(longest !== undefined, "bar of Hono in the rate-limited login");
  assert.ok(Math.abs(hello / longest - 0.85 / 2.6) < 0.001, `widths ${String(hello)} and ${String(longest)}`);
});

test("renderPeerChart axis reaches at least 1.2x", () => {
  const { hello } = syntheticReport();
  const small = renderPeerChart({ hello });
  const large = renderPeerChart(syntheticReport());

  assert.ok(small.includes(">1.2x</text>"), "the axis of ratios up to 0.95x ends at 1.2x");
  // 2.6 x 1.1 = 2.86, so the ticks go in steps of 0.5 up to 2.5.
  assert.ok(large.includes(">2.5x</text>"));
  assert.ok(!large.includes(">3x</text>"));
});

test("renderPeerChart draws no bar for n/a", () => {
  let report = replace(syntheticReport(), "page", "hono", stack([]));
  report = replace(report, "hello", "chirp", stack([0, 0, 0]));
  const svg = renderPeerChart(report);

  assertWellFormed(svg);
  assert.equal(svg.match(/<rect class="bar"/g)?.length, 4 * 4 - 1);
  assert.equal(svg.match(/>n\/a<\/text>/g)?.length, 1);
  assert.ok(svg.includes(">0.00x</text>"), "a ratio of 0 is a value, not n/a");
  assert.doesNotMatch(svg, /NaN|Infinity/);
});

test("renderPeerChart of an empty report", () => {
  const svg = renderPeerChart({});

  assertWellFormed(svg);
  assert.equal(svg.match(/<rect class="bar"/g), null);
  assert.ok(svg.includes(">The report has no scenario.</text>"));
  assert.doesNotMatch(svg, /NaN|Infinity/);
});

test("renderPeerChart escapes labels", () => {
  const label = PEER_LABELS.hono;
  // The labels are plain data, so the test can set one with markup characters to check the escaping.
  PEER_LABELS.hono = `Hono <"&'>`;
  try {
    const svg = renderPeerChart(syntheticReport());

    assertWellFormed(svg);
    assert.ok(svg.includes(">Hono &lt;&quot;&amp;&#39;&gt;</text>"));
    assert.ok(!svg.includes(`Hono <`));
  } finally {
    PEER_LABELS.hono = label;
  }
});

test("per-round table shows shares and ratios", () => {
  const lines = formatPeerRounds(syntheticReport()).split("\n");
  assert.equal(lines[0], "| Scenario | Stack | Round 1 | Round 2 | Round 3 |");
  assert.ok(lines.includes("| hello world | node:http | 1,000 (3%) | 2,000 (5%) | 4,000 (10%) |"), lines.join("\n"));
  assert.ok(
    lines.includes("| hello world | bengal-chirp | 900 (2%, 0.90x) | 1,600 (4%, 0.80x) | 3,400 (10%, 0.85x) |"),
    lines.join("\n"),
  );
  assert.ok(!lines.some((line) => line.startsWith("| CSRF-checked form POST")));
});
