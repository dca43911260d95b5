import type { SchedulerLike, Subscription } from 'rxjs';
import { byteLength, type WireData } from './codec.js';
import { droppedError, type DropReason, type MessageDroppedError } from './errors.js';
import { Ledger, Receipt } from './receipt.js';
import { SessionProtocolError } from './session-errors.js';

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

/** A reliable send waiting for room: not numbered yet, with a promise of its own from the start. */
interface Waiting<Out> {
  readonly message: Out;
  readonly data: WireData;
  readonly bytes: number;
  readonly promised: boolean;
  timer: Subscription | undefined;
  resolve: (() => void) | undefined;
  reject: ((error: MessageDroppedError<Out>) => void) | undefined;
  promise: Promise<void> | undefined;
}

const noop = (): void => {};

/** Slots per retained message in the flat array: message, data, write ticket, bytes, promised. */
const STRIDE = 5;
const MESSAGE = 0;
const DATA = 1;
const ORDER = 2;
const BYTES = 3;
const PROMISED = 4;
/** Messages the ring holds before it first grows. */
const INITIAL_CAPACITY = 16;
/** An emptied ring larger than this, and more than twice what its last busy spell held, goes. */
const SHRINK_ABOVE = 64;

/**
 * The outgoing half of a session: every reliable message from admission until the peer's
 * cumulative acknowledgement, numbered 1, 2, … in admission order. Bounded by count and bytes;
 * a send beyond the bound waits (bounded too) for room until its timeout. A `send()` receipt
 * resolves at the acknowledgement. The writer takes the unwritten ones in order (`take`); after
 * a reconnect, `rewind` makes every unacknowledged one unwritten again.
 *
 * Retained messages live in one flat array (no object per message) and their receipts are made
 * on demand (see {@link Receipt}): what a flood keeps until the acknowledgement is its messages
 * and their serialized data, which is what a garbage collector has to copy when it runs.
 */
export class Retention<Out> {
  readonly #config: RetentionConfig<Out>;
  /**
   * Retained messages in a ring of STRIDE slots each (capacity a power of two, doubled when
   * full): the oldest unacknowledged, message `#firstSeq`, at ring position `#start`.
   */
  #ring: unknown[] = [];
  /** Capacity − 1 (−1: no ring yet; an idle session holds none). */
  #mask = -1;
  #start = 0;
  #count = 0;
  #firstSeq = 1;
  /** The most messages retained at once since the ring was last empty. */
  #peak = 0;
  /** How many of them, from the oldest, are written on the current connection. */
  #written = 0;
  #bytes = 0;
  #nextSeq = 1;
  /** With a session store: the messages up to this one are stored and may go to the socket. */
  #storedSeq = Infinity;
  #waiting: Array<Waiting<Out>> = [];
  #occupied = false;
  #ledger = new Ledger<Out>();

  constructor(config: RetentionConfig<Out>) {
    this.#config = config;
    if (config.store) this.#storedSeq = 0;
  }

  /** Reliable messages sent and not acknowledged. */
  get unacknowledged(): number {
    return this.#count;
  }

  /** Messages waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Messages not yet acknowledged, those waiting for room included: all a lost session rejects. */
  get outstanding(): number {
    return this.#count + this.#waiting.length;
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
    const bytes = byteLength(data);
    const config = this.#config;
    if (this.#waiting.length === 0 && this.#count < config.size && this.#bytes + bytes <= config.bytes) {
      const seq = this.#admit(message, data, bytes, promised);
      this.#occupancy();
      config.admitted();
      return promised ? (new Receipt(this.#ledger, seq, message) as unknown as Promise<void>) : undefined;
    }
    const entry: Waiting<Out> = { message, data, bytes, promised, timer: undefined, resolve: undefined, reject: undefined, promise: undefined };
    if (promised) entry.promise = new Promise<void>((resolve, reject) => ((entry.resolve = resolve), (entry.reject = reject)));
    if (bytes > config.bytes || this.#waiting.length >= config.waitLimit) return this.#refuse(entry, 'overflow');
    if (timeout !== Infinity) entry.timer = config.scheduler.schedule(() => this.#expire(entry), timeout);
    this.#waiting.push(entry);
    this.#occupancy();
    return entry.promise;
  }

  /** Whether a message is admitted and not yet written on the current connection. */
  get pending(): boolean {
    return this.#written < this.#count && this.#firstSeq + this.#written <= this.#storedSeq;
  }

  /** The write ticket of the next unwritten message (`Infinity`: none). */
  nextOrder(): number {
    return this.pending ? (this.#ring[this.#slot(this.#written) + ORDER] as number) : Infinity;
  }

  /**
   * Takes over a session another node held (from a session store): its unacknowledged messages,
   * ready to be written again, and its numbering. They have no promise here, and a drop reports
   * the serialized message as its payload.
   */
  restore(outgoing: ReadonlyArray<{ readonly seq: number; readonly data: WireData }>, lastSeq: number): void {
    if (this.#count > 0) throw new SessionProtocolError('a session can only be restored into an empty retention');
    const first = outgoing.length > 0 ? (outgoing[0] as { seq: number }).seq : lastSeq + 1;
    outgoing.forEach(({ seq }, i) => {
      if (seq !== first + i || seq > lastSeq) throw new SessionProtocolError(`a stored session's messages are not numbered ${first}…${lastSeq} in order`);
    });
    this.#firstSeq = this.#nextSeq = first;
    this.#storedSeq = Infinity;
    for (const { data } of outgoing) this.#admit(data as unknown as Out, data, byteLength(data), false, this.#config.ticket());
    if (this.#config.store) this.#storedSeq = lastSeq;
    this.#nextSeq = lastSeq + 1;
    this.#occupancy();
  }

  /** The next unwritten message's frame; it counts as written. */
  take(): WireData {
    const k = this.#written++;
    return this.#config.frame(this.#firstSeq + k, this.#ring[this.#slot(k) + DATA] as WireData);
  }

  /** The peer has every message up to `ack`: their receipts resolve, and waiting sends get the room. */
  acknowledge(ack: number): void {
    if (ack > this.lastSeq) throw new SessionProtocolError(`acknowledgement ${ack} is beyond the last message sent (${this.lastSeq})`);
    const acked = Math.min(this.#count, ack - this.#firstSeq + 1);
    if (acked <= 0) return;
    const ring = this.#ring;
    for (let k = 0; k < acked; k++) {
      const at = this.#slot(k);
      this.#bytes -= ring[at + BYTES] as number;
      ring[at + MESSAGE] = ring[at + DATA] = undefined;
    }
    this.#start = (this.#start + acked) & this.#mask;
    this.#count -= acked;
    this.#firstSeq += acked;
    this.#written = Math.max(0, this.#written - acked);
    if (this.#count === 0) {
      // A ring the last busy spell needed is kept for the next; one it outgrew goes.
      if (this.#mask >= SHRINK_ABOVE && this.#mask + 1 > 2 * this.#peak) this.#reset();
      this.#peak = 0;
    }
    this.#ledger.acknowledge(ack);
    let admitted = false;
    const { size, bytes } = this.#config;
    while (this.#waiting.length > 0 && this.#count < size && this.#bytes + (this.#waiting[0] as Waiting<Out>).bytes <= bytes) {
      const entry = this.#waiting.shift() as Waiting<Out>;
      entry.timer?.unsubscribe();
      const seq = this.#admit(entry.message, entry.data, entry.bytes, entry.promised);
      if (entry.resolve && entry.reject) {
        entry.promise?.catch(noop); // a drop is reported by onDrop too: not an unhandled rejection
        this.#ledger.attach({ seq, resolve: entry.resolve, reject: entry.reject, message: entry.message });
      }
      admitted = true;
    }
    if (admitted) this.#config.admitted();
    this.#occupancy();
  }

  /** A new connection of the same session: every unacknowledged message is written again, in order. */
  rewind(): void {
    this.#written = 0;
  }

  /**
   * The session is over (`'session-lost'`: it could not be resumed; `'closed'`: closed for good):
   * every unacknowledged and waiting message is dropped with `reason`; numbering starts again at 1.
   * Returns how many were unacknowledged.
   */
  clear(reason: DropReason): number {
    // The retained messages, read from the old ring after the retention has started over.
    const ring = this.#ring;
    const start = this.#start;
    const mask = this.#mask;
    const count = this.#count;
    const waiting = this.#waiting;
    const ledger = this.#ledger;
    this.#reset();
    this.#written = this.#bytes = 0;
    this.#waiting = [];
    this.#firstSeq = this.#nextSeq = 1;
    if (this.#config.store) this.#storedSeq = 0;
    this.#ledger = new Ledger<Out>();
    this.#occupancy();
    for (let k = 0; k < count; k++) {
      const at = ((start + k) & mask) * STRIDE;
      this.#config.onDrop(ring[at + MESSAGE] as Out, reason, ring[at + PROMISED] as boolean);
    }
    ledger.end(reason);
    for (const entry of waiting) {
      entry.timer?.unsubscribe();
      this.#drop(entry, reason);
    }
    return count;
  }

  /** Where the `k`-th unacknowledged message's slots begin. */
  #slot(k: number): number {
    return ((this.#start + k) & this.#mask) * STRIDE;
  }

  /** Numbers and retains a message; with a session store, writes it ahead first. */
  #admit(message: Out, data: WireData, bytes: number, promised: boolean, order = this.#config.ticket()): number {
    const seq = this.#nextSeq++;
    if (this.#count > this.#mask) this.#grow();
    const ring = this.#ring;
    const at = this.#slot(this.#count++);
    if (this.#count > this.#peak) this.#peak = this.#count;
    ring[at + MESSAGE] = message;
    ring[at + DATA] = data;
    ring[at + ORDER] = order;
    ring[at + BYTES] = bytes;
    ring[at + PROMISED] = promised;
    this.#bytes += bytes;
    const { store } = this.#config;
    if (!store || this.#storedSeq === Infinity) return seq;
    // Write-ahead: to the socket only once stored (the store answers in order).
    const ledger = this.#ledger;
    void store(seq, data).then(() => {
      if (ledger !== this.#ledger) return; // the session was cleared meanwhile
      this.#storedSeq = seq;
      this.#config.admitted();
    });
    return seq;
  }

  /** No ring (a burst's large one is not kept for good). */
  #reset(): void {
    this.#ring = [];
    this.#mask = -1;
    this.#start = this.#count = 0;
  }

  /** Doubles the ring (or makes the first), the oldest message first. */
  #grow(): void {
    const old = this.#ring;
    const from = this.#start * STRIDE;
    const capacity = Math.max(INITIAL_CAPACITY, (this.#mask + 1) * 2);
    const ring = new Array<unknown>(capacity * STRIDE);
    let to = 0;
    for (let i = from; i < old.length; i++) ring[to++] = old[i];
    for (let i = 0; i < from; i++) ring[to++] = old[i];
    this.#ring = ring;
    this.#mask = capacity - 1;
    this.#start = 0;
  }

  #expire(entry: Waiting<Out>): void {
    const index = this.#waiting.indexOf(entry);
    if (index < 0) return;
    this.#waiting.splice(index, 1);
    this.#occupancy();
    this.#drop(entry, 'timeout');
  }

  /** Tells `onOccupied` when the retention goes from empty to not and back. */
  #occupancy(): void {
    const occupied = this.#count > 0 || this.#waiting.length > 0;
    if (occupied === this.#occupied) return;
    this.#occupied = occupied;
    this.#config.onOccupied?.(occupied);
  }

  #refuse(entry: Waiting<Out>, reason: DropReason): Promise<void> | undefined {
    this.#drop(entry, reason);
    return entry.promise;
  }

  #drop(entry: Waiting<Out>, reason: DropReason): void {
    this.#config.onDrop(entry.message, reason, entry.promised);
    if (entry.reject) {
      entry.promise?.catch(noop);
      entry.reject(droppedError(reason, entry.message));
    }
  }
}
