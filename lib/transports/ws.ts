import type { SchedulerLike } from 'rxjs';
import { useNativeUtf8Length, type WireData } from '../core/codec.js';
import { OPEN, type SocketEvents, type Transport, type WebSocketLike } from '../core/transport.js';
import { listenToDom, nativeTransport, pollDrain } from './native.js';
import { closeCodeOfProtocolError } from './ws-errors.js';

// Node's native UTF-8 count for the byte bounds (the browser build counts in JS).
useNativeUtf8Length((text) => Buffer.byteLength(text, 'utf8'));

/** The `net.Socket` under a `ws` socket. */
export interface TcpSocket {
  cork(): void;
  write(data: Uint8Array): boolean;
  uncork(): void;
  readonly writableNeedDrain: boolean;
  /** How many `cork()` calls are not yet undone. */
  readonly writableCorked: number;
  on(event: 'finish', listener: () => void): unknown;
  once(event: 'drain' | 'finish', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

interface WsSocket extends WebSocketLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
  ping(): void;
  terminate(): void;
}

/** Whom the shared listeners below tell of a socket's events: stored on it (and on its TCP socket), since `ws` calls a listener with the socket as `this`. */
const HOOKS = Symbol('rxwire.hooks');
/** A dialed socket's TCP socket, from its upgrade until it opens. */
const UPGRADED = Symbol('rxwire.upgraded');
type Hooked = WsSocket & { [HOOKS]: SocketEvents; [UPGRADED]?: TcpSocket | undefined };
type HookedTcp = TcpSocket & { [HOOKS]: SocketEvents };

// One function per event for every socket, not closures per connection (a server holds thousands).
function onError(this: Hooked, error: Error): void {
  this[HOOKS].socketError(error, closeCodeOfProtocolError(error));
}
function onMessage(this: Hooked, data: Buffer, isBinary: boolean): void {
  this[HOOKS].socketMessage(isBinary ? data : data.toString());
}
function onPong(this: Hooked): void {
  this[HOOKS].socketPong();
}
function onClose(this: Hooked, code: number, reason: Buffer): void {
  this[HOOKS].socketClosed(code, reason.toString());
}
/** The TCP socket's 'finish': ws ends its side only once both close frames are exchanged (or after a protocol error). */
function onFinish(this: HookedTcp): void {
  this[HOOKS].socketEnded();
}
function onUpgrade(this: Hooked, res: { socket?: TcpSocket | null } | undefined): void {
  // Bun's `ws` has no TCP socket here: writes then go uncorked and drain is polled.
  const socket = res?.socket;
  if (!socket || typeof socket.once !== 'function' || typeof socket.cork !== 'function') return;
  this[UPGRADED] = socket;
  hookTcp(socket, this[HOOKS]);
}
function onUnexpectedResponse(this: Hooked, _req: unknown, res: { statusCode?: number; resume(): void }): void {
  this[HOOKS].socketStatus(res.statusCode);
  res.resume();
  this.terminate();
}
function onOpen(this: Hooked): void {
  const tcp = this[UPGRADED];
  this[UPGRADED] = undefined;
  this[HOOKS].socketOpen(tcp ? wsTransport(this, tcp) : nativeTransport(this));
}

function hookTcp(tcp: TcpSocket, on: SocketEvents): void {
  (tcp as HookedTcp)[HOOKS] = on;
  tcp.on('finish', onFinish); // it finishes once
}

/**
 * `ws`'s own event API (Node): no event objects on the message path, the TCP socket from the
 * public `'upgrade'` event (to cork writes and wait for `'drain'`), pongs, and the HTTP status of
 * a refused upgrade. Sockets without it (Node's global WebSocket) get the standard API.
 */
export function listenToWs(socket: WebSocketLike, on: SocketEvents): void {
  const ws = socket as Hooked;
  if (typeof ws.on !== 'function') return listenToDom(socket, on);
  ws[HOOKS] = on;
  ws[UPGRADED] = undefined;
  // An 'error' listener on every ws: its error is kept as the close's cause.
  ws.on('error', onError);
  ws.on('upgrade', onUpgrade);
  ws.on('unexpected-response', onUnexpectedResponse);
  ws.on('open', onOpen);
  ws.on('message', onMessage);
  ws.on('pong', onPong);
  ws.on('close', onClose);
}

/** Whole frames a broadcast prepared once for all its peers (see {@link preparedTextFrame}). */
const PREPARED_FRAMES = new WeakSet<object>();

/**
 * `text` as one whole unmasked WebSocket text frame (RFC 6455 5.2: FIN, opcode 1, the payload
 * length, the UTF-8 payload): what a server writes, identical for every peer. A `ws` transport
 * writes it to its TCP socket as it is, so a broadcast to many peers is framed once, not counted,
 * encoded and framed by `ws` per peer. Frames are written whole and in order, so they interleave
 * safely with `ws`'s own (pings, pongs, close), as long as `ws` does not compress (rxwire's server
 * never negotiates permessage-deflate).
 */
export function preparedTextFrame(text: string): Uint8Array {
  const length = Buffer.byteLength(text, 'utf8');
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN, text
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, header, 'utf8');
  PREPARED_FRAMES.add(frame);
  return frame;
}

/**
 * A `ws` socket as a {@link Transport}. Writes in one tick (microtasks included) share one cork of
 * the TCP socket, so a burst, or a loop that awaits each send, leaves in a few large writes
 * rather than one syscall per message; a backed-up socket is waited for with `'drain'`.
 */
export function wsTransport(ws: WsSocket, tcp: TcpSocket): Transport {
  return new WsTransport(ws, tcp);
}

/**
 * Ends a batch. On `process.nextTick`, not a microtask: a script's `await send()` loop runs in
 * microtasks, so the cork holds across its awaits until the loop yields (or the writer waits for
 * 'drain' past the high-water mark), and the loop's messages leave in a few large writes.
 */
function uncork(tcp: TcpSocket): void {
  tcp.uncork();
}

class WsTransport implements Transport {
  readonly #ws: WsSocket;
  readonly #tcp: TcpSocket;

  constructor(ws: WsSocket, tcp: TcpSocket) {
    this.#ws = ws;
    this.#tcp = tcp;
  }

  isOpen(): boolean {
    return this.#ws.readyState === OPEN;
  }

  bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: WireData): void {
    const tcp = this.#tcp;
    // Corked means corked by this transport in this tick (ws's own corks are undone at once).
    if (tcp.writableCorked === 0) {
      tcp.cork();
      process.nextTick(uncork, tcp);
    }
    if (typeof data !== 'string' && PREPARED_FRAMES.has(data)) tcp.write(data as Uint8Array);
    else this.#ws.send(data as string);
  }

  whenDrained(done: () => void, scheduler: SchedulerLike): () => void {
    const tcp = this.#tcp;
    // Below the TCP socket's own mark no 'drain' comes: ws's bufferedAmount falls as it writes.
    if (!tcp.writableNeedDrain) return pollDrain(scheduler, done);
    tcp.once('drain', done);
    return () => void tcp.removeListener('drain', done);
  }

  ping(): void {
    this.#ws.ping();
  }
}
