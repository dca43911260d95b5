import type { Subscriber, Unsubscribable } from 'rxjs';
import { Listener, type ObserverOrNext } from '../core/listener.js';
import type { Reporter } from '../core/report.js';
import { SocketStreams } from '../core/streams.js';
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
 * A client's `messages$`, its incoming stream and its other streams in one object: the
 * {@link SocketStreams} that holds
 * the connection open while subscribed (the first subscriber dials; the last one to leave starts
 * the linger). An application's `next` function or observer gets a {@link Listener} that releases
 * its hold itself; an operator's subscriber gets a teardown that does.
 *
 * @example
 * const messages$ = new HeldMessages<string, string>(createReporter(undefined));
 * messages$.holdWith(lifecycle);
 * const subscription = messages$.subscribe(handle); // dials
 * subscription.unsubscribe(); // closes after lazyCloseTimeout
 */
export class HeldMessages<In, Out> extends SocketStreams<In, Out> {
  readonly report: Reporter;
  #holder: MessageHolder | undefined;

  constructor(report: Reporter) {
    super();
    this.report = report;
  }

  /** What a subscription holds (set once, by the client, when its lifecycle exists). */
  holdWith(holder: MessageHolder): void {
    this.#holder = holder;
  }

  protected override listener(observer: ObserverOrNext<In>): Listener<In> {
    return new HeldListener<In>(observer);
  }

  /** Registers a subscriber (a Listener, or an operator's) and takes its hold on the connection. */
  protected override _subscribe(subscriber: Subscriber<In>): (() => void) | undefined {
    const teardown = super._subscribe(subscriber);
    const holder = this.#holder as MessageHolder;
    if (holder.ended || subscriber.closed) return teardown;
    if (subscriber instanceof HeldListener) {
      subscriber.hold(holder); // released when it ends: no teardown to add
    } else {
      holder.hold();
      addTeardown(subscriber, holder.releaser);
    }
    return teardown;
  }
}

/** A {@link Listener} that holds the connection until it ends: no teardown array, no teardown object. */
class HeldListener<T> extends Listener<T> {
  #holder: MessageHolder | undefined;

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
