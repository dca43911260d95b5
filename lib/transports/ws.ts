import type { SchedulerLike } from 'rxjs';
import { useNativeUtf8Length, type WireData } from '../core/codec.js';
import { OPEN, type Listen, type SocketEvents, type Transport, type WebSocketLike } from '../core/transport.js';
import { listenToDom, nativeTransport, pollDrain } from './native.js';
import { closeCodeOfProtocolError } from './ws-errors.js';

// Node's native UTF-8 count for the byte bounds (the browser build counts in JS).
useNativeUtf8Length((text) => Buffer.byteLength(text, 'utf8'));

/** The `net.Socket` under a `ws` socket. */
export interface TcpSocket {
  cork(): void;
  uncork(): void;
  readonly writableNeedDrain: boolean;
  once(event: 'drain' | 'finish', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

interface WsSocket extends WebSocketLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
  ping(): void;
  terminate(): void;
}

/**
 * `ws`'s own event API (Node): no event objects on the message path, the TCP socket from the
 * public `'upgrade'` event (to cork writes and wait for `'drain'`), pongs, and the HTTP status of
 * a refused upgrade. Sockets without it (Node's global WebSocket) get the standard API.
 */
export function listenToWs(socket: WebSocketLike, on: SocketEvents, scheduler: SchedulerLike): void {
  const ws = socket as WsSocket;
  if (typeof ws.on !== 'function') return listenToDom(socket, on, scheduler);
  let tcp: TcpSocket | undefined;
  // An 'error' listener on every ws: its error is kept as the close's cause.
  ws.on('error', (error: Error) => on.error(error, closeCodeOfProtocolError(error)));
  ws.on('upgrade', (res: { socket?: TcpSocket | null } | undefined) => {
    // Bun's `ws` has no TCP socket here: writes then go uncorked and drain is polled.
    const socket = res?.socket;
    if (!socket || typeof socket.once !== 'function' || typeof socket.cork !== 'function') return;
    tcp = socket;
    // ws ends its side only once both close frames are exchanged (or after a protocol error).
    socket.once('finish', () => on.ended());
  });
  ws.on('unexpected-response', (_req: unknown, res: { statusCode?: number; resume(): void }) => {
    on.status(res.statusCode);
    res.resume();
    ws.terminate();
  });
  ws.on('open', () => on.open(tcp ? wsTransport(ws, tcp, scheduler) : nativeTransport(ws, scheduler)));
  ws.on('message', (data: Buffer, isBinary: boolean) => on.message(isBinary ? data : data.toString()));
  ws.on('pong', () => on.pong());
  ws.on('close', (code: number, reason: Buffer) => on.close(code, reason.toString()));
}

/**
 * The adapter for a socket a `ws` server accepted: it is open already, so the transport is handed
 * over at once; `tcp` is the upgraded TCP socket (to cork writes and wait for `'drain'`).
 */
export function listenToAccepted(tcp: TcpSocket): Listen {
  return (socket, on, scheduler) => {
    const ws = socket as WsSocket;
    ws.on('error', (error: Error) => on.error(error, closeCodeOfProtocolError(error)));
    ws.on('message', (data: Buffer, isBinary: boolean) => on.message(isBinary ? data : data.toString()));
    ws.on('pong', () => on.pong());
    ws.on('close', (code: number, reason: Buffer) => on.close(code, reason.toString()));
    tcp.once('finish', () => on.ended());
    on.open(wsTransport(ws, tcp, scheduler));
  };
}

/**
 * A `ws` socket as a {@link Transport}. Writes in one tick (microtasks included) share one cork of
 * the TCP socket, so a burst, or a loop that awaits each send, leaves in a few large writes
 * rather than one syscall per message; a backed-up socket is waited for with `'drain'`.
 */
export function wsTransport(ws: WsSocket, tcp: TcpSocket, scheduler: SchedulerLike): Transport {
  return new WsTransport(ws, tcp, scheduler);
}

class WsTransport implements Transport {
  readonly #ws: WsSocket;
  readonly #tcp: TcpSocket;
  readonly #scheduler: SchedulerLike;
  #corked = false;

  /**
   * Ends a batch. On `process.nextTick`, not a microtask: a script's `await send()` loop runs in
   * microtasks, so the cork holds across its awaits until the loop yields (or the writer waits
   * for 'drain' past the high-water mark), and the loop's messages leave in a few large writes.
   */
  static #uncork(transport: WsTransport): void {
    transport.#corked = false;
    transport.#tcp.uncork();
  }

  constructor(ws: WsSocket, tcp: TcpSocket, scheduler: SchedulerLike) {
    this.#ws = ws;
    this.#tcp = tcp;
    this.#scheduler = scheduler;
  }

  isOpen(): boolean {
    return this.#ws.readyState === OPEN;
  }

  bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: WireData): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#tcp.cork();
      process.nextTick(WsTransport.#uncork, this);
    }
    this.#ws.send(data as string);
  }

  whenDrained(done: () => void): () => void {
    const tcp = this.#tcp;
    // Below the TCP socket's own mark no 'drain' comes: ws's bufferedAmount falls as it writes.
    if (!tcp.writableNeedDrain) return pollDrain(this.#scheduler, done);
    tcp.once('drain', done);
    return () => void tcp.removeListener('drain', done);
  }

  ping(): void {
    this.#ws.ping();
  }
}
