import { concatMap, filter, Observable, Subject, type SchedulerLike, type Subscription } from 'rxjs';
import type { OpenConnection } from '../client/dial.js';
import { MessageDroppedError, type DropReason } from './errors.js';
import { OfflineBuffer } from './send-queue.js';
import type { OverflowPolicy } from './send-queue.js';
import type { WireData } from './codec.js';
import { OPEN } from './transport.js';

/** An entry's outcome once it has left the writer: written, or dropped with a reason. */
export type Outcome = 'written' | DropReason;

/** A message on its way out. */
export interface OutgoingEntry<Out> {
  /** The message as given to `send()`, for drop reports. */
  readonly message: Out;
  /** The serialized message. */
  readonly data: WireData;
  /** Milliseconds it may wait before it is dropped with `'timeout'` (`Infinity`: no limit). */
  readonly timeout: number;
  /**
   * Scheduler time after which it is dropped with `'timeout'`: set when it enters the buffer, in
   * the tick of its `send()`, so the timeout counts from the call; a message written at once never
   * reads the clock.
   */
  deadline: number;
  /** Set when it is written or dropped; undefined while it waits. */
  outcome: Outcome | undefined;
  /** With the outcome `'error'`: what the socket's `send` threw. */
  cause?: unknown;
  /** Whether a `send()` promise reports this message's fate (else only `dropped$` does). */
  readonly promised: boolean;
  /** Its size while it waits in the buffer (UTF-8 bytes of text, bytes of binary); 0 outside. */
  bytes: number;
  /** Called synchronously when it is written (before `resolve`). */
  readonly onWritten: (() => void) | undefined;
  /** The `send()` promise and its settlers, created only for a message that has to wait. */
  resolve: (() => void) | undefined;
  reject: ((error: MessageDroppedError<Out>) => void) | undefined;
  promise: Promise<void> | undefined;
}

/** A new entry for `message`, serialized as `data`. */
export function outgoingEntry<Out>(
  message: Out,
  data: WireData,
  timeout: number,
  promised: boolean,
  onWritten?: () => void,
): OutgoingEntry<Out> {
  return {
    message, data, timeout, deadline: Infinity, outcome: undefined, promised, bytes: 0, onWritten,
    resolve: undefined, reject: undefined, promise: undefined,
  };
}

/** UTF-8 length of text (without encoding it), byte length of binary data. */
function byteLength(data: WireData): number {
  if (typeof data !== 'string') return data.byteLength;
  let bytes = data.length;
  for (let i = 0; i < data.length; i++) {
    const code = data.charCodeAt(i);
    if (code >= 0x800) bytes += code >= 0xd800 && code <= 0xdbff ? 1 : 2; // a surrogate pair is 4 bytes in all
    else if (code >= 0x80) bytes += 1;
  }
  return bytes;
}

/** Configuration of a {@link Writer}. */
export interface WriterConfig<Out> {
  size: number;
  overflow: OverflowPolicy;
  highWaterMark: number;
  scheduler: SchedulerLike;
  /** Every drop, before the `send()` promise rejects; `cause` is the socket's error for `'error'`. */
  onDrop: (entry: OutgoingEntry<Out>, reason: DropReason, cause?: unknown) => void;
  /** The buffer became occupied (`true`: hold the connection) or empty (`false`). */
  onOccupied: (occupied: boolean) => void;
}

/** How a flush ended: all written, stopped by backpressure, or no open socket. */
const enum Flush {
  Done,
  Blocked,
  Offline,
}

/** Milliseconds between `bufferedAmount` checks where there is no 'drain' event to wait for. */
const DRAIN_POLL = 5;

const noop = (): void => {};

/**
 * The single writer. Every write is synchronous and made in one of two places, which cannot
 * overlap: {@link Writer.tryWrite}, the hot path, writes a message at once, in the caller's tick,
 * while the socket is open, under the high-water mark and nothing waits; every other message
 * waits in the bounded {@link OfflineBuffer} and enters one Subject, where one `concatMap` stage
 * serializes the only asynchronous step (waiting for the socket to drain) and flushes the buffer in
 * order. The Subject carries wake-ups, and `concatMap` never holds more than one, because a wait
 * starts only when none is running.
 *
 * Writes in one tick share one cork of the TCP socket, so a burst leaves in a few large writes
 * rather than one syscall per message. The buffer is flushed in order, in one corked batch, when
 * a connection is attached or the socket drains.
 */
export class Writer<Out> {
  readonly #input = new Subject<OutgoingEntry<Out> | undefined>();
  readonly #buffer: OfflineBuffer<OutgoingEntry<Out>>;
  readonly #subscription: Subscription;
  #conn: OpenConnection | undefined;
  #waiting = false;
  #cancelWait: (() => void) | undefined;
  #corked: OpenConnection['raw'];
  #closedReason: DropReason | undefined;
  #bytes = 0;

  readonly #config: WriterConfig<Out>;

  constructor(config: WriterConfig<Out>) {
    this.#config = config;
    this.#buffer = new OfflineBuffer<OutgoingEntry<Out>>({
      size: config.size,
      overflow: config.overflow,
      scheduler: config.scheduler,
      onDrop: (entry, reason) => this.#drop(entry, reason),
      onOccupied: config.onOccupied,
    });
    this.#subscription = this.#input
      .pipe(
        filter((entry) => this.#offer(entry)),
        concatMap(() => this.#drained()),
      )
      .subscribe();
  }

  /** Messages waiting to be written. */
  get waitingCount(): number {
    return this.#buffer.length;
  }

  /** Bytes of the messages waiting to be written. */
  get waitingBytes(): number {
    return this.#bytes;
  }

  /**
   * The hot path: writes `data` at once, in the caller's tick, if the socket is open, under the
   * high-water mark, and nothing waits (so nothing can be overtaken). Returns false, having written
   * nothing, otherwise; the message must then be {@link enqueue}d. Throws what the socket's `send`
   * throws (the message was not written).
   */
  tryWrite(data: WireData): boolean {
    if (this.#buffer.length !== 0 || !this.#writable()) return false;
    this.#put(this.#conn as OpenConnection, data);
    return true;
  }

  /** Queues one message that {@link tryWrite} could not write; it is written when the socket takes more. Never throws. */
  enqueue(entry: OutgoingEntry<Out>): void {
    if (this.#closedReason) return this.#drop(entry, this.#closedReason);
    this.#input.next(entry);
  }

  /** A connection opened: write what waits, in order, before anything newer. */
  attach(conn: OpenConnection): void {
    this.#conn = conn;
    this.#input.next(undefined);
  }

  /** The connection ended: stop writing; what waits stays for the next one. */
  detach(): void {
    this.#conn = undefined;
    this.#cancelWait?.();
    this.#uncork();
  }

  /** Drops everything waiting and everything sent later with `reason`; stops the writer. */
  close(reason: DropReason): void {
    if (this.#closedReason) return;
    this.#closedReason = reason;
    this.detach();
    this.#buffer.clear(reason);
    this.#subscription.unsubscribe();
  }

  /** Returns true when a wait for the socket to drain must start. */
  #offer(entry: OutgoingEntry<Out> | undefined): boolean {
    if (entry !== undefined) {
      if (entry.timeout !== Infinity) entry.deadline = this.#config.scheduler.now() + entry.timeout;
      entry.bytes = byteLength(entry.data);
      this.#bytes += entry.bytes;
      if (!this.#buffer.push(entry)) return false;
    }
    if (this.#waiting || !this.#conn) return false;
    return this.#flush() === Flush.Blocked;
  }

  #writable(): boolean {
    const conn = this.#conn;
    return (
      conn !== undefined &&
      !this.#waiting &&
      conn.socket.readyState === OPEN &&
      conn.socket.bufferedAmount <= this.#config.highWaterMark
    );
  }

  /**
   * Writes `data` on `conn` at once, bypassing the buffer and the high-water mark: for handshake
   * messages and channel subscriptions, which belong to one connection. Does nothing if the
   * socket is not open; throws what the socket's `send` throws.
   */
  writeNow(conn: OpenConnection, data: WireData): void {
    if (conn.socket.readyState === OPEN) this.#put(conn, data);
  }

  #write(entry: OutgoingEntry<Out>): void {
    this.#bytes -= entry.bytes;
    entry.bytes = 0;
    try {
      this.#put(this.#conn as OpenConnection, entry.data);
    } catch (error) {
      // The socket refused this message (it stays usable): report it, go on with the next.
      return this.#drop(entry, 'error', error);
    }
    entry.outcome = 'written';
    entry.onWritten?.();
    entry.resolve?.();
  }

  /** The one place that calls `send` on a socket. Writes in one tick share one cork. */
  #put(conn: OpenConnection, data: WireData): void {
    if (this.#corked === undefined && conn.raw) {
      this.#corked = conn.raw;
      conn.raw.cork();
      queueMicrotask(this.#uncork);
    }
    conn.socket.send(data as string);
  }

  readonly #uncork = (): void => {
    const raw = this.#corked;
    this.#corked = undefined;
    raw?.uncork();
  };

  /** Writes waiting messages in order while the socket takes more; drops the expired ones. */
  #flush(): Flush {
    const buffer = this.#buffer;
    const now = this.#config.scheduler.now();
    while (buffer.length > 0) {
      const conn = this.#conn;
      if (!conn || conn.socket.readyState !== OPEN) return Flush.Offline;
      if (conn.socket.bufferedAmount > this.#config.highWaterMark) return Flush.Blocked;
      const entry = buffer.shift() as OutgoingEntry<Out>;
      if (entry.deadline <= now) this.#drop(entry, 'timeout');
      else this.#write(entry);
    }
    return Flush.Done;
  }

  /** Waits until the socket drains, flushes, and repeats until nothing is blocked. */
  #drained(): Observable<never> {
    return new Observable<never>((subscriber) => {
      let stopWaiting = noop;
      const wait = (): void => {
        const conn = this.#conn;
        if (!conn) return subscriber.complete();
        stopWaiting = waitForDrain(conn, this.#config.scheduler, () => {
          this.#waiting = false;
          if (this.#flush() === Flush.Blocked) {
            this.#waiting = true;
            wait();
          } else subscriber.complete();
        });
      };
      this.#waiting = true;
      this.#cancelWait = () => subscriber.complete();
      wait();
      return () => {
        stopWaiting();
        this.#waiting = false;
        this.#cancelWait = undefined;
      };
    });
  }

  #drop(entry: OutgoingEntry<Out>, reason: DropReason, cause?: unknown): void {
    entry.outcome = reason;
    this.#bytes -= entry.bytes;
    entry.bytes = 0;
    if (cause !== undefined) entry.cause = cause;
    this.#config.onDrop(entry, reason, cause);
    if (entry.reject) {
      // Every drop is reported on dropped$; a fire-and-forget send() must not crash the
      // process with an unhandled rejection. An awaiting caller still gets the error.
      entry.promise?.catch(noop);
      entry.reject(droppedError(reason, entry.message, cause));
    }
  }
}

/**
 * A drop's stack would only show rxwire's writer or timer, and capturing it costs more than the
 * rest of a drop: a flood of 100,000 offline sends must stay cheap. So drops carry no frames.
 */
export function droppedError<Out>(reason: DropReason, message: Out, cause?: unknown): MessageDroppedError<Out> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new MessageDroppedError(reason, message, cause === undefined ? undefined : { cause });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Calls `done` once the socket's `bufferedAmount` may have fallen; returns a canceller. */
function waitForDrain(conn: OpenConnection, scheduler: SchedulerLike, done: () => void): () => void {
  const { raw } = conn;
  if (raw && raw.writableNeedDrain) {
    raw.once('drain', done);
    return () => void raw.removeListener('drain', done);
  }
  const timer = scheduler.schedule(done, DRAIN_POLL);
  return () => timer.unsubscribe();
}
