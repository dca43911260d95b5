import type { SchedulerLike } from 'rxjs';
import type { WireData } from '../core/codec.js';
import { OPEN, type SocketEvents, type Transport, type WebSocketLike } from '../core/transport.js';

/** Milliseconds between `bufferedAmount` checks: the standard API has no 'drain' event. */
const DRAIN_POLL = 5;

/**
 * The standard event API (browsers, workers, Deno, Node's global WebSocket). Binary frames arrive
 * as ArrayBuffer (`binaryType = 'arraybuffer'`; browsers default to Blob) and are handed on as
 * Uint8Array.
 */
export function listenToDom(socket: WebSocketLike, on: SocketEvents): void {
  const target = socket as WebSocketLike & { addEventListener(type: string, listener: (event: never) => void): void };
  socket.binaryType = 'arraybuffer';
  target.addEventListener('error', (event: { error?: unknown }) => on.socketError(event.error ?? new Error('WebSocket error')));
  target.addEventListener('open', () => on.socketOpen(nativeTransport(socket)));
  target.addEventListener('message', ({ data }: { data: unknown }) => {
    on.socketMessage(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
  });
  // Deno reports 0 for a refused or dropped connection where the standard says 1006.
  target.addEventListener('close', (event: { code: number; reason: string }) => on.socketClosed(event.code || 1006, event.reason));
}

/** A standard socket as a {@link Transport}: no ping frames, `bufferedAmount` polled for drain. */
export function nativeTransport(socket: WebSocketLike): Transport {
  return new NativeTransport(socket);
}

// Classes rather than object literals of closures: one prototype for every connection.
class NativeTransport implements Transport {
  readonly #socket: WebSocketLike;

  constructor(socket: WebSocketLike) {
    this.#socket = socket;
  }

  /** None: a standard WebSocket cannot send a ping frame. */
  get ping(): undefined {
    return undefined;
  }

  isOpen(): boolean {
    return this.#socket.readyState === OPEN;
  }

  bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  send(data: WireData): void {
    this.#socket.send(data as string);
  }

  whenDrained(done: () => void, scheduler: SchedulerLike): () => void {
    return pollDrain(scheduler, done);
  }
}

/** Calls `done` after one poll interval: `bufferedAmount` may have fallen meanwhile. */
export function pollDrain(scheduler: SchedulerLike, done: () => void): () => void {
  const timer = scheduler.schedule(done, DRAIN_POLL);
  return () => timer.unsubscribe();
}
