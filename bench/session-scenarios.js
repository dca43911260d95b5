'use strict';
// The session scenarios (issue 16, "Cost"): what resumable sessions cost on one loopback link.
// Three variants of the same rxwire client (session-client.js) against the same rxwire server
// (session-server.js: listen() with sessions on), each in fresh processes:
//
//   rxwire            connect() without a session: the baseline of the ratios
//   session-volatile  connect(url, { session: { delivery: 'volatile' } }): every message volatile
//   session-reliable  connect(url, { session: { delivery: 'reliable' } }): every message reliable
//
// The session options (retain, ackInterval) are the build's defaults, overridden by the JSON in
// BENCH_SESSION (e.g. '{"retain":{"size":50000},"ackInterval":25}'), and given explicitly to both
// ends so that the report can state them.

const path = require('node:path');
const { startServer, runClient } = require('./proc.js');
const { loadSessionDefaults } = require('./adapters.js');

const SESSION_SERVER = path.join(__dirname, 'session-server.js');
const SESSION_CLIENT = path.join(__dirname, 'session-client.js');

const SESSION_LIBS = ['rxwire', 'session-volatile', 'session-reliable'];
const DELIVERY = { rxwire: null, 'session-volatile': 'volatile', 'session-reliable': 'reliable' };

const SESSION_NOTES = {
  rxwire: '`connect(url)` without a session (the baseline); the server is the same session-enabled `listen()`, which serves a plain client as a plain peer',
  'session-volatile': "`connect(url, { session: { delivery: 'volatile' } })`: every `send()` volatile by the session's default (no per-send options); the server echoes with `peer.send(m, { delivery: 'volatile' })`",
  'session-reliable': "`connect(url, { session: { delivery: 'reliable' } })`: every `send()` reliable, its promise a receipt; the sender keeps the retention from overflowing by awaiting the oldest outstanding receipt while `metrics.unacknowledged + batch > retain.size`; the server echoes with `peer.send(m, { delivery: 'reliable' })`",
};

const url = (port) => `ws://127.0.0.1:${port}`;
const clientDeadline = (timeoutMs) => timeoutMs - Math.min(2000, timeoutMs * 0.2);

/** BENCH_SESSION's overrides of the session defaults, checked (a typo must not pass for the defaults). */
function envOverrides() {
  const text = process.env.BENCH_SESSION;
  if (!text) return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`BENCH_SESSION is not JSON: ${err.message}`);
  }
  const known = { ackInterval: 1, retain: 1 };
  for (const key of Object.keys(value)) if (!known[key]) throw new Error(`BENCH_SESSION: unknown key ${key} (known: ackInterval, retain)`);
  for (const key of Object.keys(value.retain || {})) if (key !== 'size' && key !== 'bytes') throw new Error(`BENCH_SESSION: unknown key retain.${key} (known: size, bytes)`);
  return value;
}

/** The session options both ends get: the build's defaults, with BENCH_SESSION and then `overrides` (params.session) applied. */
function sessionOptions(overrides = {}) {
  const defaults = loadSessionDefaults();
  if (defaults instanceof Error) return defaults;
  const env = envOverrides();
  return {
    ackInterval: overrides.ackInterval ?? env.ackInterval ?? defaults.ackInterval,
    retain: { ...defaults.retain, ...env.retain, ...overrides.retain },
  };
}

/** One session-server process (`mode`), one session-client run against it, the server killed after. */
async function withSessionServer(name, lib, p, serverConfig, timeoutMs) {
  const session = sessionOptions(p.session);
  if (session instanceof Error) return { ok: false, error: session.message };
  const server = await startServer({ ...serverConfig, session }, { script: SESSION_SERVER });
  try {
    const params = { ...p, session, url: url(server.port), deadlineMs: clientDeadline(timeoutMs) };
    const res = await runClient(name, lib, params, { timeoutMs, script: SESSION_CLIENT });
    if (!res.ok) return res;
    const rep = await server.report();
    if (!rep || !rep.window) return { ok: false, error: `no frame counts from the server${rep && rep.lastError ? `: ${rep.lastError}` : ''}` };
    if (rep.dropped > 0 || rep.errors > 0) return { ok: false, error: `server: ${rep.dropped} dropped, ${rep.errors} errors (${rep.lastError})` };
    const trips = name === 'rtt' ? { serverCpuUsPerTrip: rep.window.cpuUs / p.n } : {};
    return { ...res, ...trips, ...ackRates(rep.window, session.ackInterval) };
  } finally {
    await server.kill();
  }
}

/**
 * Acknowledgement frames per `ackInterval` in the server's timed window, each way (s→c: what the
 * server wrote; c→s: what it read), and the shortest gap between two A frames of one way. With two
 * or more, the rate is over the span from the first to the last (n frames make n − 1 gaps: counted
 * over the whole window, frames exactly ackInterval apart could read above 1 by the fence post).
 */
function ackRates(window, ackInterval) {
  const rate = (way) => (way.acks > 1 ? ((way.acks - 1) * ackInterval) / way.spanMs : (way.acks * ackInterval) / window.ms);
  const gaps = [window.out.minGapMs, window.in.minGapMs].filter((g) => g !== null);
  return {
    acksToClient: window.out.acks,
    acksToServer: window.in.acks,
    acksToClientPerInterval: rate(window.out),
    acksToServerPerInterval: rate(window.in),
    ackMinGapMs: gaps.length ? Math.min(...gaps) : null,
    ackSpanToClientMs: window.out.spanMs,
    framesToServer: window.in.frames,
    framesToClient: window.out.frames,
    windowMs: window.ms,
  };
}

const describeSession = (p) => {
  const s = sessionOptions(p.session);
  if (s instanceof Error) return '';
  const source = process.env.BENCH_SESSION ? `the build's defaults with BENCH_SESSION=${process.env.BENCH_SESSION}` : "the build's defaults";
  return ` Session options on both ends (${source}): ackInterval ${s.ackInterval} ms, retain ${s.retain.size.toLocaleString('en')} messages / ${(s.retain.bytes / 2 ** 20).toFixed(0)} MiB`;
};

const ACK_METRICS = [
  { key: 'acksToClientPerInterval', label: 'A s→c per ackInterval', digits: 3 },
  { key: 'acksToServerPerInterval', label: 'A c→s per ackInterval', digits: 3 },
  { key: 'ackMinGapMs', label: 'A min gap ms', digits: 1 },
];

const SESSION_SCENARIOS = [
  {
    name: 'session-send',
    side: 'session',
    title: 'Session send throughput (rxwire client → rxwire server, ~64-byte JSON)',
    libs: SESSION_LIBS,
    baseline: 'rxwire',
    check: envOverrides,
    full: { n: 200000, warm: 20000, batch: 500 },
    quick: { n: 50000, warm: 20000, batch: 500 },
    quickReps: 3,
    timeoutMs: 90000,
    describe: (p) =>
      `${p.n.toLocaleString('en')} timed messages after ${p.warm.toLocaleString('en')} untimed ones, ${p.batch} \`send()\`s per macrotask, counted on the server peer's \`messages$\`; msg/s = messages ÷ (first send → the server's "done" at the client). Plain and volatile await the last send of each batch (written); reliable never lets a send wait in the retention: before a batch, while \`metrics.unacknowledged + ${p.batch} > retain.size\`, it awaits the oldest outstanding receipt ("window wait %": the share of the run spent so). "last receipt ms": from "done" to the last send()'s receipt. Server CPU from its ${p.warm.toLocaleString('en')}th message to its last. A frames (\`A<n>\`, acknowledgements not carried by a data frame) counted on the server's TCP socket, both ways (frame-tap.js), from the first timed message to the last; "per ackInterval": (A frames − 1) × ackInterval ÷ the time from the first to the last; "A min gap": the shortest time between two A frames of one way.` +
      describeSession(p),
    metrics: [
      { key: 'msgPerSec', label: 'msg/s', digits: 0 },
      { key: 'cpuUsPerMsg', label: 'client CPU µs/msg', digits: 2 },
      { key: 'serverCpuUsPerMsg', label: 'server CPU µs/msg', digits: 2 },
      { key: 'receiptMs', label: 'last receipt ms', digits: 0 },
      { key: 'windowWaitPct', label: 'window wait %', digits: 0 },
      ...ACK_METRICS,
    ],
    primary: 'msgPerSec',
    notes: SESSION_NOTES,
    verdict: (rows, p) => [
      ...verdict(rows, 'msgPerSec', (r, base) => [`reliable ≥ 0.7× plain throughput: ${ratio(r, base)}`, r >= 0.7 * base]),
      ...ackVerdict(rows, p),
    ],
    run: (lib, p, t) => withSessionServer('send', lib, p, { mode: 'sink', n: p.warm + p.n, warm: p.warm }, t),
  },
  {
    name: 'session-rtt',
    side: 'session',
    title: 'Session round trip (sequential echo, rxwire client ↔ rxwire server)',
    libs: SESSION_LIBS,
    baseline: 'rxwire',
    check: envOverrides,
    delta: true,
    full: { n: 2000, warm: 200 },
    quick: { n: 500, warm: 50 },
    timeoutMs: 60000,
    describe: (p) =>
      `${p.n.toLocaleString('en')} sequential round trips after ${p.warm} warm-up ones: the client sends, the server's \`messages$\` handler echoes with \`peer.send\` in the same class, the client times the echo; reliable: also send() → its receipt.` +
      describeSession(p),
    metrics: [
      { key: 'p50Us', label: 'p50 µs', digits: 0 },
      { key: 'p99Us', label: 'p99 µs', digits: 0 },
      { key: 'receiptP50Us', label: 'receipt p50 µs', digits: 0 },
      { key: 'receiptP99Us', label: 'receipt p99 µs', digits: 0 },
      { key: 'cpuUsPerTrip', label: 'client CPU µs/trip', digits: 1 },
      { key: 'serverCpuUsPerTrip', label: 'server CPU µs/trip', digits: 1 },
      ...ACK_METRICS,
    ],
    primary: 'p50Us',
    notes: SESSION_NOTES,
    verdict: (rows) => verdict(rows, 'p50Us', (r, base) => [`reliable p50 ≤ plain + 50 µs: ${(r - base).toFixed(0)} µs over plain`, r <= base + 50]),
    run: (lib, p, t) => withSessionServer('rtt', lib, p, { mode: 'echo', delivery: DELIVERY[lib], n: p.warm + p.n, warm: p.warm }, t),
  },
];

const ratio = (r, base) => `${(r / base).toFixed(2)}×`;

/** The issue's target for this scenario, as a line under the table (medians; needs both rows). */
function verdict(rows, key, check) {
  const base = rows.rxwire && rows.rxwire.metrics[key];
  const rel = rows['session-reliable'] && rows['session-reliable'].metrics[key];
  if (!base || !rel) return [];
  const [text, met] = check(rel.median, base.median);
  return [`Target (issue 16): ${text} — ${met ? 'met' : 'not met'}.`];
}

/**
 * Acknowledgement traffic under load: at most one A frame per ackInterval per direction, on
 * average over each reliable run (the rate above), read at the resolution of the clock rxwire's
 * timers use (whole milliseconds: gaps of ackInterval by that clock can be up to 1 ms shorter in
 * real time, so the rate may reach ackInterval / (ackInterval − 1)). The shortest single gap is
 * reported beside it.
 */
function ackVerdict(rows, p) {
  const session = sessionOptions(p.session);
  if (session instanceof Error) return [];
  const row = rows['session-reliable'];
  const runs = row ? row.runs.filter((r) => r.ok) : [];
  if (runs.length === 0) return [];
  const { ackInterval } = session;
  const rate = Math.max(...runs.map((r) => Math.max(r.acksToClientPerInterval, r.acksToServerPerInterval)));
  const gaps = runs.map((r) => r.ackMinGapMs).filter((g) => g !== null);
  const gap = gaps.length ? `; shortest single gap ${Math.min(...gaps).toFixed(1)} ms` : '';
  const met = rate <= ackInterval / (ackInterval - 1);
  return [
    `Target (issue 16): ≤ 1 A frame per ackInterval per direction under load: at most ${rate.toFixed(3)} per ackInterval (${ackInterval} ms) in any reliable run${gap}; allowed by a 1 ms clock: ${(ackInterval / (ackInterval - 1)).toFixed(3)} — ${met ? 'met' : 'not met'}.`,
  ];
}

module.exports = { SESSION_SCENARIOS, SESSION_LIBS, SESSION_NOTES };
