import { Worker } from 'node:worker_threads';
import { root } from '../child';

/**
 * The model test's server: a real `ws` server on 127.0.0.1 and a free port, run in a worker
 * thread so that it keeps its own event loop. A test that blocks the client's loop (a busy-wait
 * longer than the heartbeat timeout) then meets a server that is alive: it reads the ping and
 * answers the pong while the client is blocked, as a real server would. The in-process test
 * server and fault proxy would be blocked with the client, and every such stall would be a
 * genuine missed pong. Jest-free.
 *
 * It tags every message it sends with a unique sequence number `s` and its connection number
 * `c`, answers `{ t: 'req', id }` with `{ re: id }`, a channel's `{ t: 'sub', ch }` with
 * `{ ch }`, records every client message id and reports what RFC-level promises it saw broken
 * (an id received twice, a channel subscribed twice on one connection).
 */

/** The server's view, as `status()` returns it. */
export interface ServerStatus {
  /** Server-side sockets whose TCP connection is not closed yet. */
  readonly open: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** How many times each client message id arrived, across connections. */
  readonly received: ReadonlyArray<[number, number]>;
  /** Broken promises the server saw, since the last `reset()`. */
  readonly violations: readonly string[];
  /** The open sockets, described. */
  readonly detail: readonly string[];
}

export type ServerCommand =
  | { readonly cmd: 'push'; readonly n: number; readonly raw: boolean }
  | { readonly cmd: 'close'; readonly code: number }
  | { readonly cmd: 'down' }
  | { readonly cmd: 'up' }
  | { readonly cmd: 'rst' }
  | { readonly cmd: 'greet'; readonly n: number }
  | { readonly cmd: 'reset' }
  | { readonly cmd: 'status' };

// Plain CommonJS, evaluated in the worker; `ws` is resolved from the repository root.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { WebSocketServer } = require('node:module').createRequire(workerData.root + '/')('ws');

let accepting = true;
let greet = 0;
let seq = 0;
let connections = 0;
const conns = new Map();
let received = new Map();
let violations = [];

function frame(text) {
  const payload = Buffer.from(text);
  if (payload.length < 126) return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
  const head = Buffer.alloc(4);
  head[0] = 0x81;
  head[1] = 126;
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}
const tagged = (c, extra) => JSON.stringify({ s: ++seq, c, ...extra });
const send = (ws, c, extra) => ws.readyState === 1 && ws.send(tagged(c, extra));
const rst = (ws) => { const socket = ws._socket; if (socket && !socket.destroyed) socket.resetAndDestroy(); else ws.terminate(); };

const server = http.createServer((_req, res) => res.writeHead(426).end());
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => undefined);
  if (!accepting) return void socket.resetAndDestroy();
  // The 101 response and the greeting leave in one TCP write: the client reads them together.
  socket.cork();
  process.nextTick(() => socket.uncork());
  wss.handleUpgrade(req, socket, head, (ws) => {
    const c = ++connections;
    conns.set(c, ws);
    const channels = new Map();
    ws.on('error', () => undefined);
    ws.on('close', () => conns.delete(c));
    ws.on('message', (data) => {
      let m;
      try { m = JSON.parse(String(data)); } catch { return void violations.push('server got a message that is not JSON: ' + String(data)); }
      if (typeof m.id === 'number') {
        const n = (received.get(m.id) || 0) + 1;
        received.set(m.id, n);
        if (n === 2) violations.push('server received message id ' + m.id + ' twice (second time on connection ' + c + ')');
      }
      if (m.t === 'req') send(ws, c, { re: m.id });
      if (m.t === 'sub') {
        if (channels.get(m.ch)) violations.push('channel ' + m.ch + ' subscribed twice on connection ' + c + ' without an unsubscribe');
        channels.set(m.ch, true);
        send(ws, c, { ch: m.ch });
      }
      if (m.t === 'unsub') {
        if (!channels.get(m.ch)) violations.push('channel ' + m.ch + ' unsubscribed on connection ' + c + ' where it was not subscribed');
        channels.set(m.ch, false);
      }
    });
    // Written right after the 101 response, in the same tick: the client reads them together.
    for (let i = 0; i < greet; i++) send(ws, c, { g: i });
  });
});

const handlers = {
  push({ n, raw }) {
    for (const [c, ws] of conns) {
      if (ws.readyState !== 1) continue;
      if (raw) ws._socket.write(Buffer.concat(Array.from({ length: n }, () => frame(tagged(c, { p: 1 })))));
      else for (let i = 0; i < n; i++) send(ws, c, { p: 1 });
    }
  },
  close({ code }) { for (const ws of conns.values()) ws.close(code); },
  down() { accepting = false; for (const ws of conns.values()) rst(ws); },
  up() { accepting = true; },
  rst() { for (const ws of conns.values()) rst(ws); },
  greet({ n }) { greet = n; },
  reset() {
    accepting = true;
    greet = 0;
    for (const ws of conns.values()) ws.terminate();
    conns.clear();
    const broken = violations;
    violations = [];
    received = new Map();
    return { violations: broken };
  },
  status() {
    // Open at the TCP level: ws may keep a socket whose TCP connection is gone in CLOSING.
    const open = [...conns].filter(([, ws]) => ws._socket && !ws._socket.destroyed);
    const detail = open.map(([c, ws]) => '#' + c + ' readyState ' + ws.readyState + (ws._socket ? ' socket destroyed ' + ws._socket.destroyed : ' no socket'));
    return { open: open.length, connections, received: [...received], violations: [...violations], detail };
  },
};

parentPort.on('message', ({ id, command }) => {
  const result = handlers[command.cmd](command) || {};
  parentPort.postMessage({ id, result });
});

server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

export interface ModelServer {
  readonly url: string;
  call(command: ServerCommand): Promise<Partial<ServerStatus>>;
  status(): Promise<ServerStatus>;
  /** Closes every socket and the server, and ends the worker. */
  stop(): Promise<void>;
}

export async function startModelServer(): Promise<ModelServer> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { root } });
  const pending = new Map<number, (result: Partial<ServerStatus>) => void>();
  let nextId = 0;
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { port: number }) => resolve(message.port));
  });
  worker.on('message', (message: { id: number; result: Partial<ServerStatus> }) => {
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  const send = (command: ServerCommand): Promise<Partial<ServerStatus>> =>
    new Promise((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      worker.postMessage({ id, command });
    });
  return {
    url: `ws://127.0.0.1:${port}/`,
    call: send,
    status: () => send({ cmd: 'status' }) as Promise<ServerStatus>,
    async stop() {
      // Ending the worker closes its server and every socket it holds.
      await worker.terminate();
    },
  };
}
