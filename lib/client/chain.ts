import { catchError, Subscription, throwError, type MonoTypeOperatorFunction, type Observable, type Observer, type SchedulerLike } from 'rxjs';
import type { OpenConnection } from '../core/connection.js';
import { retryWith, type RetryPolicy } from '../core/retry-with-backoff.js';
import { dialAttempts, type Dial } from './dial.js';
import type { ReconnectOptions } from './options.js';
import { sessionRefusal } from './resume.js';
import { retrySettings } from './shared-settings.js';

/**
 * A client's dial-and-retry chain, made once: its attempts (`dial`), a refused session named as
 * such (`session`), retried with backoff when `reconnect` is on, `policy` deciding. The loss of a
 * connection is handled in the dial (`dialLost`), before the retry decides.
 */
export function dialChain(dial: Dial, session: boolean, reconnect: false | ReconnectOptions, scheduler: SchedulerLike, policy: RetryPolicy): Observable<OpenConnection> {
  const opened$ = dialAttempts(dial);
  const attempt$ = session ? opened$.pipe(catchError((error: unknown) => throwError(() => sessionRefusal(error)))) : opened$;
  return reconnect ? attempt$.pipe(reconnecting(reconnect, scheduler, policy)) : attempt$;
}

/** The `reconnect` option as the retry operator of a client's dial, its callbacks `policy`'s methods. */
function reconnecting(reconnect: ReconnectOptions, scheduler: SchedulerLike, policy: RetryPolicy): MonoTypeOperatorFunction<OpenConnection> {
  return retryWith(retrySettings(reconnect, scheduler), policy);
}

/** What the dial-and-retry chain tells its owner, the lifecycle. */
export interface ChainOwner {
  /** A connection opened. */
  chainOpened(conn: OpenConnection): void;
  /** The chain ended: a close that is not retried, or retries exhausted. */
  chainFailed(error: unknown): void;
}

/**
 * The subscriber of one run of a lifecycle's dial-and-retry chain, and its subscription. An
 * Observer that is a `Subscription` is what RxJS takes as a subscriber as it is (as it does its
 * own operators'), so the run costs this one object: `subscribe({ next, error })` into a
 * `Subscription` of the lifecycle's would cost a `SafeSubscriber`, its consumer, the observer, two
 * closures and a finalizer array, about 0.5 KB per client. Like a `Subscriber`, it ignores what
 * comes after an end, and an end unsubscribes it (the chain's teardowns run).
 */
export class ChainSubscriber extends Subscription implements Observer<OpenConnection> {
  readonly #owner: ChainOwner;
  #stopped = false;

  constructor(owner: ChainOwner) {
    super();
    this.#owner = owner;
  }

  next(conn: OpenConnection): void {
    if (!this.#stopped) this.#owner.chainOpened(conn);
  }

  error(error: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      this.#owner.chainFailed(error);
    } finally {
      this.unsubscribe();
    }
  }

  complete(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.unsubscribe();
  }

  override unsubscribe(): void {
    this.#stopped = true;
    super.unsubscribe();
  }
}
