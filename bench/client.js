'use strict';
// One measurement in a fresh process: node --expose-gc bench/client.js <scenario> <library> <params>
// Prints exactly one JSON line: `{"ok":true,...metrics}` or `{"ok":false,"error":"..."}`.
// run.js forks it with an IPC channel, used only by the scenarios that need coordination
// (offline-delivery: 'sent' / 'finish'; reconnect: 'connected').

const { create, preload } = require('./adapters.js');
const { message, wallClock, measurementProcess } = require('./common.js');

const [scenario, lib, paramsJson] = process.argv.slice(2);
const params = JSON.parse(paramsJson || '{}');

const { emit, fail } = measurementProcess(params.deadlineMs);

// ---------------------------------------------------------------------------------------------

const tick = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const isPromise = (r) => r !== null && typeof r === 'object' && typeof r.then === 'function';

function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function collectGarbage() {
  if (!global.gc) return;
  for (let i = 0; i < 3; i++) {
    global.gc();
    await tick();
  }
}

const peakRssMB = () => process.resourceUsage().maxRSS / 1024;
const cpuMicros = (since) => {
  const d = process.cpuUsage(since);
  return d.user + d.system;
};
const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Outcome counters for libraries whose send() returns a Promise. */
function sendTracker() {
  const t = { resolved: 0, rejected: 0, lastError: null, promiseApi: false };
  t.track = (r) => {
    if (!isPromise(r)) return r;
    t.promiseApi = true;
    return r.then(
      () => {
        t.resolved++;
      },
      (err) => {
        t.rejected++;
        t.lastError = err;
      },
    );
  };
  return t;
}

function ipcWait(type) {
  return new Promise((resolve) => {
    process.on('message', function onMsg(msg) {
      if (msg && msg.cmd === type) {
        process.off('message', onMsg);
        resolve(msg);
      }
    });
  });
}
const notify = (msg) => process.send && process.send(msg);

/** An adapter, started, with a promise for its first open; messages go to `onMessage`. */
function connectTo(url, { onMessage = () => {}, heartbeat = false, buffer } = {}) {
  const opened = deferred();
  const a = create(lib, url, { onOpen: opened.resolve, onMessage, onError: fail, heartbeat, buffer });
  a.start();
  return { a, opened: opened.promise };
}

// ---------------------------------------------------------------------------------------------

/**
 * Sends messages `from`..`to`-1 in batches of `batch` (each batch one a.batch() call; with a
 * Promise API the last send of each batch is awaited, the others only tracked for rejections),
 * yielding a macrotask between batches.
 */
async function sendRange(a, tracker, from, to, batch, makeMessage) {
  for (let i = from; i < to; ) {
    const end = Math.min(to, i + batch);
    let last = null;
    a.batch(() => {
      if (a.dropped) {
        // Drops are counted by the library's own stream (rxwire's dropped$): only the last
        // promise of the batch is awaited, as an application that pipelines sends would do.
        for (; i < end - 1; i++) a.send(makeMessage(i));
        last = tracker.track(a.send(makeMessage(i++)));
      } else {
        for (; i < end; i++) last = tracker.track(a.send(makeMessage(i)));
      }
    });
    if (isPromise(last)) await last;
    const rejected = tracker.rejected + (a.dropped ? a.dropped() : 0);
    if (rejected > 0) throw new Error(`${rejected} sends rejected: ${tracker.lastError}`);
    await tick();
  }
}

/**
 * Sends messages `from`..`to`-1 as a script does: `await` on every send (on undefined where the
 * library returns nothing), never yielding a macrotask.
 */
async function sendAwaitRange(a, from, to, makeMessage) {
  for (let i = from; i < to; i++) await a.send(makeMessage(i));
  if (a.dropped && a.dropped() > 0) throw new Error(`${a.dropped()} sends dropped`);
}

/**
 * Client → server throughput, used by `send` and `large`: `warm` untimed messages (the server
 * answers `{"warm":warm}` when it has them all), then `n` timed ones until the server's
 * `{"done":warm+n}`.
 */
async function blast({ url, n, warm = 0, batch }, makeMessage, awaitEach = false) {
  const range = (a, tracker, from, to) => (awaitEach ? sendAwaitRange(a, from, to, makeMessage) : sendRange(a, tracker, from, to, batch, makeMessage));
  const warmed = deferred();
  const finished = deferred();
  const { a, opened } = connectTo(url, {
    onMessage: (m) => {
      if (m && m.warm === warm) warmed.resolve();
      if (m && m.done === warm + n) finished.resolve();
    },
  });
  await opened;
  const tracker = sendTracker();
  if (warm > 0) {
    await range(a, tracker, 0, warm);
    await warmed.promise;
  }
  await collectGarbage();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await range(a, tracker, warm, warm + n);
  await finished.promise;
  return { secs: seconds(t0), cpu: cpuMicros(cpu0) };
}

const scenarios = {
  async send(p) {
    const { secs, cpu } = await blast(p, message);
    return { msgPerSec: p.n / secs, cpuUsPerMsg: cpu / p.n, peakRssMB: peakRssMB(), seconds: secs };
  },

  async 'send-await'(p) {
    const { secs, cpu } = await blast(p, message, true);
    return { msgPerSec: p.n / secs, cpuUsPerMsg: cpu / p.n, peakRssMB: peakRssMB(), seconds: secs };
  },

  async large(p) {
    const big = 'x'.repeat(p.size);
    const bytes = Buffer.byteLength(JSON.stringify({ seq: p.n, pad: big }));
    const { secs, cpu } = await blast(p, (seq) => ({ seq, pad: big }));
    return {
      mibPerSec: (p.n * bytes) / secs / 2 ** 20,
      cpuMsPerMsg: cpu / p.n / 1000,
      peakRssMB: peakRssMB(),
      seconds: secs,
    };
  },

  async receive({ url, n, warm = 0 }) {
    let count = 0;
    let target = warm;
    let reached = deferred();
    const { a, opened } = connectTo(url, {
      onMessage: () => {
        if (++count === target) reached.resolve();
      },
    });
    await opened;
    const tracker = sendTracker();
    if (warm > 0) {
      tracker.track(a.send({ start: warm }));
      await reached.promise;
    }
    count = 0;
    target = n;
    reached = deferred();
    await collectGarbage();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    tracker.track(a.send({ start: n }));
    await reached.promise;
    const secs = seconds(t0);
    return { msgPerSec: n / secs, cpuUsPerMsg: cpuMicros(cpu0) / n, peakRssMB: peakRssMB(), seconds: secs };
  },

  async rtt({ url, n, warm }) {
    let pending = null;
    const opened = deferred();
    const a = create(lib, url, {
      onOpen: opened.resolve,
      onMessage: (m) => pending && pending(m),
      onError: fail,
    });
    a.start();
    await opened.promise;
    const tracker = sendTracker();
    const samples = new Float64Array(n);
    for (let i = 0; i < warm + n; i++) {
      const echoed = new Promise((resolve) => {
        pending = resolve;
      });
      const t0 = process.hrtime.bigint();
      tracker.track(a.send(message(i)));
      const m = await echoed;
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      if (m.seq !== i) throw new Error(`echo out of order: sent ${i}, got ${m.seq}`);
      if (i >= warm) samples[i - warm] = us;
    }
    samples.sort();
    const q = (f) => samples[Math.min(n - 1, Math.floor(f * n))];
    return { p50Us: q(0.5), p99Us: q(0.99), maxUs: samples[n - 1] };
  },

  async offlineFlood({ url, n, maxMs, chunk }) {
    const { a } = connectTo(url);
    await sleep(50); // let the first attempt fail: this is a client that knows it is offline
    await collectGarbage();
    const base = process.memoryUsage();
    const tracker = sendTracker();
    const t0 = process.hrtime.bigint();
    const stopAt = Date.now() + maxMs;
    let sent = 0;
    while (sent < n && Date.now() < stopAt) {
      const end = Math.min(n, sent + chunk);
      for (; sent < end; sent++) tracker.track(a.send(message(sent)));
      await tick();
    }
    const secs = seconds(t0);
    await tick();
    await collectGarbage();
    const after = process.memoryUsage();
    let held = a.held();
    if (held === null && tracker.promiseApi) held = sent - tracker.resolved - tracker.rejected;
    return {
      sends: sent,
      seconds: secs,
      heapRetainedMB: (after.heapUsed - base.heapUsed) / 2 ** 20,
      rssGrowthMB: peakRssMB() - base.rss / 2 ** 20,
      held,
      rejected: tracker.promiseApi ? tracker.rejected : null,
    };
  },

  async offlineDelivery({ url, n }) {
    // A buffer with room for every message (where the library has a bound): what fits must all
    // arrive; the offline flood shows the default bound at work.
    const { a } = connectTo(url, { buffer: { size: n } });
    await sleep(250); // attempts are being refused: the client is in its retry loop
    const tracker = sendTracker();
    for (let i = 0; i < n; i++) tracker.track(a.send(message(i)));
    const heldAfterSend = a.held();
    notify({ type: 'sent' });
    await ipcWait('finish');
    return {
      sent: n,
      heldAfterSend,
      resolved: tracker.promiseApi ? tracker.resolved : null,
      rejected: tracker.promiseApi ? tracker.rejected : null,
    };
  },

  async reconnect({ url }) {
    let downAt = 0;
    let first = true;
    const done = deferred();
    const a = create(lib, url, {
      onDown: () => {
        if (!downAt) downAt = wallClock();
      },
      onMessage: (m) => {
        if (!m || typeof m.hello !== 'number') return;
        const now = wallClock();
        if (m.hello === 1 && first) {
          first = false;
          notify({ type: 'connected' });
        } else if (m.hello === 2) {
          done.resolve({ reconnectMs: now - m.listenAt, downToMessageMs: downAt ? now - downAt : null });
        }
      },
      onError: fail,
      reconnect: true,
    });
    a.start();
    return done.promise;
  },

  async idle({ url, conns, holdMs, step, heartbeat }) {
    preload(lib); // the library's code is not per-connection memory
    await collectGarbage();
    const base = process.memoryUsage();
    const all = [];
    let downs = 0;
    for (let i = 0; i < conns; i += step) {
      const opens = [];
      for (let j = i; j < Math.min(conns, i + step); j++) {
        const opened = deferred();
        const a = create(lib, url, {
          onOpen: opened.resolve,
          onDown: () => downs++,
          onError: fail,
          heartbeat,
        });
        a.start();
        all.push(a);
        opens.push(opened.promise);
      }
      await Promise.all(opens);
    }
    await sleep(holdMs);
    await collectGarbage();
    const after = process.memoryUsage();
    return {
      conns,
      openAtEnd: all.filter((a) => a.isOpen()).length,
      downs,
      heapKBPerConn: (after.heapUsed - base.heapUsed) / 1024 / conns,
      rssKBPerConn: (after.rss - base.rss) / 1024 / conns,
      peakRssMB: peakRssMB(),
    };
  },
};

// ---------------------------------------------------------------------------------------------

async function main() {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  const result = await run(params);
  emit({ ok: true, ...result });
}

main().catch(fail);
