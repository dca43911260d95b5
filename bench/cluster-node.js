'use strict';
// One node of the cluster scenarios: a WebSocket server of one library whose nodes reach each
// other through Redis, in a fresh process, driven over IPC by cluster-scenarios.js.
//
//   node bench/cluster-node.js <library> '{"redisUrl":"redis://127.0.0.1:1234","name":"n1"}'
//
// Libraries (CLUSTER_LIBS):
//   rxwire     `listen({ broker: redisBroker({ url }) })` from dist/cjs (rxwire/server, rxwire/redis);
//              every peer joins topic 'all'; publish = `server.publish('all', m)`. With
//              `session: true`, `session: { store: 'broker' }` and every reliable message { n }
//              from a peer is answered with a reliable { n, node }.
//   socket.io  `new Server(http, { transports: ['websocket'], adapter: createAdapter(pub, sub) })`
//              with @socket.io/redis-adapter on node-redis; every socket joins room 'all';
//              publish = `io.to('all').emit('m', m)`.
//
// IPC out: { type: 'listening', port } once it listens and its Redis link is up |
//          { type: 'connected', count } | { type: 'baseline' } | { type: 'sent', t0, loopMs } |
//          { type: 'report', cpuUs, dropped, count } |
//          { type: 'error', message }
// IPC in:  { cmd: 'wait', count, ms }      answer 'connected' once `count` clients are in
//          { cmd: 'warm' }                 publish one warm-up marker {"warm":1} to 'all'
//          { cmd: 'baseline' }             remember CPU used so far (answers 'baseline')
//          { cmd: 'publish', n, batch }    n messages, `batch` per macrotask, then {"end":n}
//          { cmd: 'report' }               CPU used since the baseline (µs), drops, connections

const http = require('node:http');
const { message, wallClock } = require('./common.js');
const { RXWIRE_SERVER_PATH, RXWIRE_REDIS_PATH } = require('./adapters.js');

const lib = process.argv[2];
const config = JSON.parse(process.argv[3] || '{}');
const { redisUrl, name = 'node', session = false, lifetimeMs = 300000 } = config;

process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), lifetimeMs).unref();
const report = (msg) => process.send && process.send(msg);
const fail = (err) => {
  report({ type: 'error', message: `${name} (${lib}): ${(err && err.message) || err}` });
  setTimeout(() => process.exit(4), 50);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const tick = () => new Promise((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------
// One adapter per library: { port, count(), publish(obj), dropped() }

async function rxwireNode() {
  const { listen } = require(RXWIRE_SERVER_PATH);
  const { redisBroker } = require(RXWIRE_REDIS_PATH);
  const broker = redisBroker({ url: redisUrl, logger: false });
  const server = listen({
    port: 0,
    broker,
    logger: false,
    // Room for a whole run per peer (socket.io's queues have no bound): drops would be counted, not hidden.
    buffer: { size: 20000, bytes: 16 * 2 ** 20, timeout: 60000 },
    ...(session ? { session: { store: 'broker', resumeWindow: 30000 } } : {}),
  });
  let dropped = 0;
  server.connections$.subscribe((peer) => {
    peer.join('all');
    peer.dropped$.subscribe(() => dropped++);
    peer.messages$.subscribe((m) => {
      if (session && m && typeof m.n === 'number') peer.send({ n: m.n, node: name }).catch(() => undefined);
    });
  });
  server.relayErrors$.subscribe((error) => fail(error));
  await server.ready;
  await new Promise((resolve, reject) => {
    const sub = broker.health$.subscribe(({ status }) => status === 'up' && (resolve(), queueMicrotask(() => sub.unsubscribe())));
    setTimeout(() => reject(new Error('Redis broker not up within 10 s')), 10000).unref();
  });
  return { port: server.port, count: () => server.peers.size, publish: (obj) => server.publish('all', obj), dropped: () => dropped };
}

async function socketIoNode() {
  const { Server } = require('socket.io');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const { createClient } = require('redis');
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) client.on('error', (error) => fail(error));
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, adapter: createAdapter(pub, sub) });
  io.on('connection', (socket) => {
    socket.join('all');
    socket.on('m', () => {});
  });
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ port: 0, host: '127.0.0.1' }, resolve);
  });
  return { port: httpServer.address().port, count: () => io.engine.clientsCount, publish: (obj) => io.to('all').emit('m', obj), dropped: () => null };
}

const NODES = { rxwire: rxwireNode, 'socket.io': socketIoNode };

// ---------------------------------------------------------------------------------------------

async function main() {
  const make = NODES[lib];
  if (!make) throw new Error(`unknown cluster library ${lib}`);
  const node = await make();
  let cpu0 = null;
  process.on('message', async (msg) => {
    try {
      if (!msg) return;
      if (msg.cmd === 'wait') {
        const stopAt = Date.now() + msg.ms;
        while (node.count() < msg.count && Date.now() < stopAt) await new Promise((r) => setTimeout(r, 20));
        if (node.count() < msg.count) throw new Error(`${node.count()} of ${msg.count} connections after ${msg.ms} ms`);
        report({ type: 'connected', count: node.count() });
      } else if (msg.cmd === 'warm') {
        node.publish({ warm: 1 });
      } else if (msg.cmd === 'baseline') {
        cpu0 = process.cpuUsage();
        report({ type: 'baseline' });
      } else if (msg.cmd === 'publish') {
        const t0 = wallClock();
        // Seqs from 100,000: every message is 64 bytes of JSON ({"seq":123456,"pad":"x…"}).
        for (let i = 0; i < msg.n; ) {
          const end = Math.min(msg.n, i + msg.batch);
          for (; i < end; i++) node.publish(message(100000 + i));
          await tick();
        }
        node.publish({ end: msg.n });
        report({ type: 'sent', t0, loopMs: wallClock() - t0 });
      } else if (msg.cmd === 'report') {
        const cpu = process.cpuUsage(cpu0 || undefined);
        report({ type: 'report', cpuUs: cpu.user + cpu.system, dropped: node.dropped(), count: node.count() });
      }
    } catch (err) {
      fail(err);
    }
  });
  report({ type: 'listening', port: node.port });
}

main().catch(fail);
