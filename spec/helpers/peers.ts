import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { WebSocket, WebSocketServer, type ServerOptions } from 'ws';
import { onDispose } from './dispose';
import { poke, waitFor } from './wait';

/**
 * Real peers for the lifecycle specs, each on 127.0.0.1 and a port chosen by the system, each
 * disposed by the registry in `afterEach`: a `ws` server that records what every connection saw
 * (request, messages, pings, close code), and a raw TCP server that does (or never does) the
 * handshake by hand and can stay half-open. `rxwire/testing` (lib/testing) has the fault proxy
 * and a frame-level raw peer; these cover what it does not expose: the TCP side of a handshake
 * that never completes, and a peer that ignores the client's FIN.
 */

/** One server-side connection of a {@link WsPeer}. */
export interface WsConnection {
  /** 1 = the first connection this server accepted. */
  readonly index: number;
  readonly ws: WebSocket;
  readonly request: IncomingMessage;
  /** Text messages received, in order. */
  readonly messages: string[];
  /** Ping frames received. */
  pings: number;
  /** The close code and reason as the server saw them; set once closed. */
  close: { code: number; reason: string } | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;
}

export interface WsPeer {
  readonly port: number;
  readonly url: string;
  readonly connections: readonly WsConnection[];
  /** The `n`-th connection (1-based), now or when it arrives. */
  connection(n: number, within?: number): Promise<WsConnection>;
  /** Connections not closed yet. */
  openCount(): number;
  /** Terminates every connection and stops listening (the port is kept for `start()`). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export interface WsPeerOptions {
  /** Called for each connection, after it is recorded. */
  onConnection?: (conn: WsConnection) => void;
  /** Passed to `WebSocketServer` (for example `verifyClient`, `autoPong`). */
  wsOptions?: Omit<ServerOptions, 'host' | 'port' | 'server' | 'noServer'>;
}

/** A `ws` server on 127.0.0.1 port 0. */
export async function startWsPeer(options: WsPeerOptions = {}): Promise<WsPeer> {
  const connections: WsConnection[] = [];
  let wss: WebSocketServer | undefined;
  let port = 0;

  const listen = async (): Promise<void> => {
    const server = new WebSocketServer({ ...options.wsOptions, host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('error', () => undefined);
    server.on('connection', (ws, request) => {
      ws.on('error', () => undefined); // faulty clients are what these tests are about
      let settle!: (close: { code: number; reason: string }) => void;
      const conn: WsConnection = {
        index: connections.length + 1,
        ws,
        request,
        messages: [],
        pings: 0,
        close: undefined,
        closed: new Promise((resolve) => (settle = resolve)),
      };
      ws.on('message', (data, isBinary) => {
        if (!isBinary) conn.messages.push(data.toString());
        poke();
      });
      ws.on('ping', () => {
        conn.pings++;
        poke();
      });
      ws.on('close', (code, reason) => {
        conn.close = { code, reason: reason.toString() };
        settle(conn.close);
        poke();
      });
      connections.push(conn);
      options.onConnection?.(conn);
      poke();
    });
    wss = server;
    port = (server.address() as AddressInfo).port;
  };

  const stop = async (): Promise<void> => {
    const server = wss;
    wss = undefined;
    if (!server) return;
    const open = connections.filter((c) => c.close === undefined);
    for (const c of open) c.ws.terminate();
    await Promise.all(open.map((c) => c.closed));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  await listen();
  onDispose(stop);
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    connections,
    connection: (n, within) => waitFor(() => connections[n - 1], `server connection #${n}`, within),
    openCount: () => connections.filter((c) => c.close === undefined).length,
    stop,
    start: listen,
  };
}

/** One TCP connection of a {@link RawPeer}. */
export interface RawConnection {
  readonly index: number;
  readonly socket: Socket;
  /** Bytes received after the handshake (all bytes, with `handshake: false`). */
  received: Buffer;
  /** Whether the client ended its side (FIN) or the socket is closed. */
  ended: boolean;
  /** Whether the TCP socket is closed. */
  isClosed: boolean;
  readonly closed: Promise<void>;
  /** Writes raw bytes if the socket is still writable. */
  write(bytes: Uint8Array): void;
}

export interface RawPeer {
  readonly port: number;
  readonly url: string;
  readonly connections: readonly RawConnection[];
  connection(n: number, within?: number): Promise<RawConnection>;
  openCount(): number;
}

export interface RawPeerOptions {
  /** Answer the opening handshake with a valid 101; `false`: read the request, never answer. */
  handshake: boolean;
  /**
   * Keep the TCP connection half-open when the client ends its side (a peer that never finishes
   * the closing handshake); otherwise Node ends ours in reply.
   * @default false
   */
  allowHalfOpen?: boolean;
  /** Called once the handshake is answered. */
  onOpen?: (conn: RawConnection) => void;
}

/**
 * A TCP server that speaks WebSocket by hand: it swallows whatever the client sends, answers
 * nothing (no pong, no close frame) and lets the test write any bytes.
 */
export async function startRawPeer(options: RawPeerOptions): Promise<RawPeer> {
  const connections: RawConnection[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: options.allowHalfOpen ?? false }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let head = Buffer.alloc(0);
    let opened = false;
    const conn: RawConnection = {
      index: connections.length + 1,
      socket,
      received: Buffer.alloc(0),
      ended: false,
      isClosed: false,
      closed: new Promise<void>((resolve) =>
        socket.once('close', () => {
          sockets.delete(socket);
          conn.ended = conn.isClosed = true;
          resolve();
          poke();
        }),
      ),
      write: (bytes) => void (socket.writable && socket.write(bytes)),
    };
    connections.push(conn);
    socket.on('end', () => void ((conn.ended = true), poke()));
    socket.on('data', (chunk: Buffer) => {
      if (opened || !options.handshake) {
        conn.received = Buffer.concat([conn.received, chunk]);
        return poke();
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? '';
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      opened = true;
      conn.received = head.subarray(end + 4);
      options.onOpen?.(conn);
      poke();
    });
    poke();
  });
  await listen(server);
  const { port } = server.address() as AddressInfo;
  onDispose(() => closeServer(server, sockets));
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    connections,
    connection: (n, within) => waitFor(() => connections[n - 1], `raw connection #${n}`, within),
    openCount: () => connections.filter((c) => !c.isClosed).length,
  };
}

/** A port on 127.0.0.1 where nothing listens (connections are refused). */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await listen(server);
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

async function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const all = [...sockets].map((socket) => new Promise((resolve) => (socket.destroyed ? resolve(undefined) : socket.once('close', resolve))));
  for (const socket of sockets) socket.destroy();
  await Promise.all([closed, ...all]);
}
