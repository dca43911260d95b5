'use strict';
// The server-side scenarios: the library under test is the server (srv.js, a fresh process with
// --expose-gc), its clients are plain receivers in separate processes (receiver.js), and the
// orchestrator here only coordinates over IPC. Every wait is bounded by the measurement's
// deadline; a missed one fails the row, and every process is SIGKILLed in `finally`.

const path = require('node:path');
const { spawnTracked, killAndWait } = require('./proc.js');

const SRV = path.join(__dirname, 'srv.js');
const RECEIVER = path.join(__dirname, 'receiver.js');

const SERVER_LIBS = ['ws', 'rxwire', 'socket.io'];

/** How each server is set up, printed under each server-side table. */
const SERVER_NOTES = {
  ws: "`new WebSocketServer({ server })` on its own http server; broadcast: `JSON.stringify` once, then `client.send(data)` over `wss.clients` (no cork, no backpressure: ws queues without bound); heartbeat: the ws README's one `setInterval` pinging every client, terminating those without a pong",
  rxwire: '`listen({ port: 0 })` from rxwire/server, defaults (per-peer queue 1000 messages / 1 MiB / 10 s, drop-oldest, highWaterMark 64 KiB); broadcast: `server.broadcast(message)` (serialized once, each peer\'s own writer, corked per tick); `dropped$` counted on every peer; heartbeat: its shared timer',
  'socket.io': "`new Server(http, { transports: ['websocket'], serveClient: false })`; broadcast: `io.emit('m', message)` (encoded once); receivers are socket.io-client with `transports: ['websocket']`, `forceNew` (one connection each); heartbeat: engine.io's pingInterval / pingTimeout",
};

const MB = 2 ** 20;
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** A forked process whose IPC messages can be awaited by type, each wait bounded. */
function child(script, args, execArgv, name) {
  const proc = spawnTracked(script, args, execArgv);
  const inbox = [];
  const waiters = new Set();
  let exited = null;
  let lastError = null;
  proc.on('message', (msg) => {
    if (msg && msg.type === 'error') lastError = msg.message;
    inbox.push(msg);
    for (const w of [...waiters]) w.check();
  });
  proc.once('exit', (code, signal) => {
    exited = `${name} exited (${signal || code})${lastError ? `: ${lastError}` : ''} ${proc.stderrTail()}`.trim();
    for (const w of [...waiters]) w.check();
  });
  /** The first not yet taken message of `type`; rejects on an error message, exit, or after `ms`. */
  const next = (type, ms) =>
    new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const i = inbox.findIndex((m) => m && m.type === type);
          if (i >= 0) return finish(() => resolve(inbox.splice(i, 1)[0]));
          if (lastError) return finish(() => reject(new Error(lastError)));
          if (exited) return finish(() => reject(new Error(exited)));
          return undefined;
        },
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${name}: no '${type}' within ${Math.round(ms)} ms`))), Math.max(0, ms));
      const finish = (settle) => {
        clearTimeout(timer);
        waiters.delete(w);
        settle();
      };
      waiters.add(w);
      w.check();
    });
  const request = (msg, type, ms) => {
    const reply = next(type, ms);
    if (proc.connected) proc.send(msg);
    return reply;
  };
  return { proc, next, request, kill: () => killAndWait(proc) };
}

/**
 * Runs `body(ctx)` with a deadline of `timeoutMs`: `ctx.left()` is the time that remains (every
 * wait uses it), `ctx.server(lib, config)` and `ctx.receivers(...)` start tracked processes.
 * Everything started is SIGKILLed at the end, whatever happened.
 */
async function measure(timeoutMs, body) {
  const deadline = Date.now() + timeoutMs;
  const started = [];
  const ctx = {
    left: () => Math.max(0, deadline - Date.now()),
    /** A tracked child of any script (cluster scenarios), killed at the end like the others. */
    spawn(script, args, execArgv, name) {
      const c = child(script, args, execArgv, name);
      started.push(c);
      return c;
    },
    /** Anything else to kill at the end (a redis-server). */
    track(handle) {
      started.push(handle);
      return handle;
    },
    async server(lib, config) {
      const s = child(SRV, [lib, JSON.stringify(config)], ['--expose-gc'], 'server');
      started.push(s);
      const { port } = await s.next('listening', Math.min(10000, ctx.left()));
      s.url = `ws://127.0.0.1:${port}`;
      return s;
    },
    /** `procs` receiver processes sharing `count` clients; resolves once all are open. */
    async receivers(params, procs, count) {
      const group = [];
      for (let i = 0; i < procs; i++) {
        const share = Math.floor(count / procs) + (i < count % procs ? 1 : 0);
        const r = child(RECEIVER, [JSON.stringify({ ...params, count: share })], [], `receiver ${i + 1}`);
        r.count = share;
        started.push(r);
        group.push(r);
      }
      await Promise.all(group.map((r) => r.next('connected', ctx.left())));
      return group;
    },
  };
  try {
    return await body(ctx);
  } finally {
    await Promise.all(started.map((s) => s.kill()));
  }
}

const kindOf = (lib) => (lib === 'socket.io' ? 'socket.io' : 'ws');

/** fan-out and slow-client: `clients` receivers (plus one stalled one), `n` broadcasts. */
function broadcastRun(lib, p, timeoutMs, stalled) {
  return measure(timeoutMs, async (ctx) => {
    const srv = await ctx.server(lib, {});
    const kind = kindOf(lib);
    const healthy = await ctx.receivers({ kind, url: srv.url, step: p.step }, p.procs, p.clients);
    if (stalled) await ctx.receivers({ kind, url: srv.url, step: 1, stall: true }, 1, 1);
    const total = p.clients + (stalled ? 1 : 0);
    await srv.request({ cmd: 'wait', count: total, ms: Math.min(10000, ctx.left()) }, 'connected', ctx.left());
    await srv.request({ cmd: 'baseline' }, 'baseline', ctx.left());
    const dones = healthy.map((r) => r.next('done', ctx.left()));
    const sent = await srv.request({ cmd: 'broadcast', n: p.n, batch: p.batch }, 'sent', ctx.left());
    const done = await Promise.all(dones);
    const rep = await srv.request({ cmd: 'report' }, 'report', ctx.left());
    const received = sum(done.map((d) => d.received));
    const secs = (Math.max(...done.map((d) => d.lastAt)) - sent.t0) / 1000;
    return {
      ok: true,
      deliveriesPerSec: received / secs,
      deliveredPct: (100 * received) / (p.n * p.clients),
      cpuUsPerDelivery: rep.cpuUs / received,
      peakRssMB: rep.peakRssMB,
      heapGrowthMB: (rep.after.heapUsed - rep.base.heapUsed) / MB,
      peakHeapGrowthMB: (rep.peakHeap - rep.base.heapUsed) / MB,
      externalGrowthMB: (rep.after.external - rep.base.external) / MB,
      dropped: rep.dropped,
      connectedAtEnd: rep.count,
      seconds: secs,
      loopMs: sent.loopMs,
      received,
    };
  });
}

const BROADCAST_METRICS = [
  { key: 'deliveriesPerSec', label: 'deliveries/s', digits: 0 },
  { key: 'deliveredPct', label: 'delivered %', digits: 1 },
  { key: 'cpuUsPerDelivery', label: 'server CPU µs/delivery', digits: 2 },
  { key: 'peakRssMB', label: 'server peak RSS MB', digits: 0 },
];

const SERVER_SCENARIOS = [
  {
    name: 'fan-out',
    side: 'server',
    title: 'Server fan-out (broadcast to 1,000 clients; the server is measured)',
    libs: SERVER_LIBS,
    full: { clients: 1000, procs: 4, step: 50, n: 300, batch: 10 },
    quick: { clients: 400, procs: 4, step: 50, n: 100, batch: 10 },
    timeoutMs: 120000,
    describe: (p) =>
      `${p.clients.toLocaleString('en')} clients in ${p.procs} receiver processes (plain \`ws\` clients; socket.io-client for socket.io), then the server broadcasts ${p.n.toLocaleString('en')} 64-byte JSON messages, ${p.batch} per macrotask, and an end marker; deliveries/s = data messages counted at the receivers ÷ (last end marker's arrival − first broadcast); server CPU from the first broadcast until every receiver has the end marker; "delivered %" below 100 means the server dropped messages`,
    metrics: BROADCAST_METRICS,
    notes: SERVER_NOTES,
    primary: 'deliveriesPerSec',
    run: (lib, p, t) => broadcastRun(lib, p, t, false),
  },
  {
    name: 'slow-client',
    side: 'server',
    title: 'Server fan-out with one stalled client',
    libs: ['ws', 'rxwire'],
    full: { clients: 1000, procs: 4, step: 50, n: 1500, batch: 10 },
    quick: { clients: 400, procs: 4, step: 50, n: 300, batch: 10 },
    timeoutMs: 120000,
    describe: (p) =>
      `as fan-out (${p.clients.toLocaleString('en')} healthy clients, ${p.n.toLocaleString('en')} broadcasts) plus one client whose TCP socket stops reading once open (a \`ws\` client whose net socket is paused); deliveries/s over the healthy clients; heap growth = server heapUsed after GC at the end, the stalled client still connected, minus heapUsed after GC before the first broadcast; peak = the largest heapUsed sampled every 50 ms during the run; drops as rxwire's \`dropped$\` counts them`,
    metrics: [
      { key: 'deliveriesPerSec', label: 'healthy deliveries/s', digits: 0 },
      { key: 'deliveredPct', label: 'delivered %', digits: 1 },
      { key: 'heapGrowthMB', label: 'heap growth MB', digits: 2 },
      { key: 'peakHeapGrowthMB', label: 'peak heap growth MB', digits: 1 },
      { key: 'peakRssMB', label: 'server peak RSS MB', digits: 0 },
      { key: 'dropped', label: 'dropped', digits: 0 },
    ],
    notes: SERVER_NOTES,
    primary: 'deliveriesPerSec',
    run: (lib, p, t) => broadcastRun(lib, p, t, true),
  },
  {
    name: 'server-idle',
    side: 'server',
    title: 'Idle server connections with heartbeat (the server is measured)',
    libs: SERVER_LIBS,
    full: { conns: 2000, procs: 4, step: 50, holdMs: 3000, heartbeat: { interval: 1000, timeout: 500 } },
    quick: { conns: 400, procs: 4, step: 50, holdMs: 1200, heartbeat: { interval: 1000, timeout: 500 } },
    timeoutMs: 90000,
    describe: (p) =>
      `server memory after GC with no client, then ${p.conns.toLocaleString('en')} clients from ${p.procs} receiver processes (${p.step} at a time each), held ${p.holdMs / 1000} s with a heartbeat every ${p.heartbeat.interval} ms (timeout ${p.heartbeat.timeout} ms), then GC; per connection = growth ÷ connections`,
    metrics: [
      { key: 'heapKBPerConn', label: 'heap KB/conn', digits: 1 },
      { key: 'rssKBPerConn', label: 'RSS KB/conn', digits: 1 },
      { key: 'openAtEnd', label: 'open at end', digits: 0 },
      { key: 'closes', label: 'closed during hold', digits: 0 },
    ],
    notes: SERVER_NOTES,
    primary: 'heapKBPerConn',
    run: (lib, p, t) =>
      measure(t, async (ctx) => {
        const srv = await ctx.server(lib, { heartbeat: p.heartbeat });
        await srv.request({ cmd: 'baseline' }, 'baseline', ctx.left());
        await ctx.receivers({ kind: kindOf(lib), url: srv.url, step: p.step }, p.procs, p.conns);
        await srv.request({ cmd: 'wait', count: p.conns, ms: Math.min(10000, ctx.left()) }, 'connected', ctx.left());
        await new Promise((resolve) => setTimeout(resolve, Math.min(p.holdMs, ctx.left())));
        const rep = await srv.request({ cmd: 'report' }, 'report', ctx.left());
        return {
          ok: true,
          heapKBPerConn: (rep.after.heapUsed - rep.base.heapUsed) / 1024 / p.conns,
          rssKBPerConn: (rep.after.rss - rep.base.rss) / 1024 / p.conns,
          openAtEnd: rep.count,
          closes: rep.closes,
          peakRssMB: rep.peakRssMB,
        };
      }),
  },
];

module.exports = { SERVER_SCENARIOS, SERVER_LIBS, SERVER_NOTES, measure };
