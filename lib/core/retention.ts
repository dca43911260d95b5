import type { SchedulerLike, Subscription } from 'rxjs';
import { byteLength, type WireData } from './codec.js';
import { droppedError, type DropReason, type MessageDroppedError } from './errors.js';
import { SessionProtocolError } from './session-errors.js';

/**
 * Bounds of a session's retention: the reliable messages sent and not yet acknowledged.
 *
 * @example
 * ```ts
 * // Orders are small and few: a tight bound, so a long outage pushes back on the producer early.
 * const retain: RetainOptions = { size: 200, bytes: 256 * 1024 };
 * const socket = connect('wss://example.com/orders', { session: { retain } });
 * ```
 */
export interface RetainOptions {
  /**
   * Unacknowledged reliable messages one session may hold (integer >= 1). A reliable `send()`
   * beyond it waits for an acknowledgement to make room (until its `timeout`).
   * @default 10000
   */
  size?: number;
  /**
   * Bytes they may add up to (>= 1, `Infinity` allowed); one message larger than this is refused
   * with `'overflow'`.
   * @default 8388608 (8 MiB)
   */
  bytes?: number;
}

/** The retention's defaults. */
export const RETAIN_DEFAULTS = { size: 10_000, bytes: 8 * 1024 * 1024 } as const;

/** What a {@link Retention} needs. */
export interface RetentionConfig<Out> {
  size: number;
  bytes: number;
  /** Sends that may wait for room (beyond them: `'overflow'`). */
  waitLimit: number;
  scheduler: SchedulerLike;
  /** The frame of message `seq` as written now (it may carry an acknowledgement of the other direction). */
  frame: (seq: number, data: WireData) => WireData;
  /** A ticket for write order, shared with the writer's queue (lower first). */
  ticket: () => number;
  /** A message was admitted: the writer has something to write. */
  admitted: () => void;
  /** Every drop, before the promise rejects. */
  onDrop: (message: Out, reason: DropReason, promised: boolean) => void;
  /** Messages are retained or waiting (`true`), or none any more (`false`): a client holds its connection meanwhile. */
  onOccupied?: (occupied: boolean) => void;
  /**
   * Writes a message ahead to a session store before it may be written to the socket (sessions
   * that outlive their node); resolves when stored (or when the store failed, reported by it).
   */
  store?: (seq: number, data: WireData) => Promise<void>;
}

/** A reliable message on its way: retained from admission until the peer acknowledges it. */
interface Retained<Out> {
  seq: number;
  /** Written ahead to the session store (always, without one): it may go to the socket. */
  stored: boolean;
  order: number;
  readonly message: Out;
  readonly data: WireData;
  readonly bytes: number;
  readonly promised: boolean;
  deadline: number;
  timer: Subscription | undefined;
  resolve: (() => void) | undefined;
  reject: ((error: MessageDroppedError<Out>) => void) | undefined;
  promise: Promise<void> | undefined;
}

const noop = (): void => {};

/**
 * The outgoing half of a session: every reliable message from admission until the peer's
 * cumulative acknowledgement, numbered 1, 2, … in admission order. Bounded by count and bytes;
 * a send beyond the bound waits (bounded too) for room until its timeout. A `send()` promise
 * resolves at the acknowledgement: a delivery receipt. The writer takes the unwritten ones in
 * order (`take`); after a reconnect, `rewind` makes every unacknowledged one unwritten again.
 */
export class Retention<Out> {
  readonly #config: RetentionConfig<Out>;
  #entries: Array<Retained<Out> | undefined> = [];
  #head = 0;
  /** Index (in #entries) of the next message to write. */
  #cursor = 0;
  #bytes = 0;
  #nextSeq = 1;
  #waiting: Array<Retained<Out>> = [];
  #occupied = false;
  /** Which session the numbering belongs to: a store's late answer for a cleared one is ignored. */
  #epoch = 0;

  constructor(config: RetentionConfig<Out>) {
    this.#config = config;
  }

  /** Reliable messages sent and not acknowledged. */
  get unacknowledged(): number {
    return this.#entries.length - this.#head;
  }

  /** Messages waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Messages not yet acknowledged, those waiting for room included: all a lost session rejects. */
  get outstanding(): number {
    return this.unacknowledged + this.#waiting.length;
  }

  /** The sequence number of the last admitted message (0: none). */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /**
   * Retains `message` (serialized as `data`) and numbers it, or lets it wait up to `timeout` ms
   * for room. With `promised`, returns the receipt: it resolves when the peer acknowledges the
   * message and rejects with `MessageDroppedError` if it is dropped.
   */
  add(message: Out, data: WireData, timeout: number, promised: boolean): Promise<void> | undefined {
    const entry: Retained<Out> = {
      seq: 0, stored: true, order: 0, message, data, bytes: byteLength(data), promised, deadline: Infinity,
      timer: undefined, resolve: undefined, reject: undefined, promise: undefined,
    };
    const promise = promised ? (entry.promise = new Promise<void>((resolve, reject) => ((entry.resolve = resolve), (entry.reject = reject)))) : undefined;
    if (entry.bytes > this.#config.bytes) return this.#refuse(entry, 'overflow');
    if (this.#waiting.length === 0 && this.#fits(entry)) {
      this.#admit(entry);
      this.#occupancy();
      this.#config.admitted();
      return promise;
    }
    if (this.#waiting.length >= this.#config.waitLimit) return this.#refuse(entry, 'overflow');
    if (timeout !== Infinity) {
      entry.timer = this.#config.scheduler.schedule(() => this.#expire(entry), timeout);
    }
    this.#waiting.push(entry);
    this.#occupancy();
    return promise;
  }

  /** Whether a message is admitted and not yet written on the current connection. */
  get pending(): boolean {
    return this.#cursor < this.#entries.length && (this.#entries[this.#cursor] as Retained<Out>).stored;
  }

  /** The write ticket of the next unwritten message (`Infinity`: none). */
  nextOrder(): number {
    return this.pending ? (this.#entries[this.#cursor] as Retained<Out>).order : Infinity;
  }

  /**
   * Takes over a session another node held (from a session store): its unacknowledged messages,
   * ready to be written again, and its numbering. They have no promise here, and a drop reports
   * the serialized message as its payload.
   */
  restore(outgoing: ReadonlyArray<{ readonly seq: number; readonly data: WireData }>, lastSeq: number): void {
    for (const { seq, data } of outgoing) {
      const entry: Retained<Out> = {
        seq, stored: true, order: this.#config.ticket(), message: data as unknown as Out, data, bytes: byteLength(data), promised: false,
        deadline: Infinity, timer: undefined, resolve: undefined, reject: undefined, promise: undefined,
      };
      this.#entries.push(entry);
      this.#bytes += entry.bytes;
    }
    this.#nextSeq = lastSeq + 1;
    this.#occupancy();
  }

  /** The next unwritten message's frame; it counts as written. */
  take(): WireData {
    const entry = this.#entries[this.#cursor++] as Retained<Out>;
    return this.#config.frame(entry.seq, entry.data);
  }

  /** The peer has every message up to `ack`: their receipts resolve, and waiting sends get the room. */
  acknowledge(ack: number): void {
    if (ack > this.lastSeq) throw new SessionProtocolError(`acknowledgement ${ack} is beyond the last message sent (${this.lastSeq})`);
    let freed = false;
    while (this.#head < this.#entries.length && (this.#entries[this.#head] as Retained<Out>).seq <= ack) {
      const entry = this.#entries[this.#head] as Retained<Out>;
      this.#entries[this.#head++] = undefined;
      this.#bytes -= entry.bytes;
      entry.resolve?.();
      freed = true;
    }
    if (this.#cursor < this.#head) this.#cursor = this.#head;
    if (!freed) return;
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#head = this.#cursor = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#cursor -= this.#head;
      this.#head = 0;
    }
    let admitted = false;
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0] as Retained<Out>)) {
      const entry = this.#waiting.shift() as Retained<Out>;
      entry.timer?.unsubscribe();
      this.#admit(entry);
      admitted = true;
    }
    if (admitted) this.#config.admitted();
    this.#occupancy();
  }

  /** A new connection of the same session: every unacknowledged message is written again, in order. */
  rewind(): void {
    this.#cursor = this.#head;
  }

  /**
   * The session is over (`'session-lost'`: it could not be resumed; `'closed'`: closed for good):
   * every unacknowledged and waiting message is dropped with `reason`; numbering starts again at 1.
   * Returns how many were unacknowledged.
   */
  clear(reason: DropReason): number {
    const retained = this.#entries.slice(this.#head) as Array<Retained<Out>>;
    const waiting = this.#waiting;
    this.#entries = [];
    this.#head = this.#cursor = this.#bytes = 0;
    this.#waiting = [];
    this.#nextSeq = 1;
    this.#epoch++;
    this.#occupancy();
    for (const entry of retained) this.#drop(entry, reason);
    for (const entry of waiting) {
      entry.timer?.unsubscribe();
      this.#drop(entry, reason);
    }
    return retained.length;
  }

  #fits(entry: Retained<Out>): boolean {
    return this.unacknowledged < this.#config.size && this.#bytes + entry.bytes <= this.#config.bytes;
  }

  #admit(entry: Retained<Out>): void {
    entry.seq = this.#nextSeq++;
    entry.order = this.#config.ticket();
    this.#entries.push(entry);
    this.#bytes += entry.bytes;
    const { store } = this.#config;
    if (!store) return;
    // Write-ahead: to the socket only once stored (the store answers in order).
    entry.stored = false;
    const epoch = this.#epoch;
    void store(entry.seq, entry.data).then(() => {
      entry.stored = true;
      if (epoch === this.#epoch) this.#config.admitted();
    });
  }

  #expire(entry: Retained<Out>): void {
    const index = this.#waiting.indexOf(entry);
    if (index < 0) return;
    this.#waiting.splice(index, 1);
    this.#occupancy();
    this.#drop(entry, 'timeout');
  }

  /** Tells `onOccupied` when the retention goes from empty to not and back. */
  #occupancy(): void {
    const occupied = this.#entries.length > this.#head || this.#waiting.length > 0;
    if (occupied === this.#occupied) return;
    this.#occupied = occupied;
    this.#config.onOccupied?.(occupied);
  }

  #refuse(entry: Retained<Out>, reason: DropReason): Promise<void> | undefined {
    this.#drop(entry, reason);
    return entry.promise;
  }

  #drop(entry: Retained<Out>, reason: DropReason): void {
    this.#config.onDrop(entry.message, reason, entry.promised);
    if (entry.reject) {
      entry.promise?.catch(noop);
      entry.reject(droppedError(reason, entry.message));
    }
  }
}

