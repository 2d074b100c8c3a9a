// The SVG chart writer of scripts/bench.ts: well-formed, one bar per measured value, log scale.
import { expect, test } from "bun:test";
import { barChartSvg, escapeXml } from "../../scripts/bench/svg.ts";

const chart = {
  title: "ops/s <by> workload & contender",
  series: [
    { name: "c", color: "#111" },
    { name: "library", color: "#222" },
  ],
  groups: [
    { label: "tmpfs", values: { c: 10_000, library: 9_500 } },
    { label: "lookup", values: { c: 100, library: undefined } },
  ],
};

test("one bar per positive value, each with its value as a tooltip", () => {
  const svg = barChartSvg(chart);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  const bars = [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="12" height="([\d.]+)"[^>]*><title>([^<]*)<\/title>/g)];
  expect(bars.map((b) => b[3])).toEqual(["tmpfs, c: 10,000 ops/s", "tmpfs, library: 9,500 ops/s", "lookup, c: 100 ops/s"]);
  // Log scale from 10 (the axis floor) to 10,000: 100 px per decade of the 300 px plot.
  const height = (i: number) => Number(bars[i]![2]);
  expect(height(0)).toBe(300);
  expect(height(2)).toBe(100);
  expect(height(1)).toBeCloseTo(300 - 100 * Math.log10(10_000 / 9_500), 0);
});

test("text is escaped", () => {
  const svg = barChartSvg(chart);
  expect(svg).toContain("ops/s &#60;by&#62; workload &#38; contender");
  expect(svg).not.toContain("<by>");
  expect(escapeXml(`a"b'c`)).toBe("a&#34;b&#39;c");
});
