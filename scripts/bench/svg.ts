/**
 * A grouped bar chart as SVG, written by hand (no dependency): one group per workload, one bar
 * per contender, ops/s on a log10 axis. Pure: data in, SVG text out.
 */

export interface ChartSeries {
  readonly name: string;
  readonly color: string;
}

export interface ChartGroup {
  readonly label: string;
  /** ops/s per series name; a missing or non-positive value draws no bar */
  readonly values: Readonly<Record<string, number | undefined>>;
}

export interface Chart {
  readonly title: string;
  readonly subtitle?: string;
  readonly series: readonly ChartSeries[];
  readonly groups: readonly ChartGroup[];
}

const BAR = 14;
const GAP = 18;
const LEFT = 70;
const TOP = 64;
const PLOT_HEIGHT = 300;
const BOTTOM = 96;

export function barChartSvg(chart: Chart): string {
  const values = chart.groups.flatMap((g) => chart.series.map((s) => g.values[s.name] ?? 0)).filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...values, 10)));
  const hi = Math.ceil(Math.log10(Math.max(...values, 10)));
  const span = Math.max(1, hi - lo);
  const y = (v: number) => TOP + PLOT_HEIGHT - ((Math.log10(v) - lo) / span) * PLOT_HEIGHT;
  const groupWidth = chart.series.length * BAR + GAP;
  const width = LEFT + chart.groups.length * groupWidth + 20;
  const legendY = TOP + PLOT_HEIGHT + 62;
  const height = TOP + PLOT_HEIGHT + BOTTOM;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  if (chart.subtitle) out.push(`<text x="${LEFT}" y="40" fill="#555">${escapeXml(chart.subtitle)}</text>`);
  for (let p = lo; p <= lo + span; p++) {
    const yy = round(y(10 ** p));
    out.push(
      `<line x1="${LEFT}" y1="${yy}" x2="${width - 10}" y2="${yy}" stroke="#ddd"/>`,
      `<text x="${LEFT - 6}" y="${yy + 4}" text-anchor="end" fill="#555">${escapeXml(formatPower(p))}</text>`,
    );
  }
  out.push(
    `<text x="14" y="${TOP + PLOT_HEIGHT / 2}" transform="rotate(-90 14 ${TOP + PLOT_HEIGHT / 2})" text-anchor="middle" fill="#333">ops/s (log scale)</text>`,
  );
  chart.groups.forEach((group, gi) => {
    const x0 = LEFT + GAP / 2 + gi * groupWidth;
    chart.series.forEach((series, si) => {
      const v = group.values[series.name];
      if (v === undefined || !(v > 0)) return;
      const top = round(y(v));
      out.push(
        `<rect x="${x0 + si * BAR}" y="${top}" width="${BAR - 2}" height="${round(TOP + PLOT_HEIGHT - top)}" fill="${series.color}">` +
          `<title>${escapeXml(`${group.label}, ${series.name}: ${Math.round(v).toLocaleString("en-US")} ops/s`)}</title></rect>`,
      );
    });
    const cx = x0 + (chart.series.length * BAR) / 2;
    const ly = TOP + PLOT_HEIGHT + 14;
    out.push(`<text x="${cx}" y="${ly}" text-anchor="end" transform="rotate(-30 ${cx} ${ly})">${escapeXml(group.label)}</text>`);
  });
  let lx = LEFT;
  for (const series of chart.series) {
    out.push(
      `<rect x="${lx}" y="${legendY}" width="10" height="10" fill="${series.color}"/>`,
      `<text x="${lx + 14}" y="${legendY + 9}">${escapeXml(series.name)}</text>`,
    );
    lx += 24 + series.name.length * 6.5;
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function formatPower(p: number): string {
  const v = 10 ** p;
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
