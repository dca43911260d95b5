'use strict';
// Turns raw runs into the markdown report and the send-throughput SVG. No dependencies.

const { CONFIG_NOTES } = require('./adapters.js');

const BASELINE = 'ws';

function median(sorted) {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

/** `{ median, min, max, n }` of a metric over the successful runs, or null when none has it. */
function summarize(runs, key) {
  const values = runs
    .filter((r) => r.ok && typeof r[key] === 'number' && Number.isFinite(r[key]))
    .map((r) => r[key])
    .sort((a, b) => a - b);
  if (values.length === 0) return null;
  return { median: median(values), min: values[0], max: values[values.length - 1], n: values.length };
}

function summarizeBool(runs, key) {
  const values = runs.filter((r) => r.ok && typeof r[key] === 'boolean').map((r) => r[key]);
  if (values.length === 0) return null;
  return { yes: values.filter(Boolean).length, n: values.length };
}

const num = (v, digits) =>
  v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function cell(summary, metric) {
  if (!summary) return '—';
  if (metric.bool) {
    if (summary.n === 1) return summary.yes ? 'yes' : 'no';
    return `${summary.yes}/${summary.n} yes`;
  }
  const d = metric.digits;
  if (summary.n === 1 || summary.min === summary.max) return num(summary.median, d);
  return `${num(summary.median, d)} (${num(summary.min, d)}–${num(summary.max, d)})`;
}

/** The row the ratios divide by: raw ws, or the scenario's own `baseline` (session scenarios: plain rxwire). */
const baselineOf = (scenario) => scenario.baseline || BASELINE;

/** Per-library summaries of every metric of a scenario, plus the primary metric's ratio to the baseline. */
function summarizeScenario(scenario, byLib) {
  const rows = {};
  const baseline = baselineOf(scenario);
  const base = byLib[baseline] ? summarize(byLib[baseline], scenario.primary) : null;
  for (const [lib, runs] of Object.entries(byLib)) {
    const metrics = {};
    for (const m of scenario.metrics) metrics[m.key] = m.bool ? summarizeBool(runs, m.key) : summarize(runs, m.key);
    const primary = metrics[scenario.primary];
    const ratio = base && primary && base.median !== 0 ? primary.median / base.median : null;
    const delta = base && primary ? primary.median - base.median : null;
    const failures = runs.filter((r) => !r.ok).map((r) => r.error);
    rows[lib] = { runs, metrics, ratio, delta, ok: runs.length - failures.length, total: runs.length, failures };
  }
  return rows;
}

function scenarioMarkdown(scenario, params, rows) {
  const primaryLabel = scenario.metrics.find((m) => m.key === scenario.primary).label;
  // Without a baseline row (offline scenarios: ws cannot send while not open) there is no ratio.
  const baseline = baselineOf(scenario);
  const withRatio = baseline in rows;
  const withDelta = withRatio && scenario.delta === true;
  const primaryMetric = scenario.metrics.find((m) => m.key === scenario.primary);
  const head = [
    'library',
    ...scenario.metrics.map((m) => m.label),
    ...(withRatio ? [`${primaryLabel} ÷ ${baseline}`] : []),
    ...(withDelta ? [`${primaryLabel} − ${baseline}`] : []),
    'ok runs',
  ];
  const lines = [
    `## ${scenario.title}`,
    '',
    scenario.describe(params) + '.',
    '',
    `| ${head.join(' | ')} |`,
    `| --- | ${head.slice(1).map(() => '---:').join(' | ')} |`,
  ];
  const notes = [];
  for (const [lib, row] of Object.entries(rows)) {
    if (row.ok === 0) {
      const reason = row.failures[0] || 'no runs';
      lines.push(`| ${lib} | failed: ${escapeCell(reason)} |${' |'.repeat(head.length - 2)}`);
      continue;
    }
    const cells = scenario.metrics.map((m) => cell(row.metrics[m.key], m));
    if (withRatio) cells.push(row.ratio === null ? '—' : `${row.ratio.toFixed(2)}×`);
    if (withDelta) cells.push(row.delta === null ? '—' : `${row.delta >= 0 ? '+' : '−'}${num(Math.abs(row.delta), primaryMetric.digits)}`);
    lines.push(`| ${lib} | ${cells.join(' | ')} | ${row.ok}/${row.total} |`);
    if (row.failures.length) notes.push(`${lib}: ${row.failures.length} run(s) failed: ${row.failures[0]}`);
  }
  if (notes.length) lines.push('', ...notes.map((n) => `- ${n}`));
  const verdicts = scenario.verdict ? scenario.verdict(rows, params) : [];
  if (verdicts.length) lines.push('', ...verdicts.map((v) => `- ${v}`));
  // Server-side and session scenarios: how each row is set up (the closing list covers client libraries).
  if (scenario.notes) {
    lines.push('', scenario.side === 'session' ? 'Variants:' : 'Servers:', '');
    for (const lib of Object.keys(rows)) if (scenario.notes[lib]) lines.push(`- **${lib}**: ${scenario.notes[lib]}`);
  }
  lines.push('');
  return lines.join('\n');
}

const escapeCell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 200);

/** "5 repetition(s)", or per scenario where they differ: "1 repetition(s) (send: 3)". */
function repsText(sections) {
  const counts = sections.map((s) => s.reps);
  const frequency = (n) => counts.filter((c) => c === n).length;
  const common = counts.reduce((best, n) => (frequency(n) > frequency(best) ? n : best), counts[0]);
  const others = sections.filter((s) => s.reps !== common).map((s) => `${s.scenario.name}: ${s.reps}`);
  return `${common} repetition(s)${others.length ? ` (${others.join(', ')})` : ''}`;
}

function markdown({ machine, options, sections, libsUsed }) {
  const out = [
    '# rxwire benchmarks',
    '',
    `- when: ${machine.date}`,
    `- machine: ${machine.cpu} × ${machine.cores} cores, ${machine.memGiB} GiB, ${machine.os}; node ${machine.node}`,
    `- load average (1 min) at start ${machine.loadStart}, at end ${machine.loadEnd} (other work on the machine skews results)`,
    `- versions: ${Object.entries(machine.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `- run: ${options.quick ? '--quick (small sizes) ' : ''}${repsText(sections)}, libraries round-robin within each repetition (order rotated), every measurement in a fresh client process (node --expose-gc) against a fresh server process on 127.0.0.1`,
    `- cells: median (min–max) over repetitions; "÷ ws" is the median of the first metric divided by raw ws's (session scenarios: "÷ rxwire", plain rxwire's; "÷ socket.io": socket.io's)`,
    '',
  ];
  if (options.quick) {
    out.push('> **--quick run**: sizes are 1/4 to 1/10 of the full ones and there are few repetitions, so', '> the numbers show that every path works, not how the libraries compare.', '');
  }
  for (const s of sections) out.push(scenarioMarkdown(s.scenario, s.params, s.rows));
  if (libsUsed.length) {
    out.push('## How each library is configured', '');
    for (const lib of libsUsed) out.push(`- **${lib}**: ${CONFIG_NOTES[lib]}`);
    out.push('');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

const xml = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Horizontal bar chart: one bar per library (median), a whisker for min–max. `bars` is
 * `[{ label, median, min, max, highlight }]`.
 */
function barChartSvg({ title, subtitle, unit, bars }) {
  const width = 720;
  const left = 120;
  const right = 150;
  const top = 56;
  const rowH = 30;
  const height = top + bars.length * rowH + 34;
  const plotW = width - left - right;
  const step = niceStep(Math.max(1, ...bars.map((b) => b.max)) / 4);
  const maxV = step * 4;
  const x = (v) => left + (v / maxV) * plotW;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold">${xml(title)}</text>`,
    `<text x="16" y="43" fill="#555" font-size="12">${xml(subtitle)}</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (maxV * t) / 4;
    const gx = x(v).toFixed(1);
    parts.push(`<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${top + bars.length * rowH}" stroke="#eee"/>`);
    parts.push(`<text x="${gx}" y="${top + bars.length * rowH + 16}" fill="#777" font-size="11" text-anchor="middle">${xml(compact(v))}</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const fill = b.highlight ? '#d9480f' : '#4c6ef5';
    parts.push(`<text x="${left - 8}" y="${y + 19}" text-anchor="end">${xml(b.label)}</text>`);
    if (b.median === null) {
      parts.push(`<text x="${left + 4}" y="${y + 19}" fill="#c00">${xml(b.note || 'failed')}</text>`);
      return;
    }
    parts.push(`<rect x="${left}" y="${y + 6}" width="${(x(b.median) - left).toFixed(1)}" height="18" fill="${fill}" rx="2"/>`);
    if (b.max > b.min) {
      const cy = y + 15;
      parts.push(`<line x1="${x(b.min).toFixed(1)}" y1="${cy}" x2="${x(b.max).toFixed(1)}" y2="${cy}" stroke="#222"/>`);
      for (const v of [b.min, b.max]) parts.push(`<line x1="${x(v).toFixed(1)}" y1="${cy - 5}" x2="${x(v).toFixed(1)}" y2="${cy + 5}" stroke="#222"/>`);
    }
    parts.push(`<text x="${(x(b.max) + 8).toFixed(1)}" y="${y + 19}" fill="#333">${xml(num(b.median, 0))} ${xml(unit)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** The smallest 1, 2, 2.5 or 5 × 10^k that is >= raw: round axis ticks. */
function niceStep(raw) {
  const pow = Math.pow(10, Math.floor(Math.log10(raw)));
  return pow * [1, 2, 2.5, 5, 10].find((m) => m * pow >= raw);
}

function compact(v) {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(1)}`;
}

/** The send-throughput chart from the `send` section's rows. */
function sendChart(rows, machine, options) {
  const bars = Object.entries(rows).map(([lib, row]) => {
    const s = row.metrics.msgPerSec;
    return s
      ? { label: lib, median: s.median, min: s.min, max: s.max, highlight: lib === 'rxwire' }
      : { label: lib, median: null, min: 0, max: 0, note: `failed: ${String(row.failures[0] || '').slice(0, 60)}` };
  });
  return barChartSvg({
    title: 'Send throughput, ~64-byte JSON messages (higher is better)',
    subtitle: `median, whiskers min–max over ${options.reps} run(s)${options.quick ? ' (--quick)' : ''}; ${machine.cpu} × ${machine.cores}, node ${machine.node}`,
    unit: 'msg/s',
    bars,
  });
}

module.exports = { summarizeScenario, markdown, sendChart, barChartSvg };
