/*
 * Formats the results of the peer comparison: a markdown table, summary lines that check
 * bengal-chirp against its aims, and an SVG bar chart.
 *
 * Every stack of a scenario ran in the same rounds, so each ratio here pairs round i of one
 * stack with round i of the other and takes the median of those per-round ratios. Pairing
 * cancels slow changes in machine load that a ratio of medians would keep.
 */
import { median } from "../report.js";
import {
  BURST_LOGINS,
  PEER_SCENARIOS,
  type PeerReport,
  type PeerResults,
  type PeerRound,
  type PeerScenario,
} from "./run.js";
import { PEER_LABELS, PEERS, type Peer } from "./spec.js";

/** The stack whose figures divide every ratio of the table and the chart. It is the ceiling for the others. */
const BASELINE: Peer = "bare";

/** The stack the summary and the chart are about. */
const CANDIDATE: Peer = "chirp";

/** A figure of one round of one stack, or NaN where the round has none. */
export type PeerMetric = (round: PeerRound) => number;

/** Figures of a round that {@link peerRatio} can compare. */
export const PEER_METRICS = {
  requestsPerSecond: (round) => round.requestsPerSecond,
  p50Ms: (round) => round.p50Ms,
  p99Ms: (round) => round.p99Ms,
  /**
   * Server CPU time per response in microseconds. Unlike requests/s, it still compares stacks
   * when the load generator or other work on the machine is the bottleneck.
   */
  cpuMicrosPerRequest: (round) => round.cpuMicros / round.requests,
  /** Logins that succeeded per second, measured in the burst scenario only. */
  loginsPerSecond: (round) => round.loginsPerSecond ?? Number.NaN,
} satisfies Record<string, PeerMetric>;

/** Returns the median of `metric` over the rounds that have it. */
function medianOf(results: PeerResults, metric: PeerMetric): number {
  return median(results.rounds.map(metric).filter((value) => !Number.isNaN(value)));
}

/**
 * Computes the median over the rounds of `metric` for `candidate` divided by `metric` for
 * `baseline` in the same round. A round that either stack lacks, or whose ratio is NaN,
 * is left out, and no round at all gives NaN.
 */
function pairedRatio(candidate: PeerResults, baseline: PeerResults, metric: PeerMetric): number {
  const ratios = candidate.rounds.flatMap((round, index) => {
    const base = baseline.rounds[index];
    return base === undefined ? [] : [metric(round) / metric(base)];
  });
  return median(ratios.filter((ratio) => !Number.isNaN(ratio)));
}

/**
 * Returns the paired median ratio of `metric` (default requests/s) for `candidate` to
 * `baseline` in one scenario, or NaN when the report lacks the scenario.
 */
export function peerRatio(
  report: Partial<PeerReport>,
  scenarioId: PeerScenario["id"],
  candidate: Peer,
  baseline: Peer,
  metric: PeerMetric = PEER_METRICS.requestsPerSecond,
): number {
  const results = report[scenarioId];
  if (results === undefined) return Number.NaN;
  return pairedRatio(results[candidate], results[baseline], metric);
}

/** A scenario of the report with the results of every stack. */
interface MeasuredScenario {
  scenario: PeerScenario;
  results: Record<Peer, PeerResults>;
}

/** Lists the scenarios that the report has, in the order of PEER_SCENARIOS. */
function measuredScenarios(report: Partial<PeerReport>): MeasuredScenario[] {
  return PEER_SCENARIOS.flatMap((scenario) => {
    const results = report[scenario.id];
    return results === undefined ? [] : [{ scenario, results }];
  });
}

function formatInteger(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a";
}

function formatDecimal(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : "n/a";
}

function formatMilliseconds(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)} ms` : "n/a";
}

function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : "n/a";
}

function formatMebibytes(bytes: number): string {
  return Number.isFinite(bytes) ? (bytes / 2 ** 20).toFixed(0) : "n/a";
}

/** Cell of a column that does not apply to the row's scenario. */
const EMPTY_CELL = "–";

function formatTableRow({ scenario, results }: MeasuredScenario, peer: Peer): string {
  const stack = results[peer];
  const baseline = results[BASELINE];
  const cells = [
    scenario.name,
    PEER_LABELS[peer],
    formatInteger(medianOf(stack, PEER_METRICS.requestsPerSecond)),
    formatRatio(pairedRatio(stack, baseline, PEER_METRICS.requestsPerSecond)),
    formatDecimal(medianOf(stack, PEER_METRICS.p50Ms)),
    formatDecimal(medianOf(stack, PEER_METRICS.p99Ms)),
    formatRatio(pairedRatio(stack, baseline, PEER_METRICS.p99Ms)),
    formatDecimal(medianOf(stack, PEER_METRICS.cpuMicrosPerRequest)),
    formatMebibytes(stack.maxRss),
    scenario.id === "burst" ? formatDecimal(medianOf(stack, PEER_METRICS.loginsPerSecond)) : EMPTY_CELL,
  ];
  return `| ${cells.join(" | ")} |`;
}

/**
 * Formats one markdown table with a row per scenario and stack. Figures are medians over the
 * rounds, and the ratios are paired medians to node:http. Logins/s applies to the burst
 * scenario only.
 */
export function formatPeerTable(report: Partial<PeerReport>): string {
  const baseline = PEER_LABELS[BASELINE];
  const lines = [
    `| Scenario | Stack | Requests/s | vs ${baseline} | p50 (ms) | p99 (ms) | p99 vs ${baseline} | CPU µs/request | Peak RSS (MiB) | Logins/s |`,
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const measured of measuredScenarios(report)) {
    for (const peer of PEERS) lines.push(formatTableRow(measured, peer));
  }
  return lines.join("\n");
}

/** A lower bound on bengal-chirp's requests/s as a ratio to another stack's. */
interface Aim {
  readonly baseline: Peer;
  readonly minimum: number;
}

/** The requests/s aims of bengal-chirp, by scenario. */
const AIMS: Record<"hello" | "page" | "form", readonly Aim[]> = {
  hello: [{ baseline: "bare", minimum: 0.85 }],
  page: [
    { baseline: "fastify", minimum: 1 },
    { baseline: "express", minimum: 1.5 },
  ],
  form: [
    { baseline: "fastify", minimum: 1 },
    { baseline: "express", minimum: 1.5 },
  ],
};

/** The stacks that bengal-chirp is compared with. */
const OTHER_PEERS: readonly Peer[] = PEERS.filter((peer) => peer !== CANDIDATE);

/** Formats bengal-chirp's paired ratios to `others`, such as "1.12x Fastify, 2.10x Express". */
function formatCandidateRatios(
  report: Partial<PeerReport>,
  scenario: PeerScenario,
  others: readonly Peer[],
  metric: PeerMetric = PEER_METRICS.requestsPerSecond,
): string {
  return others
    .map((other) => `${formatRatio(peerRatio(report, scenario.id, CANDIDATE, other, metric))} ${PEER_LABELS[other]}`)
    .join(", ");
}

/**
 * Returns "missed" when a ratio falls short of its aim, "n/a" when a ratio could not be
 * computed, and "met" otherwise. The comparison uses the unrounded ratio, as bench/report.ts
 * does, so a ratio shown as "0.85x" can still miss an aim of 0.85x.
 */
function judgeAims(
  report: Partial<PeerReport>,
  scenario: PeerScenario,
  aims: readonly Aim[],
): "met" | "missed" | "n/a" {
  const ratios = aims.map((aim) => ({ aim, ratio: peerRatio(report, scenario.id, CANDIDATE, aim.baseline) }));
  if (ratios.some(({ aim, ratio }) => ratio < aim.minimum)) return "missed";
  if (ratios.some(({ ratio }) => !Number.isFinite(ratio))) return "n/a";
  return "met";
}

function formatAimLine(report: Partial<PeerReport>, scenario: PeerScenario, aims: readonly Aim[]): string {
  const achieved = formatCandidateRatios(
    report,
    scenario,
    aims.map((aim) => aim.baseline),
  );
  const targets = aims.map((aim) => `${formatRatio(aim.minimum)} ${PEER_LABELS[aim.baseline]}`).join(" and ");
  return (
    `- ${scenario.name}: ${PEER_LABELS[CANDIDATE]} ${achieved} ` +
    `(aim: at least ${targets}, ${judgeAims(report, scenario, aims)})`
  );
}

/** Formats the readers' p99 of every stack and bengal-chirp's logins/s against the others. */
function formatBurstLines(
  report: Partial<PeerReport>,
  scenario: PeerScenario,
  results: Record<Peer, PeerResults>,
): string[] {
  const latencies = PEERS.map(
    (peer) => `${PEER_LABELS[peer]} ${formatMilliseconds(medianOf(results[peer], PEER_METRICS.p99Ms))}`,
  ).join(", ");
  const logins = formatDecimal(medianOf(results[CANDIDATE], PEER_METRICS.loginsPerSecond));
  const loginRatios = formatCandidateRatios(report, scenario, OTHER_PEERS, PEER_METRICS.loginsPerSecond);
  return [
    `- ${scenario.name}: p99 of the page reads ${latencies}`,
    `- ${scenario.name}: ${PEER_LABELS[CANDIDATE]} ${logins} logins/s, ${loginRatios}`,
  ];
}

function formatSummaryLines(report: Partial<PeerReport>, { scenario, results }: MeasuredScenario): string[] {
  switch (scenario.id) {
    case "hello":
    case "page":
    case "form":
      return [formatAimLine(report, scenario, AIMS[scenario.id])];
    case "login-429":
      return [`- ${scenario.name}: ${PEER_LABELS[CANDIDATE]} ${formatCandidateRatios(report, scenario, OTHER_PEERS)}`];
    case "burst":
      return formatBurstLines(report, scenario, results);
  }
}

/**
 * Formats markdown list items that compare bengal-chirp with the other stacks, one or two per
 * scenario of the report, with a verdict where the scenario has requests/s aims.
 */
export function formatPeerSummary(report: Partial<PeerReport>): string[] {
  return measuredScenarios(report).flatMap((measured) => formatSummaryLines(report, measured));
}

/** Layout of the chart in SVG user units, which are pixels at the default size. */
const LAYOUT = {
  width: 760,
  /** Room for the scenario names, right-aligned before the bars. */
  plotLeft: 220,
  /**
   * Maximum length of one line of a scenario name, in characters. Estimating 7.5 px per
   * character at 12 px bold sans-serif, 24 characters fit before plotLeft.
   */
  nameMaxLength: 24,
  nameLineHeight: 15,
  /** Room for a value label after the longest bar, which ends at 1 / 1.1 of the plot width. */
  marginRight: 56,
  titleY: 28,
  legendY: 56,
  legendSlotWidth: 120,
  swatchSize: 12,
  /** Top of the first bar, below the legend and the label of the reference line. */
  plotTop: 104,
  barHeight: 14,
  barGap: 4,
  groupGap: 22,
  /** Height of the tick labels and the note below the plot. */
  footerHeight: 68,
  fontSize: 12,
  titleFontSize: 16,
} as const;

/** Only fonts the viewer already has, so the file stays self-contained. */
const FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif";

/** The axis reaches at least this ratio, so the reference line at 1.0x never sits at the edge. */
const MIN_AXIS_RATIO = 1.2;

/** Headroom past the largest ratio, as a factor. */
const AXIS_HEADROOM = 1.1;

const MAX_TICKS = 8;

/** Colors by stack, from the Okabe–Ito palette, whose colors stay distinct with color blindness. */
const STACK_COLORS: Record<Peer, string> = {
  bare: "#333333",
  chirp: "#d55e00",
  fastify: "#0072b2",
  express: "#009e73",
  hono: "#cc79a7",
};

const GRID_COLOR = "#dddddd";
const MUTED_TEXT_COLOR = "#555555";

/** A white outline behind a value label, which keeps it readable where a grid or reference line crosses it. */
const LABEL_HALO = { stroke: "#ffffff", "stroke-width": 3, "paint-order": "stroke", "stroke-linejoin": "round" };

const CHART_TITLE = `Requests/s as a ratio to ${PEER_LABELS[BASELINE]}, same run`;

/** The stacks with a bar in every scenario group. */
const CHART_PEERS: readonly Peer[] = PEERS.filter((peer) => peer !== BASELINE);

/** Escapes text for SVG element content and double-quoted attribute values. */
function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Rounds a coordinate to 0.1 unit, which keeps the file short and is finer than a pixel. */
function coordinate(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** Builds an element from its name, attributes and already escaped content. */
function element(name: string, attributes: Record<string, string | number>, content?: string): string {
  const attributeText = Object.entries(attributes)
    .map(([key, value]) => ` ${key}="${typeof value === "number" ? coordinate(value) : escapeXml(value)}"`)
    .join("");
  return content === undefined ? `<${name}${attributeText}/>` : `<${name}${attributeText}>${content}</${name}>`;
}

function text(attributes: Record<string, string | number>, content: string): string {
  return element("text", attributes, escapeXml(content));
}

/** One scenario's paired requests/s ratio to the baseline, by stack with a bar. */
interface ChartGroup {
  name: string;
  ratios: { peer: Peer; ratio: number }[];
}

/** Maps ratios to x coordinates on the plot. */
interface Axis {
  maximum: number;
  toX(ratio: number): number;
}

function createAxis(groups: readonly ChartGroup[]): Axis {
  const finite = groups.flatMap((group) => group.ratios.map(({ ratio }) => ratio)).filter(Number.isFinite);
  const maximum = Math.max(MIN_AXIS_RATIO, ...finite.map((ratio) => ratio * AXIS_HEADROOM));
  const plotWidth = LAYOUT.width - LAYOUT.plotLeft - LAYOUT.marginRight;
  return { maximum, toX: (ratio) => LAYOUT.plotLeft + (ratio / maximum) * plotWidth };
}

/** Picks a tick step of 1, 2, 2.5 or 5 times a power of ten that gives at most MAX_TICKS steps. */
function tickStep(maximum: number): number {
  const rough = maximum / MAX_TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const factor = [1, 2, 2.5, 5].find((candidate) => candidate * magnitude >= rough) ?? 10;
  return factor * magnitude;
}

function groupHeight(): number {
  return CHART_PEERS.length * LAYOUT.barHeight + (CHART_PEERS.length - 1) * LAYOUT.barGap;
}

function groupTop(index: number): number {
  return LAYOUT.plotTop + index * (groupHeight() + LAYOUT.groupGap);
}

function plotBottom(groupCount: number): number {
  return groupTop(groupCount) - LAYOUT.groupGap;
}

function renderTitle(): string {
  return text(
    {
      x: LAYOUT.width / 2,
      y: LAYOUT.titleY,
      "text-anchor": "middle",
      "font-size": LAYOUT.titleFontSize,
      "font-weight": "bold",
    },
    CHART_TITLE,
  );
}

function renderLegend(): string {
  return CHART_PEERS.map((peer, index) => {
    const x = LAYOUT.plotLeft + index * LAYOUT.legendSlotWidth;
    const swatch = element("rect", {
      x,
      y: LAYOUT.legendY - LAYOUT.swatchSize / 2,
      width: LAYOUT.swatchSize,
      height: LAYOUT.swatchSize,
      fill: STACK_COLORS[peer],
      ...emphasis(peer),
    });
    const label = text(
      { x: x + LAYOUT.swatchSize + 6, y: LAYOUT.legendY, dy: "0.35em", ...labelWeight(peer) },
      PEER_LABELS[peer],
    );
    return swatch + label;
  }).join("");
}

/** Outlines bengal-chirp's bars and swatch, which the chart is about. */
function emphasis(peer: Peer): Record<string, string | number> {
  return peer === CANDIDATE ? { stroke: "#000000", "stroke-width": 1.5 } : {};
}

function labelWeight(peer: Peer): Record<string, string> {
  return peer === CANDIDATE ? { "font-weight": "bold" } : {};
}

/** Draws the vertical grid lines with their tick labels below the plot. */
function renderTicks(axis: Axis, bottom: number): string {
  const step = tickStep(axis.maximum);
  const parts: string[] = [];
  for (let index = 0; index * step <= axis.maximum + step / 1000; index++) {
    const ratio = index * step;
    const x = axis.toX(ratio);
    parts.push(element("line", { x1: x, y1: LAYOUT.plotTop, x2: x, y2: bottom, stroke: GRID_COLOR }));
    parts.push(
      text(
        { x, y: bottom + 18, "text-anchor": "middle", fill: MUTED_TEXT_COLOR },
        `${String(Number(ratio.toFixed(2)))}x`,
      ),
    );
  }
  return parts.join("");
}

/** Draws the line at 1.0x, which is node:http's own requests/s, labelled above the plot. */
function renderReferenceLine(axis: Axis, bottom: number): string {
  const x = axis.toX(1);
  const line = element("line", {
    x1: x,
    y1: LAYOUT.plotTop - 8,
    x2: x,
    y2: bottom,
    stroke: STACK_COLORS[BASELINE],
    "stroke-width": 1.5,
    "stroke-dasharray": "4 3",
  });
  const label = text({ x, y: LAYOUT.plotTop - 14, "text-anchor": "middle" }, PEER_LABELS[BASELINE]);
  return line + label;
}

/** Draws one bar with its value label, or only "n/a" when the ratio is not a finite number. */
function renderBar(axis: Axis, group: ChartGroup, peer: Peer, ratio: number, top: number): string {
  const middle = top + LAYOUT.barHeight / 2;
  const labelAttributes = { y: middle, dy: "0.35em", ...labelWeight(peer), ...LABEL_HALO };
  if (!Number.isFinite(ratio)) {
    return text({ x: LAYOUT.plotLeft + 4, ...labelAttributes, fill: MUTED_TEXT_COLOR }, "n/a");
  }
  const end = axis.toX(ratio);
  const tooltip = `${PEER_LABELS[peer]}, ${group.name}: ${formatRatio(ratio)} the requests/s of ${PEER_LABELS[BASELINE]}`;
  const bar = element(
    "rect",
    {
      class: "bar",
      x: LAYOUT.plotLeft,
      y: top,
      width: end - LAYOUT.plotLeft,
      height: LAYOUT.barHeight,
      fill: STACK_COLORS[peer],
      ...emphasis(peer),
    },
    element("title", {}, escapeXml(tooltip)),
  );
  return bar + text({ x: end + 4, ...labelAttributes }, formatRatio(ratio));
}

/**
 * Splits a scenario name into lines of at most `maxLength` characters at spaces. A single word
 * longer than that keeps a line of its own.
 */
function wrapWords(name: string, maxLength: number): string[] {
  const lines: string[] = [];
  for (const word of name.split(" ")) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= maxLength) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

/** Writes the scenario name right-aligned before its bars, centered on them, one tspan per line. */
function renderGroupName(name: string, top: number): string {
  const lines = wrapWords(name, LAYOUT.nameMaxLength);
  const middle = top + groupHeight() / 2;
  const x = LAYOUT.plotLeft - 10;
  const tspans = lines.map((line, index) =>
    element(
      "tspan",
      { x, y: middle + (index - (lines.length - 1) / 2) * LAYOUT.nameLineHeight, dy: "0.35em" },
      escapeXml(line),
    ),
  );
  return element("text", { class: "scenario", "text-anchor": "end", "font-weight": "bold" }, tspans.join(""));
}

function renderGroup(axis: Axis, group: ChartGroup, index: number): string {
  const top = groupTop(index);
  const bars = group.ratios.map(({ peer, ratio }, barIndex) =>
    renderBar(axis, group, peer, ratio, top + barIndex * (LAYOUT.barHeight + LAYOUT.barGap)),
  );
  return renderGroupName(group.name, top) + bars.join("");
}

/** Draws the legend, grid, reference line and bars, and returns them with the bottom of the plot. */
function renderPlot(groups: readonly ChartGroup[]): { content: string[]; bottom: number } {
  const axis = createAxis(groups);
  const bottom = plotBottom(groups.length);
  const note = "Each bar is the median over the rounds of the ratio within one round. Higher is better.";
  // The burst bars count page reads only, and bengal-chirp gets them by running fewer hashes at once.
  const burstNote = "Login burst: the bars count page reads; logins/s, in RESULTS.md, is the other side of it.";
  const content = [
    renderLegend(),
    renderTicks(axis, bottom),
    // Drawn before the bars, so that a bar past 1.0x covers the line instead of being cut by it.
    renderReferenceLine(axis, bottom),
    ...groups.map((group, index) => renderGroup(axis, group, index)),
    text({ x: LAYOUT.plotLeft, y: bottom + 40, fill: MUTED_TEXT_COLOR }, note),
    text({ x: LAYOUT.plotLeft, y: bottom + 56, fill: MUTED_TEXT_COLOR }, burstNote),
  ];
  return { content, bottom };
}

/** Replaces the plot when the report has no scenario, so the file still shows why it is empty. */
function renderEmptyPlot(): { content: string[]; bottom: number } {
  const bottom = LAYOUT.legendY;
  const note = text(
    { x: LAYOUT.width / 2, y: bottom, "text-anchor": "middle", fill: MUTED_TEXT_COLOR },
    "The report has no scenario.",
  );
  return { content: [note], bottom };
}

/**
 * Renders a horizontal grouped bar chart as a self-contained SVG document: one group per
 * scenario of the report and one bar per stack other than node:http, each showing its paired
 * requests/s ratio to node:http. A ratio that is not a finite number gets "n/a" and no bar.
 */
export function renderPeerChart(report: Partial<PeerReport>): string {
  const groups: ChartGroup[] = measuredScenarios(report).map(({ scenario }) => ({
    name: scenario.name,
    ratios: CHART_PEERS.map((peer) => ({ peer, ratio: peerRatio(report, scenario.id, peer, BASELINE) })),
  }));
  const plot = groups.length === 0 ? renderEmptyPlot() : renderPlot(groups);
  const height = plot.bottom + LAYOUT.footerHeight;

  const content = [
    element("title", {}, escapeXml(CHART_TITLE)),
    element("rect", { width: "100%", height: "100%", fill: "#ffffff" }),
    renderTitle(),
    ...plot.content,
  ].join("\n");
  const svg = element(
    "svg",
    {
      xmlns: "http://www.w3.org/2000/svg",
      width: LAYOUT.width,
      height,
      viewBox: `0 0 ${String(LAYOUT.width)} ${coordinate(height)}`,
      role: "img",
      "font-family": FONT_FAMILY,
      "font-size": LAYOUT.fontSize,
    },
    `\n${content}\n`,
  );
  return `${svg}\n`;
}

/** Formats requests/s and server CPU share of every round, with each stack's ratio to node:http per round. */
export function formatPeerRounds(report: Partial<PeerReport>): string {
  const rounds = Math.max(0, ...measuredScenarios(report).map(({ results }) => results[BASELINE].rounds.length));
  const header = Array.from({ length: rounds }, (_, index) => `Round ${String(index + 1)}`);
  const lines = [`| Scenario | Stack | ${header.join(" | ")} |`, `| --- | --- |${" ---: |".repeat(rounds)}`];
  for (const { scenario, results } of measuredScenarios(report)) {
    const baseline = results[BASELINE].rounds;
    for (const peer of PEERS) {
      const cells = results[peer].rounds.map((round, index) => {
        const share = (round.cpuMicros / (round.durationSeconds * 1e6)) * 100;
        const base = baseline[index];
        const ratio =
          peer === BASELINE || base === undefined
            ? ""
            : `, ${formatRatio(round.requestsPerSecond / base.requestsPerSecond)}`;
        return `${formatInteger(round.requestsPerSecond)} (${share.toFixed(0)}%${ratio})`;
      });
      lines.push(`| ${scenario.name} | ${PEER_LABELS[peer]} | ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

/** Formats the section of RESULTS.md about the peer comparison, which shows the chart bench/peers.svg. */
export function formatPeerSection(report: Partial<PeerReport>): string[] {
  return [
    "## Side by side with Fastify, Express and Hono",
    "",
    "Each stack serves the same app with its own session, CSRF, security header and rate limit libraries,",
    "as bench/README.md lists. Ratios pair the rounds of each stack with those of bare node:http:",
    "",
    ...formatPeerSummary(report),
    "",
    "![Requests/s of each stack as a ratio to node:http](peers.svg)",
    "",
    "### All figures",
    "",
    formatPeerTable(report),
    "",
    "In the burst scenario, the load figures are those of the clients reading the account page, while",
    `${String(BURST_LOGINS)} more clients log in with the password over and over. Logins/s counts the logins that succeeded,`,
    "and the CPU µs/request of that row include the password hashes.",
    "",
    "Verdicts compare the unrounded ratio, so a ratio printed as 0.85x can still miss an aim of 0.85x.",
    "",
    "### Requests/s per round",
    "",
    "Server CPU share and the ratio to node:http of the same round in brackets. A CPU share over 100% means",
    "threads besides the event loop worked too, such as libuv's pool hashing passwords.",
    "",
    formatPeerRounds(report),
    "",
  ];
}
