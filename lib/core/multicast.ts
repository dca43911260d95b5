import { Observable, type Observer, type Subscriber, type Subscription } from 'rxjs';
import { Listener, subscribeWith, type ObserverOrNext } from './listener.js';

const OPEN = 0;
const COMPLETED = 1;
/** How a stream that errored ended: made when it does, so that an open stream keeps one field for its state. */
interface Errored {
  readonly error: unknown;
}

/**
 * A hot stream for any number of subscribers, behind `messages$`, `errors$` and `dropped$`: a
 * `Subject` in what it does (a value reaches the subscribers of the moment it is emitted; after
 * its end, a new subscriber gets the end at once), lighter in what it holds per connection.
 *
 * A `Subject` costs, per subscription, an inner `Subscription`, its teardown closure and the
 * subscriber's finalizer array (V8 gives a first `push` room for 17), plus its own array of
 * observers: about 0.6 KB for an idle connection's two subscriptions. A server holds thousands.
 * Here the first subscription is the subscriber itself, kept in one field, with no teardown: once
 * it unsubscribes it is `closed`, skipped, and let go at the next emission or subscription. A
 * subscriber that joins others (an array then) registers a teardown that takes it out at once:
 * the short-lived ones (`opened()`, a request) leave nothing behind.
 *
 * `next`, `error` and `complete` are for the owner; the public API hands it out typed as an
 * `Observable`.
 *
 * @example
 * const messages = new Multicast<string>();
 * messages.subscribe((m) => console.log(m));
 * messages.next('hello'); // logs 'hello'
 * messages.complete();
 */
export class Multicast<T> extends Observable<T> {
  /** None, one, or several: an array is replaced, never changed, so an emission goes to the subscribers it started with. */
  #subscribers: Subscriber<T> | readonly Subscriber<T>[] | undefined;
  #state: typeof OPEN | typeof COMPLETED | Errored = OPEN;

  /** Whether it completed or errored. */
  protected get stopped(): boolean {
    return this.#state !== OPEN;
  }

  /** Whether a subscriber listens now (as `Subject.observed`). */
  get observed(): boolean {
    this.#prune();
    return this.#subscribers !== undefined;
  }

  next(value: T): void {
    const subscribers = this.#subscribers;
    if (subscribers === undefined) return;
    if (!isMany(subscribers)) {
      if (!subscribers.closed) return subscribers.next(value);
      if (this.#subscribers === subscribers) this.#subscribers = undefined;
      return;
    }
    let closed = false;
    for (const subscriber of subscribers) {
      if (subscriber.closed) closed = true;
      else subscriber.next(value);
    }
    if (closed) this.#prune();
  }

  error(error: unknown): void {
    if (this.#state !== OPEN) return;
    this.#state = { error };
    for (const subscriber of this.#take()) subscriber.error(error);
  }

  complete(): void {
    if (this.#state !== OPEN) return;
    this.#state = COMPLETED;
    for (const subscriber of this.#take()) subscriber.complete();
  }

  /** An application's `next` function or observer becomes a {@link Listener}, lighter than RxJS's subscriber. */
  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void)): Subscription;
  /** @deprecated As RxJS's: pass an observer. */
  override subscribe(next?: ((value: T) => void) | null, error?: ((error: unknown) => void) | null, complete?: (() => void) | null): Subscription;
  override subscribe(...args: unknown[]): Subscription {
    return subscribeWith<T>(
      args,
      (rest) => super.subscribe(...(rest as [])),
      (observer) => this.listener(observer),
      (listener) => this._subscribe(listener as unknown as Subscriber<T>),
    );
  }

  /** The Listener an application's `next` function or observer becomes (a subclass's may do more). */
  protected listener(observer: ObserverOrNext<T>): Listener<T> {
    return new Listener<T>(observer);
  }

  /**
   * What `Observable.subscribe` calls with its subscriber (the internal hook `Subject` overrides
   * too). The first subscriber gets no teardown: it would cost it an array.
   */
  protected _subscribe(subscriber: Subscriber<T>): (() => void) | undefined {
    if (this.#state !== OPEN) {
      if (this.#state === COMPLETED) subscriber.complete();
      else subscriber.error(this.#state.error);
      return undefined;
    }
    this.#prune();
    const subscribers = this.#subscribers;
    if (subscribers === undefined) {
      this.#subscribers = subscriber;
      return undefined;
    }
    this.#subscribers = isMany(subscribers) ? [...subscribers, subscriber] : [subscribers, subscriber];
    return () => this.#prune();
  }

  /** The open subscribers, now none. */
  #take(): readonly Subscriber<T>[] {
    const subscribers = this.#subscribers;
    this.#subscribers = undefined;
    if (subscribers === undefined) return [];
    return (isMany(subscribers) ? subscribers : [subscribers]).filter((subscriber) => !subscriber.closed);
  }

  /** Lets go of the subscribers that unsubscribed. */
  #prune(): void {
    const subscribers = this.#subscribers;
    if (subscribers === undefined) return;
    if (!isMany(subscribers)) {
      if (subscribers.closed) this.#subscribers = undefined;
      return;
    }
    const open = subscribers.filter((subscriber) => !subscriber.closed);
    if (open.length !== subscribers.length) this.#subscribers = open.length === 0 ? undefined : open.length === 1 ? open[0] : open;
  }
}

function isMany<T>(subscribers: Subscriber<T> | readonly Subscriber<T>[]): subscribers is readonly Subscriber<T>[] {
  return Array.isArray(subscribers);
}

/**
 * A {@link Multicast} that gives each new subscriber its latest value first (a `ReplaySubject(1)`
 * that always has one), then every change; after its end, the latest value and the end.
 *
 * @example
 * const state = new Latest('idle');
 * state.next('open');
 * state.subscribe((s) => console.log(s)); // logs 'open'
 */
export class Latest<T> extends Multicast<T> {
  #value: T;

  constructor(value: T) {
    super();
    this.#value = value;
  }

  override next(value: T): void {
    if (this.stopped) return;
    this.#value = value;
    super.next(value);
  }

  protected override _subscribe(subscriber: Subscriber<T>): (() => void) | undefined {
    const value = this.#value;
    if (this.stopped) {
      subscriber.next(value);
      return super._subscribe(subscriber); // the end
    }
    // Listening first, as ReplaySubject does: a change the subscriber causes on seeing the value reaches it too.
    const teardown = super._subscribe(subscriber);
    subscriber.next(value);
    return teardown;
  }
}

/** `stream`, completed first if `completed`: a stream made on first use after its owner ended is ended too. */
export function completedIf<S extends { complete(): void }>(stream: S, completed: boolean): S {
  if (completed) stream.complete();
  return stream;
}
