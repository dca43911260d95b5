import { config, Subscription, type Observer } from 'rxjs';
import { addTeardown } from './teardown.js';

/** A {@link Listener}'s observer once it ended: a Smi, unlike any observer. */
const STOPPED = 0;

/** What an application passes to `subscribe()`: a `next` function, or a (partial) observer. */
export type ObserverOrNext<T> = Partial<Observer<T>> | ((value: T) => void) | null | undefined;

/**
 * An application's subscription to one of a socket's own streams (`state$`, `dropped$`,
 * `errors$`, `messages$`): its observer and its subscription in one object. `subscribe(fn)` on an
 * `Observable` makes a `SafeSubscriber`, a consumer and an observer object around `fn`: 152
 * bytes, which a connection keeps for each of its application's subscriptions (a server, for each
 * of its thousands of peers). This is 64, and behaves as RxJS's: a handler that throws is
 * reported as unhandled (to `config.onUnhandledError`, or thrown in a later task) and does not
 * stop the stream; an error without an `error` handler is reported so; nothing reaches a handler
 * after an end or `unsubscribe()`; an end unsubscribes it (its teardowns run).
 *
 * @example
 * const listener = new Listener<number>((n) => console.log(n));
 * listener.next(1); // logs 1
 * listener.unsubscribe();
 * listener.next(2); // nothing
 */
export class Listener<T> extends Subscription implements Observer<T> {
  /** `STOPPED` once it ended or was unsubscribed: nothing reaches the observer after that. */
  #observer: Partial<Observer<T>> | ((value: T) => void) | undefined | typeof STOPPED;

  constructor(observer: ObserverOrNext<T>) {
    super();
    this.#observer = observer ?? undefined;
  }

  next(value: T): void {
    const observer = this.#observer;
    if (observer === STOPPED) return;
    try {
      if (typeof observer === 'function') observer(value);
      else observer?.next?.(value);
    } catch (error) {
      reportUnhandled(error);
    }
  }

  error(error: unknown): void {
    const observer = this.#observer;
    if (observer === STOPPED) return;
    this.#observer = STOPPED;
    try {
      if (typeof observer === 'object' && observer.error) observer.error(error);
      else reportUnhandled(error);
    } catch (thrown) {
      reportUnhandled(thrown);
    }
    this.unsubscribe();
  }

  complete(): void {
    const observer = this.#observer;
    if (observer === STOPPED) return;
    this.#observer = STOPPED;
    try {
      if (typeof observer === 'object') observer.complete?.();
    } catch (thrown) {
      reportUnhandled(thrown);
    }
    this.unsubscribe();
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.#observer = STOPPED;
    super.unsubscribe();
    this.ended();
  }

  /** Called once, after its teardowns ran: what a subclass lets go of (a hold on a connection). */
  protected ended(): void {}
}

/**
 * Whether `subscribe()`'s arguments can be a {@link Listener}: one `next` function or observer,
 * not a subscriber of an operator's (or any Observer that is its own Subscription, which RxJS
 * takes as it is), and no deprecated RxJS mode that changes how handlers are called.
 */
export function listenable<T>(args: readonly unknown[]): args is [ObserverOrNext<T>] | [] {
  if (args.length > 1 || config.useDeprecatedSynchronousErrorHandling || config.useDeprecatedNextContext) return false;
  const first = args[0];
  // Anything with `unsubscribe()` (a Subscriber, a Subscription that observes) goes to RxJS.
  return first == null || typeof first === 'function' || (typeof first === 'object' && typeof (first as { unsubscribe?: unknown }).unsubscribe !== 'function');
}

/**
 * The `subscribe()` of an Observable class of rxwire's: a {@link Listener} (made by `make`) where
 * the arguments allow (`attach` registers it and returns its teardown, if any), RxJS's own
 * otherwise.
 */
export function subscribeWith<T>(
  args: unknown[],
  rxjs: (args: unknown[]) => Subscription,
  make: (observer: ObserverOrNext<T>) => Listener<T>,
  attach: (listener: Listener<T>) => (() => void) | undefined,
): Subscription {
  if (!listenable<T>(args)) return rxjs(args);
  const listener = make(args[0]);
  const teardown = attach(listener);
  if (teardown) addTeardown(listener, teardown);
  return listener;
}

/**
 * As RxJS reports an error no handler took: to `config.onUnhandledError`, or thrown in a later
 * task. A plain timer, as RxJS's own (its `timeoutProvider` is internal): thrown inside a
 * scheduler's action, the error would cancel the other actions of that flush.
 */
function reportUnhandled(error: unknown): void {
  setTimeout(() => {
    const { onUnhandledError } = config;
    if (onUnhandledError) onUnhandledError(error);
    else throw error;
  });
}
