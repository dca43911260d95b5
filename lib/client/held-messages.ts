import { Observable, type Observer, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import { Listener, listenable, type ObserverOrNext } from '../core/listener.js';
import { addTeardown } from '../core/teardown.js';

/** What a subscription to `messages$` holds: the client's connection ({@link Holds}). */
export interface MessageHolder {
  readonly ended: boolean;
  hold(): void;
  release(): void;
  /** `unsubscribe()` releases one hold: the teardown of a subscription RxJS made. */
  readonly releaser: Unsubscribable;
}

/**
 * A client's `messages$`: the incoming stream, which holds the connection open while subscribed
 * (the first subscriber dials; the last one to leave starts the linger). A class rather than
 * `new Observable(subscriber => …)`, so that a client keeps one object here and no closures; an
 * application's `next` function or observer gets a {@link Listener} that releases its hold itself.
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

  override subscribe(observerOrNext?: Partial<Observer<In>> | ((value: In) => void)): Subscription;
  /** @deprecated As RxJS's: pass an observer. */
  override subscribe(next?: ((value: In) => void) | null, error?: ((error: unknown) => void) | null, complete?: (() => void) | null): Subscription;
  override subscribe(...args: unknown[]): Subscription {
    if (!listenable<In>(args)) return super.subscribe(...(args as []));
    const listener = new HeldListener<In>(args[0]);
    this.#incoming.subscribe(listener);
    const holder = this.#holder;
    if (!holder.ended && !listener.closed) listener.hold(holder);
    return listener;
  }

  /** What `Observable.subscribe` calls with an operator's subscriber (the hook `Subject` overrides too). */
  protected _subscribe(subscriber: Subscriber<In>): undefined {
    // The subscriber itself is the subscription (see Multicast): unsubscribing it is enough.
    this.#incoming.subscribe(subscriber);
    const holder = this.#holder;
    if (holder.ended) return;
    holder.hold();
    addTeardown(subscriber, holder.releaser);
  }
}

/** A {@link Listener} that holds the connection until it ends: no teardown array, no teardown object. */
class HeldListener<T> extends Listener<T> {
  #holder: MessageHolder | undefined;

  constructor(observer: ObserverOrNext<T>) {
    super(observer);
  }

  hold(holder: MessageHolder): void {
    this.#holder = holder;
    holder.hold();
  }

  protected override ended(): void {
    const holder = this.#holder;
    this.#holder = undefined;
    holder?.release();
  }
}
