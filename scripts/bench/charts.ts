// The charts of docs/PERFORMANCE.md, as hand-written SVG (no dependency):
// a bar per scenario of what Reprise costs against bare Temporal, with its
// target; and instantiation time against plan size, Reprise against pg, on
// log scales.

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const INK = '#1f2933';
const MUTED = '#7b8794';
const GRID = '#e4e7eb';
const GOOD = '#2f9e6e';
const BAD = '#e07a2e';
const BASE = '#4c6ef5';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fixed = (n: number, digits = 1): string => Number(n.toFixed(digits)).toString();

export interface TRatioBar {
  label: string;
  /** Reprise's cost over bare Temporal's (time ratio; for throughput, bare's runs/s over Reprise's). */
  cost: number;
  /** The target as a cost: the bar should end at or before it. */
  target: number;
  /** The issue's "before" figure as a cost, when there is one. */
  before?: number;
}

/** Horizontal bars of cost ratios: parity (1×) dashed, each row's target a dark tick, the figure before as a hollow ring. */
export function ratioChart(bars: TRatioBar[], title: string): string {
  const labelW = 300;
  const plotW = 420;
  const rowH = 34;
  const top = 58;
  const width = labelW + plotW + 70;
  const height = top + bars.length * rowH + 56;
  const maxValue = Math.max(1.5, ...bars.flatMap((b) => [b.cost, b.target, b.before ?? 0]).filter(Number.isFinite)) * 1.08;
  const step = maxValue > 4 ? 1 : 0.5;
  const x = (v: number): number => labelW + (Math.min(v, maxValue) / maxValue) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="13">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="16" y="26" font-size="15" font-weight="600" fill="${INK}">${escapeXml(title)}</text>`);
  out.push(`<text x="16" y="45" fill="${MUTED}">Reprise's time over bare Temporal's for the same leaf work (lower is better)</text>`);
  const bottom = top + bars.length * rowH;
  for (let v = 0; v <= maxValue + 1e-9; v += step) {
    out.push(`<line x1="${x(v)}" y1="${top - 4}" x2="${x(v)}" y2="${bottom}" stroke="${GRID}"/>`);
    out.push(`<text x="${x(v)}" y="${bottom + 16}" text-anchor="middle" fill="${MUTED}">${fixed(v)}×</text>`);
  }
  out.push(`<line x1="${x(1)}" y1="${top - 8}" x2="${x(1)}" y2="${bottom + 2}" stroke="${INK}" stroke-dasharray="4 3"/>`);
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const ok = b.cost <= b.target;
    out.push(`<text x="${labelW - 10}" y="${y + rowH / 2 + 4}" text-anchor="end" fill="${INK}">${escapeXml(b.label)}</text>`);
    if (Number.isFinite(b.cost)) {
      out.push(`<rect x="${labelW}" y="${y + 8}" width="${Math.max(1, x(b.cost) - labelW)}" height="${rowH - 16}" rx="3" fill="${ok ? GOOD : BAD}"/>`);
      // Right of the bar, the target tick and the ring, whichever reaches furthest, so none covers it.
      const end = Math.max(x(b.cost), x(b.target) + 2, b.before !== undefined && Math.abs(x(b.before) - x(b.cost)) < 40 ? x(b.before) + 6 : 0);
      out.push(`<text x="${end + 6}" y="${y + rowH / 2 + 4}" fill="${INK}">${fixed(b.cost, 2)}×</text>`);
    }
    out.push(`<line x1="${x(b.target)}" y1="${y + 3}" x2="${x(b.target)}" y2="${y + rowH - 3}" stroke="${INK}" stroke-width="3"/>`);
    if (b.before !== undefined) out.push(`<circle cx="${x(b.before)}" cy="${y + rowH / 2}" r="5" fill="none" stroke="${INK}" stroke-width="1.5"/>`);
  });
  const ly = height - 16;
  out.push(`<rect x="16" y="${ly - 10}" width="12" height="12" rx="2" fill="${GOOD}"/><text x="33" y="${ly}" fill="${INK}">within target</text>`);
  out.push(`<rect x="130" y="${ly - 10}" width="12" height="12" rx="2" fill="${BAD}"/><text x="147" y="${ly}" fill="${INK}">over target</text>`);
  out.push(`<line x1="240" y1="${ly - 11}" x2="240" y2="${ly + 2}" stroke="${INK}" stroke-width="3"/><text x="248" y="${ly}" fill="${INK}">target</text>`);
  out.push(`<circle cx="310" cy="${ly - 4}" r="5" fill="none" stroke="${INK}" stroke-width="1.5"/><text x="320" y="${ly}" fill="${INK}">before (issue 19)</text>`);
  out.push(`<line x1="445" y1="${ly - 4}" x2="465" y2="${ly - 4}" stroke="${INK}" stroke-dasharray="4 3"/><text x="471" y="${ly}" fill="${INK}">parity</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export interface TSeries {
  name: string;
  color?: string;
  points: { x: number; y: number }[];
}

const decadesAround = (values: number[]): [number, number] => {
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  return [lo, hi === lo ? hi + 1 : hi];
};

function tickLabel(v: number, unit: string): string {
  if (unit === 's') return v >= 1 ? `${v.toLocaleString('en-US')} s` : `${v * 1000} ms`;
  return v.toLocaleString('en-US');
}

/** Lines on log-log axes, a dot per measured point. */
export function logLogChart(series: TSeries[], opts: { title: string; subtitle: string; xLabel: string; yUnit: string }): string {
  const left = 80;
  const plotW = 480;
  const plotH = 280;
  const top = 62;
  const width = left + plotW + 210;
  const height = top + plotH + 60;
  const all = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  if (!all.length) return `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n`;
  const [x0, x1] = decadesAround(all.map((p) => p.x));
  const [y0, y1] = decadesAround(all.map((p) => p.y));
  const x = (v: number): number => left + ((Math.log10(v) - x0) / (x1 - x0)) * plotW;
  const y = (v: number): number => top + plotH - ((Math.log10(v) - y0) / (y1 - y0)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="13">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="16" y="26" font-size="15" font-weight="600" fill="${INK}">${escapeXml(opts.title)}</text>`);
  out.push(`<text x="16" y="45" fill="${MUTED}">${escapeXml(opts.subtitle)}</text>`);
  for (let d = x0; d <= x1; d++) {
    const v = 10 ** d;
    out.push(`<line x1="${x(v)}" y1="${top}" x2="${x(v)}" y2="${top + plotH}" stroke="${GRID}"/>`);
    out.push(`<text x="${x(v)}" y="${top + plotH + 18}" text-anchor="middle" fill="${MUTED}">${tickLabel(v, '')}</text>`);
  }
  for (let d = y0; d <= y1; d++) {
    const v = 10 ** d;
    out.push(`<line x1="${left}" y1="${y(v)}" x2="${left + plotW}" y2="${y(v)}" stroke="${GRID}"/>`);
    out.push(`<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end" fill="${MUTED}">${tickLabel(Number(v.toPrecision(1)), opts.yUnit)}</text>`);
  }
  out.push(`<text x="${left + plotW / 2}" y="${top + plotH + 40}" text-anchor="middle" fill="${INK}">${escapeXml(opts.xLabel)}</text>`);
  const palette = [BAD, BASE, GOOD, MUTED];
  series.forEach((s, i) => {
    const color = s.color ?? palette[i % palette.length] ?? INK;
    const pts = s.points.filter((p) => p.x > 0 && p.y > 0).sort((a, b) => a.x - b.x);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${pts.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="4" fill="${color}"/>`);
    const ly = top + 10 + i * 22;
    out.push(`<line x1="${left + plotW + 20}" y1="${ly}" x2="${left + plotW + 44}" y2="${ly}" stroke="${color}" stroke-width="2.5"/>`);
    out.push(`<text x="${left + plotW + 50}" y="${ly + 4}" fill="${INK}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export interface TBar {
  label: string;
  value: number;
  color?: string;
}

/** Plain horizontal bars of one quantity (e.g. runs per second), a value at each bar's end. */
export function barChart(bars: TBar[], opts: { title: string; subtitle: string; unit: string }): string {
  const labelW = 170;
  const plotW = 420;
  const rowH = 34;
  const top = 58;
  const width = labelW + plotW + 120;
  const height = top + bars.length * rowH + 36;
  const max = Math.max(...bars.map((b) => b.value).filter(Number.isFinite), 1e-9) * 1.05;
  const x = (v: number): number => labelW + (v / max) * plotW;
  const palette = [BASE, BAD, MUTED];
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="13">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="16" y="26" font-size="15" font-weight="600" fill="${INK}">${escapeXml(opts.title)}</text>`);
  out.push(`<text x="16" y="45" fill="${MUTED}">${escapeXml(opts.subtitle)}</text>`);
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW - 10}" y="${y + rowH / 2 + 4}" text-anchor="end" fill="${INK}">${escapeXml(b.label)}</text>`);
    if (!Number.isFinite(b.value)) return;
    out.push(`<rect x="${labelW}" y="${y + 8}" width="${Math.max(1, x(b.value) - labelW)}" height="${rowH - 16}" rx="3" fill="${b.color ?? palette[i % palette.length] ?? INK}"/>`);
    out.push(`<text x="${x(b.value) + 6}" y="${y + rowH / 2 + 4}" fill="${INK}">${escapeXml(`${b.value.toFixed(b.value < 10 ? 2 : 1)} ${opts.unit}`)}</text>`);
  });
  out.push(`<line x1="${labelW}" y1="${top}" x2="${labelW}" y2="${top + bars.length * rowH}" stroke="${INK}"/>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
