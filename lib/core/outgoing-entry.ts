import type { WireData } from './codec.js';
import type { DropReason, MessageDroppedError } from './errors.js';

/** An entry's outcome once it has left the writer: written, or dropped with a reason. */
export type Outcome = 'written' | DropReason;

/** A message on its way out; the writer owns it and the promise of its `send()`. */
export interface OutgoingEntry<Out> {
  /** The message as given to `send()`, for drop reports. */
  readonly message: Out;
  /** The serialized message. */
  readonly data: WireData;
  /** Milliseconds it may wait before it is dropped with `'timeout'` (`Infinity`: no limit). */
  readonly timeout: number;
  /**
   * Scheduler time after which it is dropped with `'timeout'`: set when it enters the queue, in the
   * tick of its `send()`, so the timeout counts from the call; a message written at once never
   * reads the clock.
   */
  deadline: number;
  /** Its write-order ticket, given when it enters the queue (a session's lane shares the count). */
  order: number;
  /** Its size while it waits in the queue (UTF-8 bytes of text, bytes of binary); 0 outside. */
  bytes: number;
  /** Set when it is written or dropped; undefined while it waits. */
  outcome: Outcome | undefined;
  /** With the outcome `'error'`: what the socket's `send` threw. */
  cause?: unknown;
  /** Whether a `send()` promise reports this message's fate (else only `onDrop` does). */
  readonly promised: boolean;
  /** Called synchronously when it is written (before the promise resolves). */
  readonly onWritten: (() => void) | undefined;
  /** The `send()` promise and its settlers, made only for a message that has to wait. */
  resolve: (() => void) | undefined;
  reject: ((error: MessageDroppedError<Out>) => void) | undefined;
  promise: Promise<void> | undefined;
}

/** A new entry for `message`, serialized as `data`. */
export function newEntry<Out>(message: Out, data: WireData, timeout: number, promised: boolean, onWritten: (() => void) | undefined): OutgoingEntry<Out> {
  return {
    message, data, timeout, deadline: Infinity, order: 0, bytes: 0, outcome: undefined, promised, onWritten,
    resolve: undefined, reject: undefined, promise: undefined,
  };
}

