import type { SchedulerLike, Subscription } from 'rxjs';
import type { WireData } from './codec.js';
import type { OpenConnection } from './connection.js';
import type { DropReason } from './errors.js';
import { Retention } from './retention.js';
import { SessionProtocolError } from './session-errors.js';
import { ackFrame, reliableFrame, type SessionFrame } from './session-frames.js';
import type { Writer } from './writer.js';
import type { ResolvedSession } from './session-options.js';

/** One write to a session store: a message received (and delivered), and the messages sent meanwhile. */
export interface StoreBatch {
  readonly received?: number;
  readonly sent: ReadonlyArray<{ readonly seq: number; readonly data: WireData }>;
}

/** What one end's session state needs. */
export interface ResumableConfig<Out> {
  /** The session's options: the retention's bounds, and the least time between two acknowledgement frames. */
  session: ResolvedSession;
  /** Reliable sends that may wait for room in the retention. */
  waitLimit: number;
  scheduler: SchedulerLike;
  writer: Writer<Out>;
  onDrop: (message: Out, reason: DropReason, promised: boolean) => void;
  /** Reliable messages are unacknowledged or waiting (`true`), or none (`false`). */
  onOccupied?: (occupied: boolean) => void;
  /**
   * With a session store (sessions that outlive their node): an outgoing message goes to the
   * socket only once stored; an incoming one is delivered (through `deliver`) and then stored as
   * received together with every message its handler sent meanwhile, in one write — all or none,
   * so a node that dies midway leaves either the message and its answers, or neither (and the
   * client sends it again). It is acknowledged once stored. `write` resolves when stored, or when
   * the store failed (reported by it: the guarantee then holds on this node only).
   */
  store?: {
    readonly write: (batch: StoreBatch) => Promise<void>;
    readonly acknowledged: (seq: number) => void;
    readonly deliver: (payload: string | Uint8Array) => void;
  };
}

/**
 * One end of a resumable session, role-free: the outgoing retention (numbered, acknowledged,
 * replayed) and the incoming position (the last reliable message delivered in order, duplicates
 * discarded), with the acknowledgements between them: cumulative, piggybacked on a reliable
 * message when one goes out, else an `A` frame at most once per `ackInterval`.
 */
export class Resumable<Out> {
  /** The session's id, once the server named it. */
  id: string | undefined;
  readonly retention: Retention<Out>;
  readonly #config: ResumableConfig<Out>;
  /** The last reliable sequence number delivered in order. */
  #received = 0;
  /** The last one accepted: delivered (with a store, perhaps not stored yet). */
  #accepted = 0;
  /** With a store, while an incoming message's handler runs: what it sends joins its write. */
  #batch: { sent: Array<{ seq: number; data: WireData }>; done: Promise<void>; settle: () => void } | undefined;
  #epoch = 0;
  /** The last one acknowledged to the peer. */
  #acked = 0;
  /** When the last acknowledgement went out, alone or piggybacked. */
  #lastAckAt = -Infinity;
  #ackTimer: Subscription | undefined;
  #conn: OpenConnection | undefined;

  constructor(config: ResumableConfig<Out>) {
    this.#config = config;
    const { writer } = config;
    // A literal, not a spread: V8 gives each `{ ...a, b }` a hidden class of its own.
    const { retain } = config.session;
    this.retention = new Retention<Out>({
      size: retain.size,
      bytes: retain.bytes,
      waitLimit: config.waitLimit,
      scheduler: config.scheduler,
      frame: (seq, data) => reliableFrame(seq, this.#piggyback(), data),
      ticket: () => writer.ticket(),
      admitted: () => writer.pump(),
      onDrop: config.onDrop,
      onOccupied: config.onOccupied,
      store: config.store && ((seq: number, data: WireData) => this.#stored(seq, data)),
    });
    writer.useLane(this.retention);
  }

  /** The last reliable sequence number this end received in order (what a hello or welcome says). */
  get received(): number {
    return this.#received;
  }

  /** Sends a reliable message: retained, numbered, written when the writer gets to it. */
  send(message: Out, data: WireData, timeout: number, promised: boolean): Promise<void> | undefined {
    return this.retention.add(message, data, timeout, promised);
  }

  /**
   * An incoming frame: the payload to decode and deliver, or undefined (an acknowledgement, a
   * duplicate). Throws {@link SessionProtocolError} for a gap, an acknowledgement of what was
   * never sent, or a hello or welcome mid-session.
   */
  receive(frame: SessionFrame): string | Uint8Array | undefined {
    switch (frame.kind) {
      case 'volatile':
        return frame.payload;
      case 'reliable': {
        if (frame.ack > 0) this.#acknowledge(frame.ack);
        const expected = this.#accepted + 1;
        if (frame.seq < expected) {
          this.#scheduleAck();
          return undefined; // a replay of what already arrived
        }
        if (frame.seq > expected) throw new SessionProtocolError(`reliable message ${frame.seq} arrived while ${expected} was expected`);
        this.#accepted = frame.seq;
        if (this.#config.store) return void this.#deliverThenStore(frame.seq, frame.payload);
        this.#received = frame.seq;
        this.#scheduleAck();
        return frame.payload;
      }
      case 'ack':
        this.#acknowledge(frame.ack);
        return undefined;
      default:
        throw new SessionProtocolError(`a ${frame.kind} frame arrived in the middle of a session`);
    }
  }

  /**
   * A connection of this session is open and the peer said what it has (`peerAck`): those
   * receipts resolve, and every other unacknowledged message is written again, in order.
   */
  attach(conn: OpenConnection, peerAck: number): void {
    this.#conn = conn;
    this.#acknowledge(peerAck);
    this.retention.rewind();
    this.#acked = this.#received; // the hello or welcome carried it
  }

  /** The connection ended: the session waits for the next one. */
  detach(): void {
    this.#conn = undefined;
    this.#ackTimer?.unsubscribe();
    this.#ackTimer = undefined;
  }

  /**
   * The session is over: every unacknowledged (and waiting) reliable message is dropped with
   * `reason`; a new session starts from sequence 1 both ways. Returns how many were unacknowledged.
   */
  end(reason: DropReason): number {
    this.detach();
    this.id = undefined;
    this.#received = this.#accepted = this.#acked = 0;
    this.#epoch++;
    return this.retention.clear(reason);
  }

  /**
   * Takes over a session that another node held (its state from a session store): what was
   * received, and the outgoing messages not yet acknowledged, to be written again.
   */
  restore(received: number, lastSent: number, outgoing: ReadonlyArray<{ readonly seq: number; readonly data: WireData }>): void {
    this.#received = this.#accepted = this.#acked = received;
    this.retention.restore(outgoing, lastSent);
  }

  #acknowledge(ack: number): void {
    const before = this.retention.lastSeq - this.retention.unacknowledged;
    this.retention.acknowledge(ack);
    if (ack > before) this.#config.store?.acknowledged(ack);
  }

  /**
   * With a store: delivers `seq`, then writes it as received together with what its handler sent,
   * in one write; acknowledged once that is stored.
   */
  #deliverThenStore(seq: number, payload: string | Uint8Array): void {
    const store = this.#config.store as NonNullable<ResumableConfig<Out>['store']>;
    let settle!: () => void;
    const batch = { sent: [] as Array<{ seq: number; data: WireData }>, done: new Promise<void>((resolve) => (settle = resolve)), settle };
    this.#batch = batch;
    try {
      store.deliver(payload);
    } finally {
      this.#batch = undefined;
    }
    const epoch = this.#epoch;
    void store.write({ received: seq, sent: batch.sent }).then(() => {
      batch.settle(); // its messages may go to the socket now
      if (epoch !== this.#epoch) return;
      this.#received = Math.max(this.#received, seq);
      this.#scheduleAck();
    });
  }

  /** With a store: an outgoing message is stored with the incoming one being handled, or alone. */
  #stored(seq: number, data: WireData): Promise<void> {
    const batch = this.#batch;
    if (!batch) return (this.#config.store as NonNullable<ResumableConfig<Out>['store']>).write({ sent: [{ seq, data }] });
    batch.sent.push({ seq, data });
    return batch.done;
  }

  /**
   * The acknowledgement a reliable frame written now carries (0: none needed). It counts as an
   * acknowledgement sent: the next `A` frame waits `ackInterval` after it.
   */
  #piggyback(): number {
    if (this.#received <= this.#acked) return 0;
    this.#acked = this.#received;
    this.#lastAckAt = this.#config.scheduler.now();
    return this.#received;
  }

  /**
   * An `A` frame `ackInterval` after the last acknowledgement (at once if that was longer ago),
   * unless a reliable message carries it first. Measured from a piggybacked one too: while
   * messages flow both ways (request and reply) their frames carry every acknowledgement, and a
   * timer of 0 ms after each message received, found idle when it fires, cost a wake-up per
   * millisecond per end (the session-rtt benchmark: +50 to +100 µs p50 per round trip).
   */
  #scheduleAck(): void {
    if (this.#ackTimer || !this.#conn) return;
    this.#ackTimer = this.#config.scheduler.schedule(() => this.#ackDue(), this.#ackDelay());
  }

  /** Milliseconds until an `A` frame may go out. */
  #ackDelay(): number {
    return Math.max(0, this.#lastAckAt + this.#config.session.ackInterval - this.#config.scheduler.now());
  }

  /**
   * The timer: an `A` frame if an acknowledgement is still owed. One that fired early waits the
   * rest: Node's timers count from the event loop's clock, read when its iteration began, so a
   * timer set late in a long tick (a large read of many messages) fires that much early.
   */
  #ackDue(): void {
    this.#ackTimer = undefined;
    const conn = this.#conn;
    if (!conn || this.#received <= this.#acked) return;
    const wait = this.#ackDelay();
    if (wait > 0) {
      this.#ackTimer = this.#config.scheduler.schedule(() => this.#ackDue(), wait);
      return;
    }
    this.#acked = this.#received;
    this.#config.writer.writeNow(conn, ackFrame(this.#received));
    // Read after the write: a collection triggered by writing it must not shorten the next gap.
    this.#lastAckAt = this.#config.scheduler.now();
  }
}
