'use strict';
// Benchmark server: one `ws` server on 127.0.0.1 in its own process, so its CPU is not charged to
// the client being measured. Started by run.js with fork(); reports `{ type: 'listening', port,
// at }` over IPC (with `deferListen`: `{ type: 'ready' }` first, and listens on `{ cmd: 'listen' }`)
// and answers `{ cmd: 'report' }` with `{ type: 'report', ... }`.
//
//   node bench/server.js '{"mode":"sink","port":0,"n":200000}'
//
// Modes:
//   sink     count incoming messages per connection; at `warm` send `{"warm":warm}`, at n send
//            `{"done":n}` to that connection
//   push     on `{"start":k}` push k ~64-byte messages in corked batches, waiting for 'drain'
//            when the socket holds more than 1 MiB
//   echo     send every text message back as it came
//   hello    on each connection send `{"hello":gen,"listenAt":<epoch ms>}` (reconnect timing)
//   collect  parse every message, check `seq` order across connections; `complete` over IPC at n
//   idle     accept and hold; `ws` answers pings with pongs by itself

const { WebSocketServer } = require('ws');
const { wallClock, pad64 } = require('./common.js');

const config = JSON.parse(process.argv[2] || '{}');
const { mode = 'sink', port = 0, n = 0, warm = 0, gen = 1, lifetimeMs = 120000 } = config;

// Never outlive the orchestrator: exit when the IPC channel goes, and after a hard lifetime.
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), lifetimeMs).unref();

const PUSH_BATCH = 1000;
const PUSH_HIGH_WATER = 1 << 20;

const stats = {
  connections: 0,
  received: 0,
  inOrder: true,
  duplicates: 0,
  lastSeq: -1,
  firstArrivalAt: 0,
  seen: null,
};
if (mode === 'collect') stats.seen = new Uint8Array(n);

// An http server of our own so that listening can wait for the orchestrator's `{ cmd: 'listen' }`
// (deferListen): the restart instant then does not include Node's start-up time.
const http = require('node:http');
const httpServer = http.createServer((req, res) => res.writeHead(426).end());
const wss = new WebSocketServer({ server: httpServer, clientTracking: false });
const onError = (err) => {
  send({ type: 'error', message: `server: ${err.message}` });
  process.exit(4);
};
httpServer.on('error', onError);
wss.on('error', onError);

let listenedAt = 0;
const listen = () =>
  httpServer.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
    listenedAt = wallClock();
    send({ type: 'listening', port: httpServer.address().port, at: listenedAt });
  });
if (config.deferListen) send({ type: 'ready' });
else listen();

wss.on('connection', (ws, req) => {
  stats.connections++;
  ws.on('error', () => {}); // a peer reset is expected in reconnect and kill scenarios
  const socket = req.socket;
  switch (mode) {
    case 'sink': {
      let count = 0;
      ws.on('message', () => {
        count++;
        if (count === warm) ws.send(JSON.stringify({ warm }));
        if (count === n) ws.send(JSON.stringify({ done: n }));
      });
      break;
    }
    case 'push':
      ws.on('message', (data) => {
        const { start } = JSON.parse(data);
        if (Number.isInteger(start) && start > 0) push(ws, socket, start);
      });
      break;
    case 'echo':
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      break;
    case 'hello':
      ws.send(JSON.stringify({ hello: gen, listenAt: listenedAt }));
      break;
    case 'collect':
      ws.on('message', (data) => collect(data));
      break;
    case 'idle':
      break;
    default:
      send({ type: 'error', message: `server: unknown mode ${mode}` });
      process.exit(4);
  }
});

// Batches of PUSH_BATCH frames under one cork (one write to the kernel), uncorked on nextTick as
// the ws docs advise; between batches yield, and above the high-water mark wait for 'drain'.
function push(ws, socket, count) {
  let i = 0;
  const pump = () => {
    if (ws.readyState !== ws.OPEN) return;
    socket.cork();
    const end = Math.min(count, i + PUSH_BATCH);
    for (; i < end; i++) ws.send(pad64(i));
    process.nextTick(() => socket.uncork());
    if (i >= count) return;
    setImmediate(() => {
      if (ws.bufferedAmount > PUSH_HIGH_WATER) socket.once('drain', pump);
      else pump();
    });
  };
  pump();
}

function collect(data) {
  let seq;
  try {
    seq = JSON.parse(data).seq;
  } catch {
    return;
  }
  if (typeof seq !== 'number') return;
  if (stats.received === 0) stats.firstArrivalAt = wallClock();
  stats.received++;
  if (seq <= stats.lastSeq) stats.inOrder = false;
  stats.lastSeq = seq;
  if (seq >= 0 && seq < n) {
    if (stats.seen[seq]) stats.duplicates++;
    stats.seen[seq] = 1;
  }
  if (stats.received === n) send({ type: 'complete' });
}

process.on('message', (msg) => {
  if (msg && msg.cmd === 'listen' && !httpServer.listening) listen();
  if (msg && msg.cmd === 'report') {
    const distinct = stats.seen ? stats.seen.reduce((a, b) => a + b, 0) : stats.received;
    send({
      type: 'report',
      connections: stats.connections,
      received: stats.received,
      distinct,
      duplicates: stats.duplicates,
      inOrder: stats.received > 0 ? stats.inOrder : null,
      firstArrivalAfterListenMs: stats.firstArrivalAt ? stats.firstArrivalAt - listenedAt : null,
    });
  }
});

function send(msg) {
  if (process.send) process.send(msg);
  else process.stdout.write(JSON.stringify(msg) + '\n');
}
