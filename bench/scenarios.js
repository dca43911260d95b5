'use strict';
// The scenarios: sizes (full and --quick), which libraries take part, how a row is shown, and
// how one measurement is orchestrated (server process, client process, coordination). The
// server-side ones (the library under test is the server) come from server-scenarios.js.
// Every measurement is bounded: the client by `timeoutMs` (SIGKILL), servers by startServer's
// listen timeout and by being killed in `finally`.

const { startServer, runClient, freePort, sleep } = require('./proc.js');
const { SERVER_SCENARIOS } = require('./server-scenarios.js');
const { SESSION_SCENARIOS } = require('./session-scenarios.js');
const { CLUSTER_SCENARIOS } = require('./cluster-scenarios.js');

const ALL = ['ws', 'ws-corked', 'rxwire', 'rxjs', 'rws', 'websocket-ts'];
const NO_CORK = ['ws', 'rxwire', 'rxjs', 'rws', 'websocket-ts'];
const BUFFERING = ['rxwire', 'rxjs', 'rws', 'websocket-ts']; // raw ws cannot send while not open

const url = (port) => `ws://127.0.0.1:${port}`;

// The client gives up by itself (and says why) a little before run.js's hard kill.
const clientDeadline = (timeoutMs) => timeoutMs - Math.min(2000, timeoutMs * 0.2);

/** A server started with `server` (its config), one client against it, the server killed after. */
async function withServer(name, lib, params, serverConfig, timeoutMs) {
  const server = await startServer(serverConfig);
  try {
    return await runClient(name, lib, { ...params, url: url(server.port), deadlineMs: clientDeadline(timeoutMs) }, { timeoutMs });
  } finally {
    await server.kill();
  }
}

const SCENARIOS = [
  {
    name: 'send',
    title: 'Send throughput (client → server, ~64-byte JSON)',
    libs: ALL,
    full: { n: 200000, warm: 20000, batch: 500 },
    quick: { n: 50000, warm: 20000, batch: 500 },
    quickReps: 3,
    timeoutMs: 60000,
    describe: (p) => `${p.n.toLocaleString('en')} timed messages after ${p.warm.toLocaleString('en')} untimed warm-up ones, in batches of ${p.batch} per macrotask (a Promise API awaits the last of each batch), until the server confirms it has them all`,
    metrics: [
      { key: 'msgPerSec', label: 'msg/s', digits: 0 },
      { key: 'cpuUsPerMsg', label: 'client CPU µs/msg', digits: 2 },
      { key: 'peakRssMB', label: 'peak RSS MB', digits: 0 },
    ],
    primary: 'msgPerSec',
    run: (lib, p, t) => withServer('send', lib, p, { mode: 'sink', n: p.warm + p.n, warm: p.warm }, t),
  },
  {
    name: 'send-await',
    title: 'Send, awaiting every send (the script loop)',
    libs: NO_CORK,
    full: { n: 100000, warm: 10000 },
    quick: { n: 20000, warm: 5000 },
    quickReps: 3,
    timeoutMs: 60000,
    describe: (p) => `\`for (…) await send(m)\`: ${p.n.toLocaleString('en')} timed messages after ${p.warm.toLocaleString('en')} untimed ones, each awaited (a library whose send returns nothing is awaited as undefined), no macrotask in between, until the server confirms it has them all`,
    metrics: [
      { key: 'msgPerSec', label: 'msg/s', digits: 0 },
      { key: 'cpuUsPerMsg', label: 'client CPU µs/msg', digits: 2 },
      { key: 'peakRssMB', label: 'peak RSS MB', digits: 0 },
    ],
    primary: 'msgPerSec',
    run: (lib, p, t) => withServer('send-await', lib, p, { mode: 'sink', n: p.warm + p.n, warm: p.warm }, t),
  },
  {
    name: 'receive',
    title: 'Receive throughput (server → client, corked batches with backpressure)',
    libs: NO_CORK,
    full: { n: 200000, warm: 20000 },
    quick: { n: 20000, warm: 5000 },
    timeoutMs: 60000,
    describe: (p) => `${p.n.toLocaleString('en')} timed messages after ${p.warm.toLocaleString('en')} warm-up ones, pushed in corked batches of 1000 (waiting for 'drain' above 1 MiB), each JSON.parse'd and counted through the library's message API`,
    metrics: [
      { key: 'msgPerSec', label: 'msg/s', digits: 0 },
      { key: 'cpuUsPerMsg', label: 'client CPU µs/msg', digits: 2 },
      { key: 'peakRssMB', label: 'peak RSS MB', digits: 0 },
    ],
    primary: 'msgPerSec',
    run: (lib, p, t) => withServer('receive', lib, p, { mode: 'push' }, t),
  },
  {
    name: 'rtt',
    title: 'Round trip (sequential echo)',
    libs: NO_CORK,
    full: { n: 5000, warm: 200 },
    quick: { n: 500, warm: 50 },
    timeoutMs: 60000,
    describe: (p) => `${p.n.toLocaleString('en')} sequential echo round trips after ${p.warm} warm-up ones`,
    metrics: [
      { key: 'p50Us', label: 'p50 µs', digits: 0 },
      { key: 'p99Us', label: 'p99 µs', digits: 0 },
    ],
    primary: 'p50Us',
    run: (lib, p, t) => withServer('rtt', lib, p, { mode: 'echo' }, t),
  },
  {
    name: 'offline-flood',
    title: 'Offline flood (nothing listening)',
    libs: BUFFERING,
    full: { n: 1000000, maxMs: 10000, chunk: 10000 },
    quick: { n: 100000, maxMs: 2000, chunk: 10000 },
    timeoutMs: 45000,
    describe: (p) =>
      `up to ${p.n.toLocaleString('en')} sends or ${p.maxMs / 1000} s to a port with nothing listening, chunks of ${p.chunk} per macrotask; then GC and heap vs a baseline taken after connect`,
    metrics: [
      { key: 'heapRetainedMB', label: 'heap retained MB', digits: 1 },
      { key: 'rssGrowthMB', label: 'peak RSS growth MB', digits: 0 },
      { key: 'sends', label: 'sends', digits: 0 },
      { key: 'held', label: 'held (if told)', digits: 0 },
      { key: 'rejected', label: 'rejected', digits: 0 },
    ],
    primary: 'heapRetainedMB',
    run: async (lib, p, t) => {
      const port = await freePort();
      return runClient('offlineFlood', lib, { ...p, url: url(port), deadlineMs: clientDeadline(t) }, { timeoutMs: t });
    },
  },
  {
    name: 'offline-delivery',
    title: 'Offline delivery (sent while down, then server starts)',
    libs: BUFFERING,
    full: { n: 10000, waitMs: 5000 },
    quick: { n: 2000, waitMs: 3000 },
    timeoutMs: 30000,
    describe: (p) =>
      `${p.n.toLocaleString('en')} sends while the port is refused (client already retrying for 250 ms); 300 ms later a server listens on that port; messages counted and their seq checked at the server for up to ${p.waitMs / 1000} s. Buffering as listed at the end; rxwire's buffer has room for all ${p.n.toLocaleString('en')} (\`buffer: { size: n }\`; the offline flood shows its default bound of 1000)`,
    metrics: [
      { key: 'delivered', label: 'delivered', digits: 0 },
      { key: 'inOrder', label: 'in order', bool: true },
      { key: 'duplicates', label: 'duplicates', digits: 0 },
      { key: 'connections', label: 'server connections', digits: 0 },
      { key: 'rejected', label: 'rejected by send()', digits: 0 },
      { key: 'firstArrivalAfterListenMs', label: 'first arrival ms', digits: 0 },
    ],
    primary: 'delivered',
    run: async (lib, p, t) => {
      const port = await freePort();
      // Spawned now, listening later: the instant it listens does not include Node's start-up.
      const server = await startServer({ mode: 'collect', port, n: p.n, deferListen: true });
      let serverError = null;
      let report = null;
      const coordinate = async (msg, child) => {
        if (msg.type !== 'sent') return;
        try {
          await sleep(300);
          await server.listen();
          await server.waitFor('complete', p.waitMs);
          await sleep(200); // late duplicates
          report = await server.report();
        } catch (err) {
          serverError = err;
        } finally {
          if (child.connected) child.send({ cmd: 'finish' });
        }
      };
      let coordination = Promise.resolve();
      const onMessage = (msg, child) => {
        coordination = coordinate(msg, child);
      };
      try {
        const res = await runClient('offlineDelivery', lib, { ...p, url: url(port), deadlineMs: clientDeadline(t) }, { timeoutMs: t, onMessage });
        await coordination; // bounded: listen timeout, waitMs, report timeout
        if (!res.ok) return res;
        if (serverError) return { ok: false, error: serverError.message };
        if (!report) return { ok: false, error: 'no report from the server' };
        return {
          ...res,
          delivered: report.distinct,
          inOrder: report.inOrder,
          duplicates: report.duplicates,
          connections: report.connections,
          firstArrivalAfterListenMs: report.firstArrivalAfterListenMs,
        };
      } finally {
        await server.kill();
      }
    },
  },
  {
    name: 'reconnect',
    title: 'Reconnect (server killed, back on the same port after 500 ms)',
    libs: NO_CORK,
    full: { downMs: 500 },
    quick: { downMs: 500 },
    timeoutMs: 20000,
    describe: (p) =>
      `server SIGKILLed 300 ms after its first hello; a new server process listens on the same port ${p.downMs} ms after the kill and greets each connection; time from its 'listening' to the client receiving that hello. Backoff everywhere: 100 ms doubling to 1000 ms, no jitter, so every library retries at the same instants (+100, +300, +700, +1500 ms after the drop): the first column is mostly where the restart falls in that schedule, and differences of a few ms are the libraries' own`,
    metrics: [
      { key: 'reconnectMs', label: 'listen → first message ms', digits: 1 },
      { key: 'downToMessageMs', label: 'client-seen outage ms', digits: 0 },
    ],
    primary: 'reconnectMs',
    run: async (lib, p, t) => {
      const port = await freePort();
      const servers = [];
      let serverError = null;
      servers.push(await startServer({ mode: 'hello', port, gen: 1 }));
      const coordinate = async (msg) => {
        if (msg.type !== 'connected') return;
        try {
          await sleep(300);
          await servers[0].kill();
          const back = Date.now() + p.downMs;
          // Spawned during the outage, told to listen at the 500 ms mark (Node's start-up excluded).
          servers.push(await startServer({ mode: 'hello', port, gen: 2, deferListen: true }));
          await sleep(back - Date.now());
          await servers[1].listen();
        } catch (err) {
          serverError = err;
        }
      };
      let coordination = Promise.resolve();
      const onMessage = (msg) => {
        coordination = coordinate(msg);
      };
      try {
        const res = await runClient('reconnect', lib, { url: url(port), deadlineMs: clientDeadline(t) }, { timeoutMs: t, onMessage });
        await coordination; // bounded: downMs plus the listen timeout
        if (!res.ok && serverError) return { ok: false, error: `${res.error}; server: ${serverError.message}` };
        return res;
      } finally {
        for (const s of servers) await s.kill();
      }
    },
  },
  {
    name: 'idle',
    title: 'Idle connections with heartbeat (one client process)',
    libs: NO_CORK,
    full: { conns: 1000, holdMs: 3000, step: 50, heartbeat: { interval: 1000, timeout: 500 } },
    quick: { conns: 100, holdMs: 1200, step: 50, heartbeat: { interval: 1000, timeout: 500 } },
    timeoutMs: 60000,
    describe: (p) =>
      `${p.conns} connections opened ${p.step} at a time, held ${p.holdMs / 1000} s with heartbeat ${p.heartbeat.interval} ms / ${p.heartbeat.timeout} ms where the library has one (rxwire; ws by hand), then GC`,
    metrics: [
      { key: 'heapKBPerConn', label: 'heap KB/conn', digits: 1 },
      { key: 'rssKBPerConn', label: 'RSS KB/conn', digits: 1 },
      { key: 'openAtEnd', label: 'open at end', digits: 0 },
      { key: 'downs', label: 'drops', digits: 0 },
    ],
    primary: 'heapKBPerConn',
    run: (lib, p, t) => withServer('idle', lib, p, { mode: 'idle' }, t),
  },
  {
    name: 'large',
    title: 'Large messages (1 MiB JSON, client → server)',
    libs: ALL,
    full: { n: 64, warm: 4, size: 1048576 - 32, batch: 4 },
    quick: { n: 8, warm: 2, size: 1048576 - 32, batch: 4 },
    timeoutMs: 60000,
    describe: (p) => `${p.n} timed messages of ~1 MiB ({"seq":i,"pad":"…"}) after ${p.warm} warm-up ones, in batches of ${p.batch}, until the server confirms it has them all`,
    metrics: [
      { key: 'mibPerSec', label: 'MiB/s', digits: 0 },
      { key: 'cpuMsPerMsg', label: 'client CPU ms/msg', digits: 2 },
      { key: 'peakRssMB', label: 'peak RSS MB', digits: 0 },
    ],
    primary: 'mibPerSec',
    run: (lib, p, t) => withServer('large', lib, p, { mode: 'sink', n: p.warm + p.n, warm: p.warm }, t),
  },
  // fan-out, slow-client, server-idle: the library is the server (server-scenarios.js).
  ...SERVER_SCENARIOS,
  // session-send, session-rtt: what resumable sessions cost, rxwire at both ends (session-scenarios.js).
  ...SESSION_SCENARIOS,
  // cluster-fan-out, cluster-resume: three nodes on one redis-server (cluster-scenarios.js).
  ...CLUSTER_SCENARIOS,
];

module.exports = { SCENARIOS };
