import { asyncScheduler, Observable, type MonoTypeOperatorFunction, type Observer, type SchedulerLike, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { RetriesExhaustedError } from './errors.js';
import { Listener } from './listener.js';
import { addTeardown } from './teardown.js';
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
  const policy = { shouldRetry: options.shouldRetry ?? alwaysRetry, onRetry: options.onRetry, onReset: options.onReset };
  return retryWith(retrySettingsOf(options, options.scheduler ?? asyncScheduler), policy);
}

/** The settings of validated retry options, their defaults applied: the backoff's copied in, the caller's object not kept. */
export function retrySettingsOf(options: Omit<RetryWithBackoffOptions, 'scheduler'>, scheduler: SchedulerLike): RetrySettings {
  return {
    initialDelay: options.initialDelay,
    maxDelay: options.maxDelay,
    factor: options.factor,
    jitter: options.jitter,
    random: options.random,
    maxAttempts: options.maxAttempts ?? RETRY_DEFAULTS.maxAttempts,
    resetAfter: options.resetAfter ?? RETRY_DEFAULTS.resetAfter,
    scheduler,
  };
}

const alwaysRetry = (): boolean => true;

/**
 * What decides on a retry and hears of it: the options' callbacks, or the methods of an object
 * that owns the retried source (a client's lifecycle, with no closures per client).
 */
export interface RetryPolicy {
  shouldRetry(error: unknown): boolean;
  onRetry?(info: RetryInfo): void;
  onReset?(): void;
}

/**
 * The operator's options, its own defaults applied (the backoff's apply in `backoffDelay`): one
 * object for all its subscriptions, and for all the clients whose options are equal.
 */
export interface RetrySettings extends BackoffOptions {
  readonly maxAttempts: number;
  readonly resetAfter: number;
  readonly scheduler: SchedulerLike;
}

/** {@link retryWithBackoff} on settings its caller made (and validated): what a client's lifecycle pipes its dial through, `policy` the lifecycle. */
export function retryWith<T>(settings: RetrySettings, policy: RetryPolicy): MonoTypeOperatorFunction<T> {
  return (source) => new Retried(source, settings, policy);
}

/** The retried source: a class rather than `new Observable(subscriber => …)`, which would keep a closure and its scope per client. */
class Retried<T> extends Observable<T> {
  /** The source retried (not `source`: an Observable's own field of that name is for `lift`). */
  readonly input: Observable<T>;
  readonly settings: RetrySettings;
  readonly policy: RetryPolicy;

  constructor(source: Observable<T>, settings: RetrySettings, policy: RetryPolicy) {
    super();
    this.input = source;
    this.settings = settings;
    this.policy = policy;
  }

  /** What `Observable.subscribe` calls with its subscriber (the hook `Subject` overrides too). */
  protected _subscribe(subscriber: Subscriber<T>): undefined {
    addTeardown(subscriber, new Retrying(this, subscriber));
  }
}

type Work = (this: unknown, retrying?: Retrying<unknown>) => void;

/**
 * One subscription to the result: the observer of each subscription to the source, the timers'
 * state and the teardown (an object with `unsubscribe()`), in one object rather than a scope of
 * closures per subscription (a client holds one per connection).
 */
class Retrying<T> implements Observer<T>, Unsubscribable {
  /** Its source, settings and policy. */
  readonly #retried: Retried<T>;
  readonly #subscriber: Subscriber<T>;
  #failures = 0;
  /** Whether the current subscription to the source has emitted. */
  #emitted = false;
  #inner: Subscription | undefined;
  #resetTimer: Subscription | undefined;
  #delayTimer: Subscription | undefined;

  static readonly #subscribeWork: Work = (retrying) => (retrying as Retrying<unknown>).#subscribe();
  static readonly #resetWork: Work = (retrying) => (retrying as Retrying<unknown>).#reset();

  constructor(retried: Retried<T>, subscriber: Subscriber<T>) {
    this.#retried = retried;
    this.#subscriber = subscriber;
    this.#subscribe();
  }

  next(value: T): void {
    if (!this.#emitted) {
      this.#emitted = true;
      const { resetAfter, scheduler } = this.#retried.settings;
      if (resetAfter !== Infinity) this.#resetTimer = scheduler.schedule(Retrying.#resetWork, resetAfter, this as Retrying<unknown>);
    }
    this.#subscriber.next(value);
  }

  error(error: unknown): void {
    this.#resetTimer?.unsubscribe();
    const failures = ++this.#failures;
    const { settings, policy } = this.#retried;
    const { maxAttempts, scheduler } = settings;
    const subscriber = this.#subscriber;
    let delay: number;
    try {
      if (!policy.shouldRetry(error)) return subscriber.error(error);
      if (failures >= maxAttempts) return subscriber.error(new RetriesExhaustedError(failures, error));
      delay = backoffDelay(failures, settings);
      policy.onRetry?.({ error, attempt: failures + 1, delay });
    } catch (thrown) {
      // A throwing predicate or callback ends the result; it must not leave it hanging.
      return subscriber.error(thrown);
    }
    if (!subscriber.closed) this.#delayTimer = scheduler.schedule(Retrying.#subscribeWork, delay, this as Retrying<unknown>);
  }

  complete(): void {
    this.#resetTimer?.unsubscribe();
    this.#subscriber.complete();
  }

  unsubscribe(): void {
    this.#inner?.unsubscribe();
    this.#resetTimer?.unsubscribe();
    this.#delayTimer?.unsubscribe();
  }

  #subscribe(): void {
    this.#emitted = false;
    // A Listener is its own subscription: RxJS takes it as the subscriber (no SafeSubscriber around this).
    this.#inner = this.#retried.input.subscribe(new Listener<T>(this));
  }

  #reset(): void {
    this.#resetTimer = undefined; // it ran: nothing to keep for the rest of the connection
    this.#failures = 0;
    this.#retried.policy.onReset?.();
  }
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
