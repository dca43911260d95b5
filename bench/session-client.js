'use strict';
// One measurement of the session scenarios in a fresh process:
//
//   node --expose-gc bench/session-client.js <scenario> <variant> <params-json>
//
// variant: 'rxwire' (connect() without a session), 'session-volatile' or 'session-reliable'
// (connect(url, { session: { delivery } }): every send() in that class, by the session's default,
// so no per-send options are parsed). Prints exactly one JSON line, as client.js does. The frames
// on the wire are counted by the server (session-server.js), below rxwire.

const { loadRxwire } = require('./adapters.js');
const { message, BACKOFF, measurementProcess } = require('./common.js');

const [scenario, variant, paramsJson] = process.argv.slice(2);
const params = JSON.parse(paramsJson || '{}');

const { emit, fail } = measurementProcess(params.deadlineMs);

const tick = () => new Promise((resolve) => setImmediate(resolve));
const now = () => process.hrtime.bigint();
const seconds = (t0, t1 = now()) => Number(t1 - t0) / 1e9;
const peakRssMB = () => process.resourceUsage().maxRSS / 1024;
const cpuMicros = (since) => {
  const d = process.cpuUsage(since);
  return d.user + d.system;
};

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

// ---------------------------------------------------------------------------------------------

const VARIANTS = { rxwire: null, 'session-volatile': 'volatile', 'session-reliable': 'reliable' };

/** The socket of `variant`, open; fails the run if it drops, reports an error, or drops a message. */
async function open(url, session, onMessage) {
  if (!(variant in VARIANTS)) throw new Error(`unknown variant ${variant}`);
  const delivery = VARIANTS[variant];
  const mod = loadRxwire();
  if (mod instanceof Error) throw mod;
  const socket = mod.connect(url, {
    reconnect: { ...BACKOFF, jitter: false },
    ...(delivery ? { session: { ...session, delivery } } : {}),
  });
  const opened = deferred();
  let wasOpen = false;
  socket.state$.subscribe((s) => {
    if (s.status === 'open') {
      wasOpen = true;
      opened.resolve();
    } else if (wasOpen) fail(`the connection dropped (${s.status})`);
  });
  socket.errors$.subscribe((err) => fail(`errors$: ${err.name}: ${err.message}`));
  socket.dropped$.subscribe((d) => fail(`a message was dropped: ${d.reason}`));
  socket.messages$.subscribe({ next: onMessage, error: fail });
  await opened.promise;
  return { socket, reliable: delivery === 'reliable' };
}

// ---------------------------------------------------------------------------------------------

const scenarios = {
  /**
   * Client → server throughput: `warm` untimed messages, then `n` timed ones, `batch` per
   * macrotask, until the server's `{"done"}`. Plain and volatile: the last send() of each batch
   * is awaited (it resolves when written), as in the `send` scenario. Reliable: sends are never
   * made to wait in the retention; before each batch, while it would not fit (metrics.unacknowledged
   * + batch > retain.size), the oldest outstanding batch's last receipt is awaited (receipts
   * resolve in order), and the time spent so is reported as the window wait.
   */
  async send({ url, n, warm, batch, session }) {
    const warmed = deferred();
    const finished = deferred();
    let doneAt = 0n;
    let serverCpuUs = null;
    const { socket, reliable } = await open(url, session, (m) => {
      if (m && m.warm === warm) warmed.resolve();
      if (m && m.done === warm + n) {
        doneAt = now();
        serverCpuUs = m.cpuUs;
        finished.resolve();
      }
    });
    const size = session.retain.size;
    if (reliable && batch > size) throw new Error(`batch ${batch} exceeds retain.size ${size}`);
    const receipts = [];
    let waits = 0;
    let waitNs = 0n;
    let last = null;
    const range = async (from, to) => {
      for (let i = from; i < to; ) {
        if (reliable) {
          while (receipts.length > 0 && socket.metrics.unacknowledged + batch > size) {
            const t = now();
            waits++;
            await receipts.shift();
            waitNs += now() - t;
          }
        }
        const end = Math.min(to, i + batch);
        for (; i < end - 1; i++) socket.send(message(i));
        last = socket.send(message(i++));
        if (reliable) receipts.push(last);
        else await last;
        await tick();
      }
    };
    await range(0, warm);
    await warmed.promise;
    if (reliable) await last; // start with an empty retention
    receipts.length = 0;
    waits = 0;
    waitNs = 0n;
    await collectGarbage();
    const cpu0 = process.cpuUsage();
    const t0 = now();
    await range(warm, warm + n);
    await finished.promise;
    const cpu = cpuMicros(cpu0);
    let receiptMs = null;
    if (reliable) {
      await last;
      receiptMs = seconds(doneAt) * 1000;
    }
    const secs = seconds(t0, doneAt);
    return {
      msgPerSec: n / secs,
      seconds: secs,
      cpuUsPerMsg: cpu / n,
      serverCpuUsPerMsg: serverCpuUs / n,
      peakRssMB: peakRssMB(),
      receiptMs,
      windowWaits: reliable ? waits : null,
      windowWaitPct: reliable ? (100 * Number(waitNs)) / 1e9 / secs : null,
    };
  },

  /**
   * Sequential round trips: send, the server echoes with peer.send in the same class, the echo
   * arrives. Reliable: also the receipt's latency (send() to its promise resolving).
   */
  async rtt({ url, n, warm, session }) {
    let pending = null;
    const { socket, reliable } = await open(url, session, (m) => pending && pending(m));
    const samples = new Float64Array(n);
    const receipts = reliable ? new Float64Array(n) : null;
    let cpu0 = null;
    for (let i = 0; i < warm + n; i++) {
      if (i === warm) cpu0 = process.cpuUsage();
      const echoed = new Promise((resolve) => {
        pending = resolve;
      });
      const sentAt = now();
      let receiptAt = 0n;
      const sent = socket.send(message(i));
      if (reliable) sent.then(() => (receiptAt = now()));
      const m = await echoed;
      const us = Number(now() - sentAt) / 1000;
      if (m.seq !== i) throw new Error(`echo out of order: sent ${i}, got ${m.seq}`);
      if (reliable) {
        await sent;
        if (i >= warm) receipts[i - warm] = Number(receiptAt - sentAt) / 1000;
      }
      if (i >= warm) samples[i - warm] = us;
    }
    const cpuUsPerTrip = cpuMicros(cpu0) / n;
    const q = (xs, f) => xs[Math.min(n - 1, Math.floor(f * n))];
    samples.sort();
    if (receipts) receipts.sort();
    return {
      p50Us: q(samples, 0.5),
      p99Us: q(samples, 0.99),
      maxUs: samples[n - 1],
      receiptP50Us: receipts ? q(receipts, 0.5) : null,
      receiptP99Us: receipts ? q(receipts, 0.99) : null,
      cpuUsPerTrip,
    };
  },
};

async function main() {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario ${scenario}`);
  const result = await run(params);
  emit({ ok: true, ...result });
}

main().catch(fail);
