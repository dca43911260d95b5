import type { SchedulerLike, Subscription } from 'rxjs';
import type { DropReason } from './errors.js';

/** What the queue needs of an entry: when it expires (scheduler time; `Infinity`: never), and its size. */
export interface Queued {
  readonly deadline: number;
  /** Bytes it counts for while it waits. */
  readonly bytes: number;
}

/** Bounds of an {@link SendQueue} and where its drops go. */
export interface SendQueueConfig<E> {
  /** Entries that may wait, the first included (>= 0, `Infinity` allowed). */
  size: number;
  /** Bytes the waiting entries may add up to (their `bytes`). @default Infinity */
  bytes?: number;
  overflow: OverflowPolicy;
  scheduler: SchedulerLike;
  /** Called once for every entry the buffer drops, in order. */
  onDrop: (entry: E, reason: DropReason) => void;
  /** Called when the buffer goes from empty to not empty (`true`) and back (`false`). */
  onOccupied: (occupied: boolean) => void;
}

/**
 * A bounded FIFO whose entries expire at their own deadlines, wherever they sit. One expiry timer
 * for the whole queue, set for the earliest deadline: while deadlines arrive in order (the same
 * timeout for every entry), that is the head's, and expiry only ever pops the head; an entry with
 * an earlier deadline than the last one makes the queue unsorted, and expiry sweeps it whole.
 * Overflow evicts by position: the new arrival, or the earliest enqueued.
 */
export class SendQueue<E extends Queued> {
  #items: Array<E | undefined> = [];
  #head = 0;
  #bytes = 0;
  #sorted = true;
  #lastDeadline = -Infinity;
  #timer: Subscription | undefined;
  #timerAt = Infinity;

  readonly #config: SendQueueConfig<E>;

  constructor(config: SendQueueConfig<E>) {
    this.#config = config;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The sum of the waiting entries' `bytes`. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends `entry`, or drops it (or the oldest, as many as make room) when the queue is full by
   * count or by bytes. Returns false if `entry` was dropped.
   */
  push(entry: E): boolean {
    const { size, overflow, onDrop, bytes: maxBytes = Infinity } = this.#config;
    const full = this.length >= size || this.#bytes + entry.bytes > maxBytes;
    if (full && (overflow === 'drop-newest' || this.length === 0 || entry.bytes > maxBytes)) {
      onDrop(entry, 'overflow');
      return false;
    }
    if (entry.deadline < this.#lastDeadline) this.#sorted = false;
    else this.#lastDeadline = entry.deadline;
    this.#items.push(entry);
    this.#bytes += entry.bytes;
    if (this.length === 1) this.#config.onOccupied(true);
    if (entry.deadline < this.#timerAt) this.#armTimer(entry.deadline);
    if (!full) return true;
    // Evict before reporting: a dropped$ observer that sends again must find the buffer full.
    const evicted: E[] = [];
    while (this.length > 1 && (this.length > size || this.#bytes > maxBytes)) evicted.push(this.shift() as E);
    for (const old of evicted) onDrop(old, 'overflow');
    return true;
  }

  /** The entry that has waited longest, or undefined. */
  peek(): E | undefined {
    return this.#items[this.#head];
  }

  /** Removes and returns the entry that has waited longest. */
  shift(): E | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const entry = this.#items[this.#head] as E;
    this.#items[this.#head++] = undefined;
    this.#bytes -= entry.bytes;
    if (this.#head === this.#items.length) this.#empty();
    else if (this.#head > 1024 && this.#head * 2 > this.#items.length) this.#compact();
    return entry;
  }

  /** Drops every entry whose deadline is at or before `now`, in queue order. */
  expire(now: number): void {
    if (this.#sorted) {
      while (this.length > 0 && (this.peek() as E).deadline <= now) this.#config.onDrop(this.shift() as E, 'timeout');
      return;
    }
    const waiting = this.#items.slice(this.#head) as E[];
    const expired = waiting.filter((entry) => entry.deadline <= now);
    if (expired.length === 0) return;
    this.#items = waiting.filter((entry) => entry.deadline > now);
    this.#head = 0;
    for (const entry of expired) this.#bytes -= entry.bytes;
    if (this.#items.length === 0) this.#empty();
    else this.#recomputeOrder();
    for (const entry of expired) this.#config.onDrop(entry, 'timeout');
  }

  /** Drops every entry with `reason`, in queue order. */
  clear(reason: DropReason): void {
    const entries = this.#items.slice(this.#head) as E[];
    if (entries.length > 0) this.#empty();
    for (const entry of entries) this.#config.onDrop(entry, reason);
  }

  /** Forgets every entry (the caller settles them) and stops the timer. */
  #empty(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#sorted = true;
    this.#lastDeadline = -Infinity;
    this.#disarmTimer();
    this.#config.onOccupied(false);
  }

  #compact(): void {
    this.#items = this.#items.slice(this.#head);
    this.#head = 0;
  }

  #recomputeOrder(): void {
    this.#sorted = true;
    this.#lastDeadline = -Infinity;
    for (let i = this.#head; i < this.#items.length; i++) {
      const deadline = (this.#items[i] as E).deadline;
      if (deadline < this.#lastDeadline) this.#sorted = false;
      else this.#lastDeadline = deadline;
    }
  }

  #earliestDeadline(): number {
    if (this.#sorted) return this.peek()?.deadline ?? Infinity;
    let earliest = Infinity;
    for (let i = this.#head; i < this.#items.length; i++) earliest = Math.min(earliest, (this.#items[i] as E).deadline);
    return earliest;
  }

  #disarmTimer(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #armTimer(deadline: number): void {
    this.#disarmTimer();
    if (deadline === Infinity) return;
    this.#timerAt = deadline;
    const { scheduler } = this.#config;
    this.#timer = scheduler.schedule(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.expire(scheduler.now());
      if (this.length > 0) this.#armTimer(this.#earliestDeadline());
    }, Math.max(0, deadline - scheduler.now()));
  }
}

/**
 * How a full buffer makes room.
 *
 * @example
 * ```ts
 * // Quotes: a newer price supersedes an older one, so a full buffer evicts the oldest.
 * const overflow: OverflowPolicy = 'drop-oldest';
 * const socket = connect('wss://example.com/quotes', { buffer: { size: 50, overflow } });
 * ```
 */
export type OverflowPolicy = 'drop-newest' | 'drop-oldest';

/**
 * Options of the outgoing `buffer`: what waits while the socket cannot take more.
 *
 * @example
 * ```ts
 * // Cursor positions: only recent ones matter, and one older than 2 s is worthless.
 * const buffer: BufferOptions = { size: 10, timeout: 2_000, overflow: 'drop-oldest' };
 * const socket = connect('wss://example.com/cursors', { buffer });
 * ```
 */
export interface BufferOptions {
  /**
   * Messages that may wait (integer >= 0), the first included. `0`: only messages that can be
   * written at once are accepted.
   * @default 1000
   */
  size?: number;
  /**
   * Milliseconds a message may wait before it is dropped with reason `'timeout'` (>= 0 and
   * <= 2147483647, or `Infinity`: no limit), counted from `send()`. Overridable per `send()`.
   * @default 10000
   */
  timeout?: number;
  /**
   * Which message a full buffer drops: the new arrival, or the earliest enqueued.
   * @default 'drop-newest'
   */
  overflow?: OverflowPolicy;
}

