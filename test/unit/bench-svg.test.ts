// The SVG chart writer of scripts/bench.ts: well-formed, one bar per measured value, log scale.
import { expect, test } from "bun:test";
import { barChartSvg, escapeXml, PLOT_WIDTH } from "../../scripts/bench/svg.ts";

const chart = {
  title: "ops/s <by> workload & contender",
  subtitle: "first line\nsecond line",
  series: [
    { name: "c", color: "#111" },
    { name: "library", color: "#222" },
  ],
  groups: [
    { label: "tmpfs", values: { c: 10_000, library: 9_500 }, notes: { library: "0.95× C" } },
    { label: "lookup", values: { c: 100, library: undefined } },
  ],
};

test("one bar per positive value, each with its value as a tooltip and a label", () => {
  const svg = barChartSvg(chart);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  const bars = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="9" fill="#\d+"><title>([^<]*)<\/title>/g)];
  expect(bars.map((b) => b[2])).toEqual(["tmpfs, c: 10,000 ops/s", "tmpfs, library: 9,500 ops/s (0.95× C)", "lookup, c: 100 ops/s"]);
  // Log scale from 10 (the axis floor) to 10,000: a third of the plot per decade.
  const width = (i: number) => Number(bars[i]![1]);
  expect(width(0)).toBe(PLOT_WIDTH);
  expect(width(2)).toBeCloseTo(PLOT_WIDTH / 3, 0);
  expect(width(1)).toBeCloseTo(PLOT_WIDTH - (PLOT_WIDTH / 3) * Math.log10(10_000 / 9_500), 0);
  expect(svg).toContain(">9.5k  0.95× C</text>");
  expect(svg).toContain(">first line</text>");
  expect(svg).toContain(">second line</text>");
});

test("text is escaped", () => {
  const svg = barChartSvg(chart);
  expect(svg).toContain("ops/s &#60;by&#62; workload &#38; contender");
  expect(svg).not.toContain("<by>");
  expect(escapeXml(`a"b'c`)).toBe("a&#34;b&#39;c");
});
