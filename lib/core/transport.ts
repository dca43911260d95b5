import type { SchedulerLike } from 'rxjs';
import type { WireData } from './codec.js';

/**
 * The part of a WebSocket that rxwire uses; both `ws` and the browser's `WebSocket` have it.
 *
 * @example
 * ```ts
 * // Works on `ws`'s socket and on the browser's alike.
 * const canWrite = (ws: WebSocketLike, limit = 1024 * 1024) => ws.readyState === 1 && ws.bufferedAmount < limit;
 * canWrite(new WebSocket('ws://127.0.0.1:8080')); // false: still connecting
 * ```
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  /** The subprotocol the server selected. */
  readonly protocol?: string;
  binaryType: string;
  send(data: string | ArrayBuffer | ArrayBufferView<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket class: `ws`'s `WebSocket` in Node, or a browser-compatible `WebSocket`. Called as
 * `new WebSocket(url, protocols, wsOptions)`.
 *
 * @example
 * ```ts
 * // A factory that lets its caller choose the implementation.
 * function openFeed(implementation: WebSocketConstructor) {
 *   return connect<Message, Message>('wss://example.com/feed', { WebSocket: implementation });
 * }
 * const socket = openFeed(WebSocket); // `ws`'s class fits
 * ```
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: never) => WebSocketLike;

/** readyState values, the same in `ws` and browsers. */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 3;

/**
 * An open socket as the per-connection core writes to it, whatever its runtime: the seam between
 * the core and `lib/transports/` (no Node socket call outside a transport).
 */
export interface Transport {
  /** Whether the socket is open (readyState OPEN): writes are accepted. */
  isOpen(): boolean;
  /** Bytes the socket holds unsent. */
  bufferedAmount(): number;
  /**
   * Writes one message; throws what the socket's `send` throws. Writes of one tick may leave
   * together (`ws` corks its TCP socket until a microtask).
   */
  send(data: WireData): void;
  /** Calls `done` once the socket may take more (`'drain'` in Node, a poll on `scheduler` elsewhere); returns a canceller. */
  whenDrained(done: () => void, scheduler: SchedulerLike): () => void;
  /** Sends a ping frame; undefined where the runtime cannot (browsers). */
  readonly ping: (() => void) | undefined;
}

/**
 * What a socket tells the connection, whatever its event API. Named `socket…` so that the
 * connection itself can take them (no object of closures per connection).
 */
export interface SocketEvents {
  /**
   * An error; `protocolCode` is the close code of a protocol error in the peer's frames, which
   * ends the connection at once (the adapter knows its library's error codes).
   */
  socketError(error: unknown, protocolCode?: number): void;
  /** The HTTP status of a refused upgrade. */
  socketStatus(code: number | undefined): void;
  /** Open, with the {@link Transport} to write to it. */
  socketOpen(transport: Transport): void;
  /** A frame: a string for text, a Uint8Array for binary. */
  socketMessage(data: string | Uint8Array): void;
  socketPong(): void;
  /**
   * Both close frames were exchanged and this side ended its half of the TCP connection; only the
   * peer's FIN is awaited. `ws` tells (its TCP socket's 'finish'); browsers close by themselves.
   */
  socketEnded(): void;
  socketClosed(code: number, reason: string): void;
}

/** Attaches a connection's handlers to a socket (`ws`'s API in Node, the standard one elsewhere). */
export type Listen = (socket: WebSocketLike, on: SocketEvents) => void;
