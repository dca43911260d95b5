'use strict';
// Receivers for the server-side scenarios: one process holding many clients of one kind against
// the server under test. Forked by server-scenarios.js:
//
//   node bench/receiver.js '{"kind":"ws","url":"ws://127.0.0.1:1234","count":250,"step":50}'
//
// kind: 'ws' (plain `ws` clients, each message JSON.parse'd) or 'socket.io' (socket.io-client with
// `transports: ['websocket']`, one Manager per client: forceNew). With `stall: true` (kind 'ws'
// only) the clients (for the slow-client scenario: one) stop reading once open: the TCP socket
// under the `ws` client is paused, so the server's writes pile up behind a full receive window.
//
// IPC out: { type: 'connected', count } once every client is open; { type: 'done', received,
// lastAt } once every client has seen the end marker ({"end":n}); { type: 'error', message }.
// IPC in: { cmd: 'exit' }. Exits with the orchestrator and after `lifetimeMs`.

const { wallClock } = require('./common.js');

const p = JSON.parse(process.argv[2] || '{}');
const { kind, url, count, step = 50, stall = false, lifetimeMs = 120000 } = p;

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
const clients = [];

/** Counts a data message; the end marker finishes this client. */
function onMessage(m) {
  if (m && typeof m.end === 'number') {
    ended++;
    lastAt = wallClock();
    if (ended === count) report({ type: 'done', received, lastAt });
    return;
  }
  received++;
}

function openWs(onOpen, onDown) {
  const WebSocket = require('ws');
  const ws = new WebSocket(url);
  ws.on('error', (err) => onDown(err));
  ws.on('close', () => onDown(new Error('closed')));
  ws.on('open', () => {
    if (stall) ws._socket.pause(); // reads nothing more: the receive window fills
    onOpen();
  });
  if (!stall) ws.on('message', (data) => onMessage(JSON.parse(data)));
  return ws;
}

function openSocketIo(onOpen, onDown) {
  const { io } = require('socket.io-client');
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  socket.on('connect', onOpen);
  socket.on('connect_error', (err) => onDown(err));
  socket.on('disconnect', (reason) => onDown(new Error(reason)));
  socket.on('m', onMessage);
  return socket;
}

const open = kind === 'ws' ? openWs : kind === 'socket.io' && !stall ? openSocketIo : null;
if (!open) fail(`unknown kind ${kind}${stall ? ' (stalled)' : ''}`);

async function main() {
  for (let i = 0; i < count; i += step) {
    const opens = [];
    for (let j = i; j < Math.min(count, i + step); j++) {
      opens.push(
        new Promise((resolve, reject) => {
          let isOpen = false;
          clients.push(
            open(
              () => {
                isOpen = true;
                resolve();
              },
              (err) => {
                if (!isOpen) reject(err); // a drop after open shows as a missing end marker
              },
            ),
          );
        }),
      );
    }
    await Promise.all(opens);
  }
  report({ type: 'connected', count });
}

main().catch(fail);
