/**
 * A grouped bar chart as SVG, written by hand (no dependency): one group of horizontal bars per
 * workload, one bar per contender that has a value, ops/s on a log10 axis, each bar labelled
 * with its value (and an optional note such as the ratio to a reference). Horizontal so that
 * two dozen workloads stay readable at a README's width: labels are never rotated. Pure: data
 * in, SVG text out.
 */

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
}

export interface ChartGroup {
  readonly label: string;
  /** ops/s per series name; a missing or non-positive value draws no bar */
  readonly values: Readonly<Record<string, number | undefined>>;
  /** text after a bar's value, per series name ("0.95x") */
  readonly notes?: Readonly<Record<string, string | undefined>>;
}

export interface Chart {
  readonly title: string;
  readonly subtitle?: string;
  readonly series: readonly ChartSeries[];
  readonly groups: readonly ChartGroup[];
}

/** Bar thickness and the space between bars of a group, and between groups. */
const BAR = 9;
const BAR_GAP = 1;
const GROUP_GAP = 9;
/** Workload labels on the left, the plot, room for the value labels on the right. */
const LEFT = 160;
export const PLOT_WIDTH = 520;
const RIGHT = 110;
/** Above the plot: the title, the subtitle's lines, the legend, the axis labels. */
const HEADER = 92;
const LINE = 15;
const BOTTOM = 34;

export function barChartSvg(chart: Chart): string {
  const present = (g: ChartGroup) => chart.series.filter((s) => (g.values[s.name] ?? 0) > 0);
  const values = chart.groups.flatMap((g) => present(g).map((s) => g.values[s.name]!));
  const lo = Math.floor(Math.log10(Math.min(...values, 10)));
  const hi = Math.ceil(Math.log10(Math.max(...values, 10)));
  const span = Math.max(1, hi - lo);
  const x = (v: number) => LEFT + ((Math.log10(v) - lo) / span) * PLOT_WIDTH;
  const groupHeight = (g: ChartGroup) => Math.max(1, present(g).length) * (BAR + BAR_GAP) - BAR_GAP;
  const plotHeight = chart.groups.reduce((h, g) => h + groupHeight(g) + GROUP_GAP, GROUP_GAP);
  const subtitle = chart.subtitle ? chart.subtitle.split("\n") : [];
  const TOP = HEADER + Math.max(0, subtitle.length - 1) * LINE;
  const legendY = TOP - 42;
  const width = LEFT + PLOT_WIDTH + RIGHT;
  const height = TOP + plotHeight + BOTTOM;
  const bottom = TOP + plotHeight;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  subtitle.forEach((line, i) => out.push(`<text x="10" y="${37 + i * LINE}" fill="#555">${escapeXml(line)}</text>`));

  // Legend, one line above the plot.
  let lx = 10;
  for (const series of chart.series) {
    out.push(
      `<rect x="${lx}" y="${legendY}" width="10" height="10" fill="${series.color}"/>`,
      `<text x="${lx + 14}" y="${legendY + 9}">${escapeXml(series.name)}</text>`,
    );
    lx += 28 + series.name.length * 6;
  }

  // Decades: a grid line each, labelled above and below the plot.
  for (let p = lo; p <= lo + span; p++) {
    const xx = round(x(10 ** p));
    out.push(
      `<line x1="${xx}" y1="${TOP - 4}" x2="${xx}" y2="${bottom}" stroke="#ddd"/>`,
      `<text x="${xx}" y="${TOP - 8}" text-anchor="middle" fill="#555">${escapeXml(formatPower(p))}</text>`,
      `<text x="${xx}" y="${bottom + 13}" text-anchor="middle" fill="#555">${escapeXml(formatPower(p))}</text>`,
    );
  }
  out.push(`<text x="${LEFT + PLOT_WIDTH / 2}" y="${bottom + 28}" text-anchor="middle" fill="#333">ops/s (log scale)</text>`);

  let y = TOP + GROUP_GAP;
  chart.groups.forEach((group, gi) => {
    const h = groupHeight(group);
    if (gi % 2 === 1) out.push(`<rect x="0" y="${y - GROUP_GAP / 2}" width="${width}" height="${h + GROUP_GAP}" fill="#000" fill-opacity="0.035"/>`);
    out.push(`<text x="${LEFT - 8}" y="${round(y + h / 2 + 4)}" text-anchor="end">${escapeXml(group.label)}</text>`);
    present(group).forEach((series, i) => {
      const v = group.values[series.name]!;
      const top = y + i * (BAR + BAR_GAP);
      const barWidth = round(Math.max(1, x(v) - LEFT));
      const note = group.notes?.[series.name];
      out.push(
        `<rect x="${LEFT}" y="${top}" width="${barWidth}" height="${BAR}" fill="${series.color}">` +
          `<title>${escapeXml(`${group.label}, ${series.name}: ${Math.round(v).toLocaleString("en-US")} ops/s${note ? ` (${note})` : ""}`)}</title></rect>`,
        `<text x="${round(LEFT + barWidth + 4)}" y="${top + BAR - 1}" font-size="9" fill="#333">${escapeXml(formatValue(v) + (note ? `  ${note}` : ""))}</text>`,
      );
    });
    y += h + GROUP_GAP;
  });
  out.push(`<line x1="${LEFT}" y1="${TOP - 4}" x2="${LEFT}" y2="${bottom}" stroke="#999"/>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function formatPower(p: number): string {
  const v = 10 ** p;
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

/** 3 significant digits: 9.80, 98.0, 980, 9.8k, 98k, 980k, 1.2M. */
function formatValue(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toPrecision(2)}M`;
  if (v >= 1e4) return `${Math.round(v / 1e3)}k`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
