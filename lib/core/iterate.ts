import { Observable, type Subscriber, type Subscription } from 'rxjs';
import { eachValueFrom } from 'rxjs-for-await';
import { checkFunction, checkKeys, checkNumber, checkOptionsObject, invalid } from './validate.js';

/**
 * What a `for await` loop does when it falls behind: `'drop-oldest'` evicts the message that has
 * waited longest, `'drop-newest'` drops the new arrival, `'error'` ends the loop with an
 * {@link IterationOverflowError}.
 *
 * @example
 * ```ts
 * const overflow: IterationOverflow = 'error'; // a script that must see every message fails loudly
 * for await (const msg of socket.iterate({ size: 10_000, overflow })) console.log(msg);
 * ```
 */
export type IterationOverflow = 'drop-oldest' | 'drop-newest' | 'error';

/**
 * Bounds of one async iteration (`for await`) over a socket, a channel or any Observable.
 *
 * @example
 * ```ts
 * const options: IterateOptions<Message> = { size: 100, overflow: 'drop-oldest', onDrop: (msg) => console.warn('behind', msg) };
 * for await (const msg of socket.iterate(options)) console.log(msg);
 * ```
 */
export interface IterateOptions<T = unknown> {
  /**
   * Messages that may wait for a slow loop (integer >= 1, or `Infinity` for no bound).
   * @default 1000
   */
  size?: number;
  /**
   * What a full buffer does.
   * @default 'drop-oldest'
   */
  overflow?: IterationOverflow;
  /**
   * Called with every message dropped for overflow, synchronously, in order.
   * @default undefined
   */
  onDrop?: (message: T) => void;
}

/**
 * An async iterator over messages, bounded: `dropped` counts what overflow discarded. `return()`
 * (a `break`, or `Readable.from(...).destroy()`) settles at once, also while a `next()` waits, and
 * lets go of the source.
 *
 * @example
 * ```ts
 * const messages = socket.iterate({ size: 100 });
 * for await (const msg of messages) if (msg.type === 'bye') break;
 * console.log(`${messages.dropped} messages dropped while the loop was busy`);
 * ```
 */
export interface MessageIterator<T> extends AsyncIterableIterator<T> {
  /** Messages discarded because the loop fell more than `size` behind. */
  readonly dropped: number;
}

/**
 * A `for await` loop fell more than `size` messages behind with `overflow: 'error'`.
 *
 * @example
 * ```ts
 * try {
 *   for await (const msg of socket.iterate({ size: 100, overflow: 'error' })) console.log(msg);
 * } catch (e) {
 *   if (e instanceof IterationOverflowError) console.error(`fell ${e.size} messages behind`);
 * }
 * ```
 */
export class IterationOverflowError extends Error {
  override name = 'IterationOverflowError';
  /** The bound that was exceeded. */
  readonly size: number;

  constructor(size: number) {
    super(`The loop fell more than ${size} messages behind (overflow: 'error')`);
    this.size = size;
  }
}

/** The iteration's defaults, documented on {@link IterateOptions}. */
export const ITERATE_DEFAULTS = { size: 1000, overflow: 'drop-oldest' } as const;

/**
 * Iterates `source` with `for await`, through `rxjs-for-await`'s `eachValueFrom`, paced so that
 * what the loop has not taken yet waits in one bounded queue here (not in an unbounded one).
 * Subscribes on the first `next()`; `break` unsubscribes.
 *
 * @example
 * ```ts
 * import { filter } from 'rxjs';
 * for await (const trade of iterate(socket.messages$.pipe(filter((m) => m.type === 'trade')), { size: 500 })) {
 *   console.log(trade);
 * }
 * ```
 */
export function iterate<T>(source: Observable<T>, options: IterateOptions<T> = {}): MessageIterator<T> {
  const { size = ITERATE_DEFAULTS.size, overflow = ITERATE_DEFAULTS.overflow, onDrop } = options;
  const queue: T[] = [];
  let demand = 0; // next() calls that wait for a value
  let dropped = 0;
  let end: { error: unknown } | 'complete' | undefined; // how the source ended, once queue drains
  let out: Subscriber<T> | undefined;
  let upstream: Subscription | undefined;

  const settle = (): void => {
    if (!out || out.closed || queue.length > 0 || end === undefined) return;
    if (end === 'complete') out.complete();
    else out.error(end.error);
  };
  const pull = (): void => {
    if (!out || out.closed) return;
    if (queue.length > 0) out.next(queue.shift() as T);
    else if (end === undefined) demand++;
    settle();
  };
  const paced = new Observable<T>((subscriber) => {
    out = subscriber;
    upstream = source.subscribe({
      next: (value) => {
        if (demand > 0) {
          demand--;
          return subscriber.next(value);
        }
        if (queue.length < size) return void queue.push(value);
        if (overflow === 'error') {
          end = { error: new IterationOverflowError(size) };
          queue.length = 0;
          upstream?.unsubscribe();
          return settle();
        }
        dropped++;
        const victim = overflow === 'drop-oldest' ? (queue.shift() as T) : value;
        if (overflow === 'drop-oldest') queue.push(value);
        onDrop?.(victim);
      },
      error: (error: unknown) => {
        end = { error };
        settle();
      },
      complete: () => {
        end = 'complete';
        settle();
      },
    });
    return () => upstream?.unsubscribe();
  });

  const generator = eachValueFrom(paced);
  let started = false;
  const stop = (): void => {
    queue.length = 0;
    end ??= 'complete';
    upstream?.unsubscribe();
    // Ends the generator's pending next() with done, so that its queued return() can run.
    if (out && !out.closed) out.complete();
  };
  const iterator: MessageIterator<T> = {
    get dropped() {
      return dropped;
    },
    next() {
      started = true;
      const result = generator.next();
      pull();
      return result;
    },
    return(value?: unknown) {
      stop();
      if (!started || !generator.return) return Promise.resolve({ done: true, value: value as T });
      return generator.return(value as T);
    },
    throw(error?: unknown) {
      stop();
      if (!started || !generator.throw) return Promise.reject(error);
      return generator.throw(error);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

const ITERATION_KEYS = ['size', 'overflow', 'onDrop'] as const;

/** Validates the options of an async iteration (`iterate()`, `socket.iterate()`, `iteration`). */
export function validateIterateOptions(options: unknown, prefix = ''): void {
  if (options === undefined) return;
  checkOptionsObject(prefix ? prefix.slice(0, -1) : 'options', options);
  checkKeys(prefix, options, ITERATION_KEYS);
  checkNumber(`${prefix}size`, options.size, { min: 1, integer: true, infinity: true });
  const { overflow } = options;
  if (overflow !== undefined && overflow !== 'drop-oldest' && overflow !== 'drop-newest' && overflow !== 'error') {
    invalid(`${prefix}overflow`, "'drop-oldest', 'drop-newest' or 'error'", overflow);
  }
  checkFunction(`${prefix}onDrop`, options.onDrop);
}

