import { asyncScheduler, Observable, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { RetriesExhaustedError } from './errors.js';
import { checkDelay, checkFunction, checkNumber, checkScheduler, invalid } from './validate.js';

/**
 * What {@link retryWithBackoff} tells about a retry it scheduled.
 *
 * @example
 * ```ts
 * const logRetry = (info: RetryInfo) => console.warn(`attempt ${info.attempt} in ${info.delay} ms`, info.error);
 * const feed$ = defer(() => fetchFeed()).pipe(retryWithBackoff({ onRetry: logRetry }));
 * ```
 */
export interface RetryInfo {
  /** The error that ended the failed attempt. */
  error: unknown;
  /** The number of the attempt that will follow the delay (2 = the first retry). */
  attempt: number;
  /** Milliseconds until that attempt. */
  delay: number;
}

/**
 * Options of {@link retryWithBackoff}.
 *
 * @example
 * ```ts
 * const options: RetryWithBackoffOptions = {
 *   initialDelay: 200,
 *   maxAttempts: 4,
 *   shouldRetry: (error) => !(error instanceof TypeError), // a bug, not an outage: fail at once
 * };
 * const feed$ = defer(() => fetchFeed()).pipe(retryWithBackoff(options));
 * ```
 */
export interface RetryWithBackoffOptions extends BackoffOptions {
  /**
   * Attempts in all, the first included (integer >= 1). When they are all spent the result errors
   * with {@link RetriesExhaustedError}.
   * @default Infinity
   */
  maxAttempts?: number;
  /**
   * Once the source has emitted and then stayed subscribed this many milliseconds, the failure
   * count goes back to 0 (>= 0 and <= 2147483647, or `Infinity` to never reset).
   * @default 5000
   */
  resetAfter?: number;
  /**
   * Whether an error is worth a retry; a `false` passes the error through unchanged.
   * @default () => true
   */
  shouldRetry?: (error: unknown) => boolean;
  /**
   * Called when a retry is scheduled, before the delay starts.
   * @default undefined
   */
  onRetry?: (info: RetryInfo) => void;
  /**
   * Called when the failure count goes back to 0 after `resetAfter`.
   * @default undefined
   */
  onReset?: () => void;
  /**
   * Scheduler for the delays.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/** The retry operator's own defaults (the backoff's are `BACKOFF_DEFAULTS`), documented on its options. */
export const RETRY_DEFAULTS = { maxAttempts: Infinity, resetAfter: 5000 } as const;

/**
 * Resubscribes to the source when it errors, after `backoffDelay(failures)` ms (exponential, full
 * jitter), up to `maxAttempts` attempts in all; a source that emitted and then stayed up
 * `resetAfter` ms starts the count again. Unsubscribing cancels a pending delay.
 *
 * @example
 * ```ts
 * const feed$ = defer(() => fetchFeed()).pipe(
 *   retryWithBackoff({ initialDelay: 500, maxDelay: 10_000, maxAttempts: 5 }),
 * );
 * ```
 */
export function retryWithBackoff<T>(options: RetryWithBackoffOptions = {}): MonoTypeOperatorFunction<T> {
  validateReconnect(options as Record<string, unknown>, '');
  const {
    maxAttempts = RETRY_DEFAULTS.maxAttempts,
    resetAfter = RETRY_DEFAULTS.resetAfter,
    shouldRetry = () => true,
    onRetry,
    onReset,
    scheduler = asyncScheduler,
  } = options;

  return (source) =>
    new Observable<T>((subscriber) => {
      let failures = 0;
      let inner: Subscription | undefined;
      let resetTimer: Subscription | undefined;
      let delayTimer: Subscription | undefined;

      const subscribeToSource = (): void => {
        let emitted = false;
        inner = source.subscribe({
          next: (value) => {
            if (!emitted) {
              emitted = true;
              if (resetAfter !== Infinity) {
                resetTimer = scheduler.schedule(() => {
                  failures = 0;
                  onReset?.();
                }, resetAfter);
              }
            }
            subscriber.next(value);
          },
          error: (error: unknown) => {
            resetTimer?.unsubscribe();
            failures++;
            let delay: number;
            try {
              if (!shouldRetry(error)) return subscriber.error(error);
              if (failures >= maxAttempts) return subscriber.error(new RetriesExhaustedError(failures, error));
              delay = backoffDelay(failures, options);
              onRetry?.({ error, attempt: failures + 1, delay });
            } catch (thrown) {
              // A throwing predicate or callback ends the result; it must not leave it hanging.
              return subscriber.error(thrown);
            }
            if (!subscriber.closed) delayTimer = scheduler.schedule(subscribeToSource, delay);
          },
          complete: () => {
            resetTimer?.unsubscribe();
            subscriber.complete();
          },
        });
      };

      subscribeToSource();
      return () => {
        inner?.unsubscribe();
        resetTimer?.unsubscribe();
        delayTimer?.unsubscribe();
      };
    });
}

/** Validates the options of `reconnect` / `retryWithBackoff`; `prefix` names them in messages. */
export function validateReconnect(r: Record<string, unknown>, prefix: string): void {
  checkDelay(`${prefix}initialDelay`, r.initialDelay);
  checkDelay(`${prefix}maxDelay`, r.maxDelay);
  checkNumber(`${prefix}factor`, r.factor, { min: 1 });
  checkNumber(`${prefix}maxAttempts`, r.maxAttempts, { min: 1, integer: true, infinity: true });
  checkDelay(`${prefix}resetAfter`, r.resetAfter, { infinity: true });
  if (r.jitter !== undefined && typeof r.jitter !== 'boolean') invalid(`${prefix}jitter`, 'a boolean', r.jitter);
  checkFunction(`${prefix}random`, r.random);
  checkFunction(`${prefix}shouldReconnect`, r.shouldReconnect);
  checkFunction(`${prefix}shouldRetry`, r.shouldRetry);
  checkFunction(`${prefix}onRetry`, r.onRetry);
  checkFunction(`${prefix}onReset`, r.onReset);
  checkScheduler(`${prefix}scheduler`, r.scheduler);
  // Only when both are given: a lone maxDelay below the default initialDelay simply caps it.
  if (typeof r.initialDelay === 'number' && typeof r.maxDelay === 'number' && r.maxDelay < r.initialDelay) {
    invalid(`${prefix}maxDelay`, `a number >= \`${prefix}initialDelay\` (${r.initialDelay})`, r.maxDelay, RangeError);
  }
}
