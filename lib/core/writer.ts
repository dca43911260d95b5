import { concatMap, EMPTY, Observable, Subject, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { byteLength, type WireData } from './codec.js';
import type { OpenConnection } from './connection.js';
import { droppedError, quietRejection, type DropReason } from './errors.js';
import { newEntry, type OutgoingEntry } from './outgoing-entry.js';
import { SendQueue } from './send-queue.js';
import type { WriterConfig, WriterLane, WriterOwner } from './writer-config.js';

/** What the writer is doing (the model is `ws`'s `Sender`, whose state is one field too). */
const enum State {
  /** No open connection: messages wait in the queue. */
  Detached,
  /** A connection is attached and takes more: a message is written in the tick of its send. */
  Ready,
  /** The socket holds more than the high-water mark: one wait for it to drain is running. */
  Waiting,
  /** Closed for good: every message is dropped with the close's reason. */
  Closed,
}

/** A wake-up: a connection was attached, flush what waits. */
const WAKE = Symbol('wake');

/** How a flush ended: all written, stopped by backpressure, or no open socket. */
const enum Flush {
  Done,
  Blocked,
  Offline,
}

const noop = (): void => {};

/**
 * The single writer of one connection at a time, its state one explicit field. A message the
 * socket can take now (attached, open, under the high-water mark, and nothing waiting, so nothing
 * is overtaken) is written in the tick of its send, with no allocation but its promise. Every
 * other message enters one Subject: an admission stage puts it in the bounded, expiring
 * {@link SendQueue} and wakes the one `concatMap` stage, which writes the queue in order and
 * waits for the socket to drain as often as it has to; while that wait runs, nothing is written
 * at once and no second wake-up is let through. (Sending every message through the Subject
 * doubled the CPU per message: see docs/architecture.md.) Control messages that belong to one
 * connection (a handshake's, an application-level ping, a channel's subscription) are written by
 * {@link Writer.writeNow}, ahead of the queue. When the writer closes, one place fails every
 * pending message.
 */
export class Writer<Out, Config extends WriterConfig = WriterConfig, Owner extends WriterOwner<Out> = WriterOwner<Out>> {
  // The Subject, its stage and the queue are made when the first message has to wait: a
  // connection whose messages all go out at once (most idle ones) holds none of them.
  #stage: Stage<Out> | undefined;
  /** Its settings (an {@link Outbox}'s include its own). */
  protected readonly config: Config;
  /** Where drops and the queue's occupancy go: the socket (or peer) that owns the writer. */
  protected readonly owner: Owner;
  #state = State.Detached;
  #conn: OpenConnection | undefined;
  #lane: WriterLane | undefined;
  #tickets = 0;
  /** Messages written in the tick of their send: a client's sign of use (no clock read per send). */
  writtenAtOnce = 0;

  constructor(config: Config, owner: Owner) {
    this.config = config;
    this.owner = owner;
  }

  /** The one Subject and its `concatMap` stage (with the queue), made on first need. */
  #input(): Subject<OutgoingEntry<Out> | typeof WAKE> {
    if (this.#stage) return this.#stage.input;
    const config = this.config;
    const queue = new SendQueue<OutgoingEntry<Out>>({
      size: config.size,
      bytes: config.bytes, // undefined: unbounded
      overflow: config.overflow,
      scheduler: config.scheduler,
      onDrop: (entry, reason) => this.#drop(entry, reason),
      onOccupied: (occupied) => this.owner.writerQueued(occupied),
    });
    const input = new Subject<OutgoingEntry<Out> | typeof WAKE>();
    this.#stage = { input, queue, stopWaiting: undefined };
    input.pipe(this.#admit(), concatMap(() => this.#write())).subscribe();
    return input;
  }

  /** Adds the lane of a session's reliable messages. */
  useLane(lane: WriterLane): void {
    this.#lane = lane;
  }

  /** The next write-order ticket: a lane's message and a queued one are written lowest ticket first. */
  ticket(): number {
    return ++this.#tickets;
  }

  /** The lane has a new message: write it now if the socket takes it, else wake the writing stage. */
  pump(): void {
    if (this.#state !== State.Ready) return; // detached: it waits; waiting for a drain: that loop writes it
    // Ready: no drain wait runs, so writing here is what the stage would do, without its Subject.
    if (this.#flush() === Flush.Blocked) this.#input().next(WAKE);
  }

  /** Whether nothing waits to be written (in the queue or the lane). */
  get idle(): boolean {
    const stage = this.#stage;
    return (stage === undefined || stage.queue.length === 0) && !this.#lane?.pending;
  }

  /** The scheduler of its timers. */
  get scheduler(): SchedulerLike {
    return this.config.scheduler;
  }

  /** Messages waiting to be written. */
  get waitingCount(): number {
    return this.#stage?.queue.length ?? 0;
  }

  /** Bytes of the messages waiting to be written. */
  get waitingBytes(): number {
    return this.#stage?.queue.bytes ?? 0;
  }

  /**
   * Sends `message`, serialized as `data`: the promise resolves when it is handed to the socket
   * (`onWritten` is called synchronously then) and rejects with `MessageDroppedError` when it is
   * dropped; it never rejects unobserved (every drop goes to `onDrop` too).
   */
  submit(message: Out, data: WireData, timeout: number, onWritten?: () => void): Promise<void> {
    if (this.#state === State.Closed) return this.refuse(message, 'closed');
    if (this.#free()) {
      const refused = this.#writeAtOnce(message, data, true);
      if (refused) return quietRejection(droppedError('error', message, refused.cause));
      onWritten?.();
      return Promise.resolve();
    }
    const entry = newEntry(message, data, timeout, true, onWritten);
    this.#input().next(entry);
    const { outcome } = entry;
    if (outcome === 'written') return Promise.resolve();
    if (outcome !== undefined) return quietRejection(droppedError(outcome, message, entry.cause));
    return (entry.promise = new Promise<void>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    }));
  }

  /** Sends `message` with no promise (`outgoing.next()`): a drop is reported by `onDrop` only. */
  offer(message: Out, data: WireData, timeout: number): void {
    if (this.#free()) return void this.#writeAtOnce(message, data, false);
    const entry = newEntry(message, data, timeout, false, undefined);
    if (this.#state === State.Closed) this.#drop(entry, 'closed');
    else this.#input().next(entry);
  }

  /** Drops `message` at once with `reason` (the socket is closed): reported like any drop. */
  refuse(message: Out, reason: DropReason): Promise<void> {
    const entry = newEntry(message, '', Infinity, true, undefined);
    this.#drop(entry, reason);
    return quietRejection(droppedError(reason, message));
  }

  /** A connection opened: write what waits, in order, before anything newer. */
  attach(conn: OpenConnection): void {
    if (this.#state === State.Closed) return;
    this.#conn = conn;
    this.#state = State.Ready;
    if (this.#stage) this.#stage.input.next(WAKE);
    else if (this.#lane?.pending) this.pump(); // no stage yet: only the lane may have something
  }

  /** The connection ended: stop writing; what waits stays for the next one. */
  detach(): void {
    this.#stage?.stopWaiting?.();
    this.#conn = undefined;
    if (this.#state !== State.Closed) this.#state = State.Detached;
  }

  /** The one place that fails every pending message: drops what waits and all later sends with `'closed'`. */
  close(): void {
    if (this.#state === State.Closed) return;
    this.detach();
    this.#state = State.Closed;
    this.#stage?.queue.clear('closed');
    // Completion, not unsubscription: close() may run inside the writing stage (a drop reported
    // there reaches an observer that closes), and the stage then ends as it returns.
    this.#stage?.input.complete();
  }

  /**
   * Writes `data` on `conn` at once, bypassing the queue and the high-water mark: for handshake
   * messages, application-level pings and channel subscriptions, which belong to one connection.
   * Does nothing if the socket is not open; throws what the socket's `send` throws.
   */
  writeNow(conn: OpenConnection, data: WireData): void {
    if (conn.transport.isOpen()) conn.transport.send(data);
  }

  /**
   * Admission to the queue: an entry waits there (or is dropped, for overflow), stamped with its
   * deadline and size; a wake-up goes on to the writing stage only while no wait runs.
   */
  #admit(): OperatorFunction<OutgoingEntry<Out> | typeof WAKE, typeof WAKE> {
    return (source) =>
      new Observable((subscriber) =>
        source.subscribe({
          next: (work) => {
            if (work !== WAKE) {
              if (work.timeout !== Infinity) work.deadline = this.config.scheduler.now() + work.timeout;
              work.order = ++this.#tickets;
              work.bytes = byteLength(work.data);
              if (!(this.#stage as Stage<Out>).queue.push(work)) return;
            }
            if (this.#state === State.Ready) subscriber.next(WAKE);
          },
          complete: () => subscriber.complete(),
        }),
      );
  }

  /** The writing stage: the queue in order, waiting for the socket to drain as often as it has to. */
  #write(): Observable<never> {
    return this.#flush() === Flush.Blocked ? this.#drained() : EMPTY;
  }

  /**
   * Whether a message may be written in the tick of its send: a connection is attached and takes
   * more (open, under the high-water mark), and nothing waits, so nothing can be overtaken.
   */
  #free(): boolean {
    const conn = this.#conn;
    return (
      this.#state === State.Ready &&
      (this.#stage === undefined || this.#stage.queue.length === 0) &&
      !this.#lane?.pending &&
      conn !== undefined &&
      conn.transport.isOpen() &&
      conn.transport.bufferedAmount() <= this.config.highWaterMark
    );
  }

  /** The direct path: writes in the tick of the send; if the socket refused, says what it threw. */
  #writeAtOnce(message: Out, data: WireData, promised: boolean): { cause: unknown } | undefined {
    try {
      (this.#conn as OpenConnection).transport.send(data);
    } catch (cause) {
      this.#drop(newEntry(message, data, Infinity, promised, undefined), 'error', cause);
      return { cause };
    }
    this.writtenAtOnce++;
    return undefined;
  }

  /** Writes one waiting entry and settles it; a socket that refuses it drops it with `'error'`. */
  #send(entry: OutgoingEntry<Out>): void {
    try {
      (this.#conn as OpenConnection).transport.send(entry.data);
    } catch (error) {
      // The socket refused this message (it stays usable): report it, go on with the next.
      return this.#drop(entry, 'error', error);
    }
    entry.outcome = 'written';
    entry.onWritten?.();
    entry.resolve?.();
  }

  /** Writes waiting messages in order while the socket takes more; drops the expired ones. */
  #flush(): Flush {
    const queue = this.#stage?.queue;
    const lane = this.#lane;
    const now = queue ? this.config.scheduler.now() : 0;
    for (;;) {
      const queued = queue !== undefined && queue.length > 0;
      const fromLane = lane !== undefined && lane.pending && (!queued || lane.nextOrder() < (queue.peek() as OutgoingEntry<Out>).order);
      if (!fromLane && !queued) return Flush.Done;
      const conn = this.#conn;
      if (!conn || !conn.transport.isOpen()) return Flush.Offline;
      if (conn.transport.bufferedAmount() > this.config.highWaterMark) return Flush.Blocked;
      if (fromLane) {
        // A frame the session made (a fresh copy): an open socket takes it.
        conn.transport.send(lane.take());
        continue;
      }
      const entry = (queue as SendQueue<OutgoingEntry<Out>>).shift() as OutgoingEntry<Out>;
      if (entry.deadline <= now) this.#drop(entry, 'timeout');
      else this.#send(entry);
    }
  }

  /** Waits until the socket drains, flushes, and repeats until nothing is blocked. */
  #drained(): Observable<never> {
    return new Observable<never>((subscriber) => {
      let cancel = noop;
      const wait = (): void => {
        const conn = this.#conn;
        if (!conn) return subscriber.complete();
        cancel = conn.transport.whenDrained(() => (this.#flush() === Flush.Blocked ? wait() : subscriber.complete()), this.config.scheduler);
      };
      this.#state = State.Waiting;
      const stage = this.#stage as Stage<Out>;
      stage.stopWaiting = () => subscriber.complete();
      wait();
      return () => {
        cancel();
        stage.stopWaiting = undefined;
        if (this.#state === State.Waiting) this.#state = State.Ready;
      };
    });
  }

  #drop(entry: OutgoingEntry<Out>, reason: DropReason, cause?: unknown): void {
    entry.outcome = reason;
    entry.bytes = 0;
    if (cause !== undefined) entry.cause = cause;
    this.owner.writerDropped(entry, reason, cause);
    // Every drop is reported by onDrop; a fire-and-forget send() must not crash the process with
    // an unhandled rejection, so the rejection is handled here. An awaiting caller still gets it.
    if (entry.reject) {
      entry.promise?.catch(noop);
      entry.reject(droppedError(reason, entry.message, cause));
    }
  }
}

/** A writer's waiting side: its Subject (the writing stage behind it), its queue, and how to end a wait for 'drain'. */
interface Stage<Out> {
  readonly input: Subject<OutgoingEntry<Out> | typeof WAKE>;
  readonly queue: SendQueue<OutgoingEntry<Out>>;
  stopWaiting: (() => void) | undefined;
}
