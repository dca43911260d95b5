'use strict';
// The cluster scenarios: three server processes of one library on one redis-server that the
// bench starts on a free port (and kills after), their clients in separate processes. Each
// measurement gets a fresh Redis, fresh nodes and fresh clients; every wait is bounded by its
// deadline and every process is SIGKILLed at its end (server-scenarios.js's `measure`).
//
//   cluster-fan-out  one node publishes to a topic every client joined; deliveries/s at the clients
//                    (rxwire with redisBroker against socket.io with @socket.io/redis-adapter)
//   cluster-resume   session clients on a node that is SIGKILLed: time to the first resumed message

const path = require('node:path');
const { startRedis } = require('./proc.js');
const { measure } = require('./server-scenarios.js');
const { wallClock } = require('./common.js');

const NODE = path.join(__dirname, 'cluster-node.js');
const RECEIVER = path.join(__dirname, 'receiver.js');
const RESUME_CLIENT = path.join(__dirname, 'resume-client.js');
const NODES = 3;

const CLUSTER_NOTES = {
  rxwire:
    "three `listen({ port: 0, broker: redisBroker({ url }) })` (rxwire/server and rxwire/redis from dist/cjs, node-redis 5); every peer joins topic 'all' as it connects; publish: `server.publish('all', m)` on one node (serialized once, one PUBLISH; local peers get it at once, the other nodes through Redis); per-peer queue 20,000 messages / 16 MiB / 60 s so that a run fits (socket.io's queues have no bound; drops would show in delivered %); receivers are rxwire clients (`connect(url, { reconnect: false })`, `messages$`)",
  'socket.io':
    "three `new Server(http, { transports: ['websocket'], adapter: createAdapter(pub, sub) })` with @socket.io/redis-adapter on node-redis 5 (`createClient({ url })` and its `duplicate()`); every socket joins room 'all' as it connects; publish: `io.to('all').emit('m', m)` on one node; receivers are socket.io-client with `transports: ['websocket']`, `forceNew`",
};

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A redis-server and three nodes of `lib` on it; resolves with the nodes (name, url) once each listens with its Redis link up. */
async function cluster(ctx, lib, config = {}) {
  const redis = ctx.track(await startRedis());
  const nodes = Array.from({ length: NODES }, (_, i) => {
    const name = `n${i + 1}`;
    const node = ctx.spawn(NODE, [lib, JSON.stringify({ redisUrl: redis.url, name, ...config })], [], `node ${name}`);
    node.name = name;
    return node;
  });
  const listening = await Promise.all(nodes.map((n) => n.next('listening', Math.min(15000, ctx.left()))));
  listening.forEach(({ port }, i) => (nodes[i].url = `ws://127.0.0.1:${port}`));
  return nodes;
}

/** cluster-fan-out: `clients` receivers over the three nodes, `n` publishes from the first node. */
function fanOutRun(lib, p, timeoutMs) {
  return measure(timeoutMs, async (ctx) => {
    const nodes = await cluster(ctx, lib);
    const urls = nodes.map((n) => n.url);
    const receivers = [];
    for (let i = 0, offset = 0; i < p.procs; i++) {
      const count = Math.floor(p.clients / p.procs) + (i < p.clients % p.procs ? 1 : 0);
      receivers.push(ctx.spawn(RECEIVER, [JSON.stringify({ kind: lib, urls, offset, count, step: p.step })], [], `receiver ${i + 1}`));
      offset += count;
    }
    await Promise.all(receivers.map((r) => r.next('connected', ctx.left())));
    const perNode = (k) => Math.floor(p.clients / NODES) + (k < p.clients % NODES ? 1 : 0);
    await Promise.all(nodes.map((n, k) => n.request({ cmd: 'wait', count: perNode(k), ms: Math.min(10000, ctx.left()) }, 'connected', ctx.left())));
    const [publisher] = nodes;
    // Warm-up markers until every client has one: every node's subscription is in place.
    const warmed = Promise.all(receivers.map((r) => r.next('warmed', ctx.left())));
    let warm = false;
    warmed.then(() => (warm = true), () => undefined);
    while (!warm && ctx.left() > 0) {
      publisher.proc.send({ cmd: 'warm' });
      await Promise.race([warmed, sleep(200)]);
    }
    await warmed;
    await Promise.all(nodes.map((n) => n.request({ cmd: 'baseline' }, 'baseline', ctx.left())));
    const dones = receivers.map((r) => r.next('done', ctx.left()));
    const sent = await publisher.request({ cmd: 'publish', n: p.n, batch: p.batch }, 'sent', ctx.left());
    const done = await Promise.all(dones);
    const reports = await Promise.all(nodes.map((n) => n.request({ cmd: 'report' }, 'report', ctx.left())));
    const received = sum(done.map((d) => d.received));
    const secs = (Math.max(...done.map((d) => d.lastAt)) - sent.t0) / 1000;
    return {
      ok: true,
      deliveriesPerSec: received / secs,
      deliveredPct: (100 * received) / (p.n * p.clients),
      cpuUsPerDelivery: sum(reports.map((r) => r.cpuUs)) / received,
      publisherCpuUsPerMsg: reports[0].cpuUs / p.n,
      dropped: lib === 'rxwire' ? sum(reports.map((r) => r.dropped)) : null,
      seconds: secs,
      loopMs: sent.loopMs,
      received,
    };
  });
}

/** cluster-resume: session clients all on the first node, which is SIGKILLed while they stream. */
function resumeRun(lib, p, timeoutMs) {
  return measure(timeoutMs, async (ctx) => {
    const nodes = await cluster(ctx, lib, { session: true });
    const client = ctx.spawn(RESUME_CLIENT, [JSON.stringify({ urls: nodes.map((n) => n.url), count: p.sessions, everyMs: p.everyMs })], [], 'session clients');
    await client.next('connected', ctx.left());
    await client.next('flowing', ctx.left());
    await sleep(Math.min(p.streamMs, ctx.left()));
    const [victim] = nodes;
    const resumed = client.next('resumed', ctx.left());
    const killedAt = wallClock();
    await victim.kill();
    client.proc.send({ cmd: 'killed', node: victim.name, killedAt });
    const { resumeMs, reopenMs } = await resumed;
    await sleep(Math.min(p.streamMs, ctx.left())); // the stream goes on through the other nodes
    const fin = await client.request({ cmd: 'finish', ms: Math.min(20000, ctx.left()) }, 'finished', ctx.left());
    return {
      ok: true,
      resumeMs: median(resumeMs),
      resumeMaxMs: Math.max(...resumeMs),
      reopenMs: median(reopenMs),
      sent: fin.sent,
      missing: fin.missing,
      missingSentMs: fin.missingAt, // when each unanswered message was sent, ms from the kill
      duplicates: fin.duplicates + fin.outOfOrder,
      lost: fin.rejected + fin.lost,
    };
  });
}

const CLUSTER_SCENARIOS = [
  {
    name: 'cluster-fan-out',
    side: 'server',
    title: 'Cross-node fan-out through Redis (three nodes, one publishes)',
    libs: ['rxwire', 'socket.io'],
    baseline: 'socket.io',
    full: { clients: 300, procs: 3, step: 50, n: 2000, batch: 10 },
    quick: { clients: 150, procs: 3, step: 50, n: 500, batch: 10 },
    timeoutMs: 120000,
    describe: (p) =>
      `a fresh redis-server on a free port and ${NODES} server processes on it; ${p.clients} clients in ${p.procs} receiver processes, spread evenly over the nodes, every client in topic/room 'all'; warm-up markers until every client has one; then one node publishes ${p.n.toLocaleString('en')} 64-byte JSON messages to 'all', ${p.batch} per macrotask, and an end marker; deliveries/s = data messages counted at the clients ÷ (last end marker's arrival − first publish); node CPU = the three nodes' CPU from the first publish until every client has the end marker, per delivery (Redis's own CPU not counted); publisher CPU per published message; everything (Redis, 3 nodes, receivers) shares the machine's cores`,
    metrics: [
      { key: 'deliveriesPerSec', label: 'deliveries/s', digits: 0 },
      { key: 'deliveredPct', label: 'delivered %', digits: 1 },
      { key: 'cpuUsPerDelivery', label: 'node CPU µs/delivery', digits: 2 },
      { key: 'publisherCpuUsPerMsg', label: 'publisher CPU µs/msg', digits: 0 },
    ],
    notes: CLUSTER_NOTES,
    primary: 'deliveriesPerSec',
    run: fanOutRun,
  },
  {
    name: 'cluster-resume',
    side: 'server',
    title: 'Session resume across nodes (a node SIGKILLed, its session clients resume on another)',
    libs: ['rxwire'],
    full: { sessions: 10, everyMs: 10, streamMs: 1000 },
    quick: { sessions: 5, everyMs: 10, streamMs: 500 },
    timeoutMs: 90000,
    describe: (p) =>
      `a fresh redis-server and ${NODES} rxwire nodes with \`session: { store: 'broker' }\`; ${p.sessions} session clients in one process (\`session: true\`, a URL function starting at the first node and rotating on each attempt, the shared reconnect schedule: first retry 100 ms after the drop), each sending a reliable { n } every ${p.everyMs} ms that its node answers with a reliable { n, node }; after ${p.streamMs / 1000} s of that, the first node is SIGKILLed; resume = from the kill to a client's first answer from another node (median over the clients; max = the last client); reopen = from the kill to the client's socket open on another node; the stream goes on ${p.streamMs / 1000} s more, then every answer is checked: unanswered, duplicated or out of order, and sends rejected or sessions lost. A request the killed node had received (its receipt resolved) but died before its answer was written ahead to Redis stays unanswered: the window docs/scaling.md describes (a node that dies while handling a message has not handled it), not a lost message`,
    metrics: [
      { key: 'resumeMs', label: 'kill → first resumed message ms', digits: 0 },
      { key: 'resumeMaxMs', label: 'last client resumed ms', digits: 0 },
      { key: 'reopenMs', label: 'kill → reopened ms', digits: 0 },
      { key: 'sent', label: 'reliable sent', digits: 0 },
      { key: 'missing', label: 'unanswered', digits: 0 },
      { key: 'duplicates', label: 'duplicated or reordered', digits: 0 },
      { key: 'lost', label: 'rejected or session lost', digits: 0 },
    ],
    notes: { rxwire: "three `listen({ port: 0, broker: redisBroker({ url }), session: { store: 'broker', resumeWindow: 30000 } })` from dist/cjs; each reliable { n } answered with `peer.send({ n, node })` (reliable, written ahead to Redis)" },
    primary: 'resumeMs',
    run: resumeRun,
  },
];

module.exports = { CLUSTER_SCENARIOS, CLUSTER_NOTES };
