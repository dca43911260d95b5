'use strict';
// The server of the session scenarios: rxwire's `listen()` (the built rxwire/server), sessions on,
// attached to an http server of its own on 127.0.0.1 in its own process, so that plain, volatile
// and reliable clients meet the same server on the same link. Started by proc.js's startServer
// with `script`; speaks its IPC: `{ type: 'listening', port, at }` out; `{ cmd: 'report' }` in,
// answered with the counts below.
//
//   node bench/session-server.js '{"mode":"sink","n":220000,"warm":20000}'
//
// Modes (n counts the warm-up messages too):
//   sink   count what arrives on each peer's messages$; at `warm` answer `{"warm":warm}`, at `n`
//          `{"done":n,"cpuUs":…}` (cpuUs: this process's CPU from the warm-th message to the
//          n-th), both volatile (the class every peer has)
//   echo   send every message back with peer.send in the class `delivery` (plain peers: none)
//
// The timed window runs from the first timed message to the last (echo: its echo written). Within it,
// frame-tap.js counts the frames on the socket each way, below rxwire: acknowledgement frames
// (text, `A<n>`) apart, with the shortest gap between two of one direction.

const http = require('node:http');
const { listen } = require(require('./adapters.js').RXWIRE_SERVER_PATH);
const { wallClock } = require('./common.js');
const { tapServer } = require('./frame-tap.js');

const config = JSON.parse(process.argv[2] || '{}');
const { mode = 'sink', n = 0, warm = 0, delivery = null, session = true, lifetimeMs = 120000 } = config;

process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), lifetimeMs).unref();
const send = (msg) => process.send && process.send(msg);
const fail = (err) => {
  send({ type: 'error', message: `session server: ${(err && err.message) || err}` });
  setTimeout(() => process.exit(4), 50);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const VOLATILE = { delivery: 'volatile' };
const stats = { connections: 0, received: 0, dropped: 0, errors: 0, lastError: null, window: null };

// Frames each way on the wire; `A` frames apart, with the time of the last and the shortest gap.
const A = 0x41;
const TEXT = 1;
const newWire = () => ({ at: process.hrtime.bigint(), cpu: process.cpuUsage(), in: newWay(), out: newWay() });
const newWay = () => ({ frames: 0, acks: 0, first: 0n, last: 0n, minGapNs: null });
let wire = newWire();
const wireCounts = () => {
  const way = (w) => ({
    frames: w.frames,
    acks: w.acks,
    spanMs: w.acks > 1 ? Number(w.last - w.first) / 1e6 : null, // first A frame to last
    minGapMs: w.minGapNs === null ? null : Number(w.minGapNs) / 1e6,
  });
  const cpu = process.cpuUsage(wire.cpu);
  return { ms: Number(process.hrtime.bigint() - wire.at) / 1e6, cpuUs: cpu.user + cpu.system, in: way(wire.in), out: way(wire.out) };
};

const httpServer = http.createServer((_request, response) => response.writeHead(426).end());
tapServer(httpServer, (direction, opcode, first) => {
  const way = wire[direction];
  if (opcode !== TEXT || first !== A) return void way.frames++;
  const at = process.hrtime.bigint();
  if (way.last !== 0n && (way.minGapNs === null || at - way.last < way.minGapNs)) way.minGapNs = at - way.last;
  if (way.first === 0n) way.first = at;
  way.last = at;
  way.acks++;
});
httpServer.listen({ port: 0, host: '127.0.0.1' });
const server = listen({ server: httpServer, session });

server.connections$.subscribe((peer) => {
  stats.connections++;
  peer.dropped$.subscribe(() => stats.dropped++);
  peer.errors$.subscribe((err) => {
    stats.errors++;
    stats.lastError = err.message;
  });
  if (mode === 'sink') {
    let count = 0;
    let cpu0 = process.cpuUsage();
    peer.messages$.subscribe(() => {
      count++;
      stats.received++;
      if (count === warm + 1) wire = newWire();
      if (count === warm) {
        cpu0 = process.cpuUsage();
        void peer.send({ warm }, VOLATILE);
      }
      if (count === n) {
        stats.window = wireCounts();
        const cpu = process.cpuUsage(cpu0);
        void peer.send({ done: n, cpuUs: cpu.user + cpu.system }, VOLATILE);
      }
    });
  } else if (mode === 'echo') {
    const options = delivery && peer.sessionId !== undefined ? { delivery } : undefined;
    let count = 0;
    peer.messages$.subscribe((m) => {
      stats.received++;
      if (++count === warm + 1) wire = newWire();
      peer.send(m, options).catch(() => undefined); // a drop is counted on dropped$
      if (count === n) stats.window = wireCounts();
    });
  } else {
    fail(`unknown mode ${mode}`);
  }
});

httpServer.once('listening', () => send({ type: 'listening', port: httpServer.address().port, at: wallClock() }));
httpServer.once('error', fail);

process.on('message', (msg) => {
  if (msg && msg.cmd === 'report') send({ type: 'report', ...stats });
});
