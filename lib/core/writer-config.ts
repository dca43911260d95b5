import type { SchedulerLike } from 'rxjs';
import type { WireData } from './codec.js';
import type { DropReason } from './errors.js';
import type { OutgoingEntry } from './outgoing-entry.js';
import type { OverflowPolicy } from './send-queue.js';

// What a Writer is given: its settings, its owner, and a session's second source of messages.

/** Configuration of a {@link Writer}: one object may serve many (a server's for all its peers). */
export interface WriterConfig {
  /** Messages the queue may hold (and their bytes, if bounded); what happens when it is full. */
  size: number;
  bytes?: number;
  overflow: OverflowPolicy;
  /** Bytes the socket may hold unsent before the writer waits for it to drain. */
  highWaterMark: number;
  scheduler: SchedulerLike;
}

/** What a writer tells its owner: methods, not callbacks, so that a connection's writer config holds no closures. */
export interface WriterOwner<Out> {
  /** Every drop, before the `send()` promise rejects; `cause` is the socket's error for `'error'`. */
  writerDropped(entry: OutgoingEntry<Out>, reason: DropReason, cause: unknown): void;
  /** The queue became occupied (`true`) or empty (`false`); a client holds its connection meanwhile. */
  writerQueued(occupied: boolean): void;
}

/**
 * A second source of messages for the writer: a session's reliable messages, which wait in its
 * retention rather than in the queue (they are never dropped for overflow or timeout once
 * admitted). Its messages and the queue's are written in the order of their tickets.
 */
export interface WriterLane {
  /** Whether a message waits to be written on the current connection. */
  readonly pending: boolean;
  /** The ticket of the next one (`Infinity`: none). */
  nextOrder(): number;
  /** The next one's frame; it counts as written. */
  take(): WireData;
}
