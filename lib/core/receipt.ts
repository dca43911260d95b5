import { droppedError, type DropReason, type MessageDroppedError } from './errors.js';

/** A promise's settlers, kept for a receipt someone is waiting on. */
interface Waiter<Out> {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (error: MessageDroppedError<Out>) => void;
  readonly message: Out;
}

const RESOLVED = Promise.resolve();

/**
 * What the receipts of one numbering of a session share: how far the peer has acknowledged, how
 * the numbering ended (if it did), and the receipts someone is waiting on. A new numbering (after
 * a lost or closed session) gets a new ledger; receipts of the old one keep theirs.
 */
export class Ledger<Out> {
  /** The peer has every message up to this one. */
  #acked = 0;
  #ended: DropReason | undefined;
  /** The receipts someone waits on, by sequence number (most come in order: appended). */
  #waiters: Array<Waiter<Out>> = [];

  /** The peer acknowledged every message up to `ack`: their waiting receipts resolve, in order. */
  acknowledge(ack: number): void {
    this.#acked = ack;
    const waiters = this.#waiters;
    let settled = 0;
    while (settled < waiters.length && (waiters[settled] as Waiter<Out>).seq <= ack) (waiters[settled++] as Waiter<Out>).resolve();
    if (settled > 0) waiters.splice(0, settled);
  }

  /** The numbering is over: every receipt not acknowledged rejects with `reason`. */
  end(reason: DropReason): void {
    this.#ended = reason;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(droppedError(reason, waiter.message));
  }

  /** A receipt waits for its message's acknowledgement (a send that waited for room has one from the start). */
  attach(waiter: Waiter<Out>): void {
    const waiters = this.#waiters;
    let at = waiters.length;
    while (at > 0 && (waiters[at - 1] as Waiter<Out>).seq > waiter.seq) at--;
    if (at === waiters.length) waiters.push(waiter);
    else waiters.splice(at, 0, waiter);
  }

  /** The promise of message `seq`'s receipt: settled already, or settled at its acknowledgement or the end. */
  settlement(seq: number, message: Out): Promise<void> {
    if (seq <= this.#acked) return RESOLVED;
    if (this.#ended !== undefined) return Promise.reject(droppedError(this.#ended, message));
    return new Promise<void>((resolve, reject) => this.attach({ seq, resolve, reject, message }));
  }
}

/**
 * The receipt a reliable `send()` returns: a promise that resolves when the peer acknowledges the
 * message and rejects with `MessageDroppedError` if it never will. It is `instanceof Promise`, and
 * `then`, `catch`, `finally`, `await` and `Promise.all` work as on any promise; the promise behind
 * it is only made when someone asks (`then`), so a flood of receipts nobody awaits costs one small
 * object each, not a promise and its settlers held until the acknowledgement.
 */
export class Receipt<Out> implements PromiseLike<void> {
  readonly #ledger: Ledger<Out>;
  readonly #seq: number;
  readonly #message: Out;
  #promise: Promise<void> | undefined;

  constructor(ledger: Ledger<Out>, seq: number, message: Out) {
    this.#ledger = ledger;
    this.#seq = seq;
    this.#message = message;
  }

  then<T1 = void, T2 = never>(
    onFulfilled?: ((value: void) => T1 | PromiseLike<T1>) | null,
    onRejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return (this.#promise ??= this.#ledger.settlement(this.#seq, this.#message)).then(onFulfilled, onRejected);
  }
}
// catch, finally and Symbol.toStringTag come from Promise.prototype; each goes through then().
Object.setPrototypeOf(Receipt.prototype, Promise.prototype);
