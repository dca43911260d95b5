import { Observable, type Observer, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import { subscribeWith } from '../core/listener.js';
import { addTeardown } from '../core/teardown.js';

/** What a subscription to `messages$` holds: the client's connection ({@link Holds}). */
export interface MessageHolder {
  readonly ended: boolean;
  hold(): void;
  /** `unsubscribe()` releases one hold: each subscription's teardown. */
  readonly releaser: Unsubscribable;
}

/**
 * A client's `messages$`: the incoming stream, which holds the connection open while subscribed
 * (the first subscriber dials; the last one to leave starts the linger). A class rather than
 * `new Observable(subscriber => …)`, so that a client keeps one object here and no closures.
 *
 * @example
 * const messages$ = new HeldMessages(streams.incoming, lifecycle);
 * const subscription = messages$.subscribe(handle); // dials
 * subscription.unsubscribe(); // closes after lazyCloseTimeout
 */
export class HeldMessages<In> extends Observable<In> {
  readonly #incoming: Observable<In>;
  readonly #holder: MessageHolder;

  constructor(incoming: Observable<In>, holder: MessageHolder) {
    super();
    this.#incoming = incoming;
    this.#holder = holder;
  }

  /** An application's `next` function or observer becomes a `Listener`, lighter than RxJS's subscriber. */
  override subscribe(observerOrNext?: Partial<Observer<In>> | ((value: In) => void)): Subscription;
  /** @deprecated As RxJS's: pass an observer. */
  override subscribe(next?: ((value: In) => void) | null, error?: ((error: unknown) => void) | null, complete?: (() => void) | null): Subscription;
  override subscribe(...args: unknown[]): Subscription {
    return subscribeWith<In>(
      args,
      (rest) => super.subscribe(...(rest as [])),
      (listener) => this._subscribe(listener as unknown as Subscriber<In>),
    );
  }

  /** What `Observable.subscribe` calls with its subscriber (the hook `Subject` overrides too). */
  protected _subscribe(subscriber: Subscriber<In>): undefined {
    // The subscriber itself is the subscription (see Multicast): unsubscribing it is enough.
    this.#incoming.subscribe(subscriber);
    const holder = this.#holder;
    if (holder.ended) return;
    holder.hold();
    addTeardown(subscriber, holder.releaser);
  }
}
