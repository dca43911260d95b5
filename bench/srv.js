'use strict';
// The server under test, for the server-side scenarios: one library's WebSocket server in a fresh
// process (node --expose-gc), driven over IPC by server-scenarios.js. Unlike server.js (the fixed
// `ws` peer of the client scenarios), this process is the one measured.
//
//   node --expose-gc bench/srv.js <library> '{"heartbeat":{"interval":1000,"timeout":500}}'
//
// Libraries (SERVER_LIBS):
//   ws         a `ws` WebSocketServer on its own http server; broadcast = JSON.stringify once, then
//              `client.send(data)` over `wss.clients`; heartbeat = the ws README's ping interval
//   rxwire     `listen()` from rxwire/server (dist/cjs/server); broadcast = `server.broadcast(m)`;
//              heartbeat = its shared timer (option `heartbeat`, else its default)
//   socket.io  `new Server(http, { transports: ['websocket'] })`; broadcast = `io.emit('m', m)`;
//              heartbeat = engine.io's ping (pingInterval / pingTimeout)
// Every server subscribes to each connection's incoming messages, as an application would.
//
// IPC out: { type: 'listening', port } | { type: 'connected', count } | { type: 'sent', t0 } |
//          { type: 'report', ... } | { type: 'error', message }
// IPC in:  { cmd: 'wait', count, ms }   answer 'connected' once `count` clients are in (or error)
//          { cmd: 'baseline' }          GC, remember memory and CPU (answers { type: 'baseline' })
//          { cmd: 'broadcast', n, batch } n messages, `batch` per macrotask, then {"end":n}
//          { cmd: 'report' }            GC, answer with CPU, memory and connection counts

const http = require('node:http');
const { message, wallClock } = require('./common.js');
const { RXWIRE_SERVER_PATH } = require('./adapters.js');

const lib = process.argv[2];
const config = JSON.parse(process.argv[3] || '{}');
const { heartbeat = null, lifetimeMs = 300000 } = config;

process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), lifetimeMs).unref();
const report = (msg) => process.send && process.send(msg);
const fail = (err) => {
  report({ type: 'error', message: `server ${lib}: ${(err && err.message) || err}` });
  setTimeout(() => process.exit(4), 50);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const tick = () => new Promise((resolve) => setImmediate(resolve));
async function collectGarbage() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await tick();
  }
}

// ---------------------------------------------------------------------------------------------
// One adapter per library: { port (after ready), ready, count(), broadcast(obj), dropped(), closes() }

async function wsServer() {
  const { WebSocketServer } = require('ws');
  const httpServer = http.createServer((req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server: httpServer });
  let closes = 0;
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', () => {});
    ws.on('close', () => closes++);
  });
  if (heartbeat) {
    // The ws README's recipe: one interval over every client; no pong since the last ping: terminate.
    wss.on('connection', (ws) => {
      ws.isAlive = true;
      ws.on('pong', () => {
        ws.isAlive = true;
      });
    });
    const interval = setInterval(() => {
      for (const ws of wss.clients) {
        if (ws.isAlive === false) {
          ws.terminate();
          continue;
        }
        ws.isAlive = false;
        ws.ping();
      }
    }, heartbeat.interval);
    wss.on('close', () => clearInterval(interval));
  }
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ port: 0, host: '127.0.0.1' }, resolve);
  });
  return {
    port: httpServer.address().port,
    count: () => wss.clients.size,
    broadcast: (obj) => {
      const data = JSON.stringify(obj); // serialized once
      for (const client of wss.clients) client.send(data);
    },
    dropped: () => null,
    closes: () => closes,
  };
}

async function rxwireServer() {
  const { listen } = require(RXWIRE_SERVER_PATH);
  const server = listen({ port: 0, ...(heartbeat ? { heartbeat } : {}) });
  let dropped = 0;
  let closes = 0;
  server.connections$.subscribe((peer) => {
    peer.messages$.subscribe();
    peer.dropped$.subscribe(() => dropped++);
    peer.closed.then(() => closes++);
  });
  await server.ready;
  return {
    port: server.port,
    count: () => server.peers.size,
    broadcast: (obj) => server.broadcast(obj),
    dropped: () => dropped,
    closes: () => closes,
  };
}

async function socketIoServer() {
  const { Server } = require('socket.io');
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    transports: ['websocket'],
    serveClient: false,
    ...(heartbeat ? { pingInterval: heartbeat.interval, pingTimeout: heartbeat.timeout } : {}),
  });
  let closes = 0;
  io.on('connection', (socket) => {
    socket.on('m', () => {});
    socket.on('disconnect', () => closes++);
  });
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ port: 0, host: '127.0.0.1' }, resolve);
  });
  return {
    port: httpServer.address().port,
    count: () => io.engine.clientsCount,
    broadcast: (obj) => io.emit('m', obj),
    dropped: () => null,
    closes: () => closes,
  };
}

const SERVERS = { ws: wsServer, rxwire: rxwireServer, 'socket.io': socketIoServer };

// ---------------------------------------------------------------------------------------------

async function main() {
  const make = SERVERS[lib];
  if (!make) throw new Error(`unknown server library ${lib}`);
  const s = await make();
  let base = null;
  let cpu0 = null;
  let peakHeap = 0;
  let sampler = null;

  process.on('message', async (msg) => {
    try {
      if (!msg) return;
      if (msg.cmd === 'wait') {
        const stopAt = Date.now() + msg.ms;
        while (s.count() < msg.count && Date.now() < stopAt) await new Promise((r) => setTimeout(r, 20));
        if (s.count() < msg.count) throw new Error(`${s.count()} of ${msg.count} connections after ${msg.ms} ms`);
        report({ type: 'connected', count: s.count() });
      } else if (msg.cmd === 'baseline') {
        await collectGarbage();
        base = process.memoryUsage();
        peakHeap = base.heapUsed;
        sampler = setInterval(() => {
          peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
        }, 50);
        cpu0 = process.cpuUsage();
        report({ type: 'baseline' });
      } else if (msg.cmd === 'broadcast') {
        const t0 = wallClock();
        // Seqs from 100,000: every message is 64 bytes of JSON ({"seq":123456,"pad":"x…"}).
        for (let i = 0; i < msg.n; ) {
          const end = Math.min(msg.n, i + msg.batch);
          for (; i < end; i++) s.broadcast(message(100000 + i));
          await tick();
        }
        s.broadcast({ end: msg.n });
        report({ type: 'sent', t0, loopMs: wallClock() - t0 });
      } else if (msg.cmd === 'report') {
        const cpu = cpu0 ? process.cpuUsage(cpu0) : null;
        if (sampler) clearInterval(sampler);
        const before = process.memoryUsage();
        await collectGarbage();
        const after = process.memoryUsage();
        report({
          type: 'report',
          cpuUs: cpu ? cpu.user + cpu.system : null,
          base,
          beforeGc: before,
          after,
          peakHeap,
          peakRssMB: process.resourceUsage().maxRSS / 1024,
          count: s.count(),
          closes: s.closes(),
          dropped: s.dropped(),
        });
      }
    } catch (err) {
      fail(err);
    }
  });
  report({ type: 'listening', port: s.port });
}

main().catch(fail);
