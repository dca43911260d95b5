'use strict';
// Receivers for the server-side scenarios: one process holding many clients of one kind against
// the server under test. Forked by server-scenarios.js:
//
//   node bench/receiver.js '{"kind":"ws","url":"ws://127.0.0.1:1234","count":250,"step":50}'
//
// kind: 'ws' (plain `ws` clients, each message JSON.parse'd), 'socket.io' (socket.io-client with
// `transports: ['websocket']`, one Manager per client: forceNew) or 'rxwire' (rxwire's connect()
// from the build, reconnect off, `messages$`). With `stall: true` (kind 'ws'
// only) the clients (for the slow-client scenario: one) stop reading once open: the TCP socket
// under the `ws` client is paused, so the server's writes pile up behind a full receive window.
// With `urls` instead of `url` (the cluster scenarios), client i of this process connects to
// urls[(offset + i) % urls.length]: the clients of all processes spread evenly over the nodes.
//
// IPC out: { type: 'connected', count } once every client is open; { type: 'warmed' } once every
// client has seen a warm-up marker ({"warm":1}, not counted); { type: 'done', received, lastAt }
// once every client has seen the end marker ({"end":n}); { type: 'error', message }.
// IPC in: { cmd: 'exit' }. Exits with the orchestrator and after `lifetimeMs`.

const { wallClock } = require('./common.js');
const { loadRxwire } = require('./adapters.js');

const p = JSON.parse(process.argv[2] || '{}');
const { kind, url, urls = [url], offset = 0, count, step = 50, stall = false, lifetimeMs = 120000 } = p;

process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), lifetimeMs).unref();
const report = (msg) => process.send && process.send(msg);
const fail = (err) => {
  report({ type: 'error', message: `receiver: ${(err && err.message) || err}` });
  setTimeout(() => process.exit(1), 50);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
process.on('message', (msg) => msg && msg.cmd === 'exit' && process.exit(0));

let received = 0;
let ended = 0;
let lastAt = 0;
let warmed = 0;
const clients = [];

/** Counts a data message; the end marker finishes this client; the first warm-up marker warms it. */
function onMessage(m, client) {
  if (m && m.warm) {
    if (!client.warm) {
      client.warm = true;
      if (++warmed === count) report({ type: 'warmed' });
    }
    return;
  }
  if (m && typeof m.end === 'number') {
    ended++;
    lastAt = wallClock();
    if (ended === count) report({ type: 'done', received, lastAt });
    return;
  }
  received++;
}

function openWs(target, onOpen, onDown, onMessage) {
  const WebSocket = require('ws');
  const ws = new WebSocket(target);
  ws.on('error', (err) => onDown(err));
  ws.on('close', () => onDown(new Error('closed')));
  ws.on('open', () => {
    if (stall) ws._socket.pause(); // reads nothing more: the receive window fills
    onOpen();
  });
  if (!stall) ws.on('message', (data) => onMessage(JSON.parse(data)));
  return ws;
}

function openSocketIo(target, onOpen, onDown, onMessage) {
  const { io } = require('socket.io-client');
  const socket = io(target, { transports: ['websocket'], forceNew: true, reconnection: false });
  socket.on('connect', onOpen);
  socket.on('connect_error', (err) => onDown(err));
  socket.on('disconnect', (reason) => onDown(new Error(reason)));
  socket.on('m', onMessage);
  return socket;
}

function openRxwire(target, onOpen, onDown, onMessage) {
  const mod = loadRxwire();
  if (mod instanceof Error) throw mod;
  const socket = mod.connect(target, { reconnect: false, logger: false });
  socket.messages$.subscribe({ next: onMessage, error: (err) => onDown(err) });
  socket.opened({ timeout: 30000 }).then(onOpen, onDown);
  return socket;
}

const OPENERS = { ws: openWs, 'socket.io': openSocketIo, rxwire: openRxwire };
const open = stall ? (kind === 'ws' ? openWs : null) : OPENERS[kind] || null;
if (!open) fail(`unknown kind ${kind}${stall ? ' (stalled)' : ''}`);

async function main() {
  for (let i = 0; i < count; i += step) {
    const opens = [];
    for (let j = i; j < Math.min(count, i + step); j++) {
      opens.push(
        new Promise((resolve, reject) => {
          let isOpen = false;
          const client = { warm: false };
          clients.push(client);
          client.socket = open(
            urls[(offset + j) % urls.length],
            () => {
              isOpen = true;
              resolve();
            },
            (err) => {
              if (!isOpen) reject(err); // a drop after open shows as a missing end marker
            },
            (m) => onMessage(m, client),
          );
        }),
      );
    }
    await Promise.all(opens);
  }
  report({ type: 'connected', count });
}

main().catch(fail);
