import { Subject, type Observable, type Subscription } from 'rxjs';
import type { WireData } from '../core/codec.js';
import { BrokerUnavailableError, asError, describe } from '../core/errors.js';
import type { Reporter } from '../core/report.js';
import type { Broker } from './broker.js';

/**
 * A server's side of its broker: one broker subscription per topic that has local members (made
 * when the first peer joins, ended when the last leaves) plus one for broadcasts, and the relay of
 * this node's publishes. The publishing node delivers to its own peers at once (the server's
 * fan-out, before the relay); the broker never returns a node its own messages.
 */
export class Relay {
  readonly #broker: Broker;
  readonly #deliver: (topic: string | null, data: WireData) => void;
  readonly #report: Reporter;
  readonly #subscriptions = new Map<string | null, Subscription>();
  readonly #errors = new Subject<BrokerUnavailableError>();
  readonly errors$: Observable<BrokerUnavailableError> = this.#errors.asObservable();
  #closed: Promise<void> | undefined;

  constructor(broker: Broker, deliver: (topic: string | null, data: WireData) => void, report: Reporter) {
    this.#broker = broker;
    this.#deliver = deliver;
    this.#report = report;
    this.joined(null);
  }

  /** The first local peer joined `topic` (`null`: the server started, for broadcasts). */
  joined(topic: string | null): void {
    if (this.#closed || this.#subscriptions.has(topic)) return;
    const subscription = this.#broker.subscribe(topic).subscribe({
      next: (data) => this.#deliver(topic, data),
      error: (error: unknown) => {
        this.#subscriptions.delete(topic);
        this.#report.warn('broker', `the broker ended the subscription to ${topic === null ? 'broadcasts' : `topic \`${topic}\``}: ${describe(error)}`, { error });
      },
    });
    if (!subscription.closed) this.#subscriptions.set(topic, subscription);
  }

  /** The last local peer left `topic`. */
  left(topic: string): void {
    this.#subscriptions.get(topic)?.unsubscribe();
    this.#subscriptions.delete(topic);
  }

  /** Relays `data` (the serialized `message`); a failure goes to `errors$`, or to the logger if nobody listens. */
  publish(topic: string | null, data: WireData, message: unknown): void {
    let relayed: Promise<void>;
    try {
      relayed = this.#broker.publish(topic, data);
    } catch (error) {
      return this.#failed(topic, message, error);
    }
    relayed.catch((error: unknown) => this.#failed(topic, message, error));
  }

  /** Ends every subscription, then closes the broker; idempotent. */
  close(): Promise<void> {
    return (this.#closed ??= (async () => {
      for (const subscription of this.#subscriptions.values()) subscription.unsubscribe();
      this.#subscriptions.clear();
      try {
        await this.#broker.close();
      } catch (error) {
        this.#report.warn('broker', `the broker's close() failed: ${describe(error)}`, { error });
      }
      this.#errors.complete();
    })());
  }

  #failed(topic: string | null, message: unknown, error: unknown): void {
    const failure =
      error instanceof BrokerUnavailableError ? new BrokerUnavailableError(topic, message, error.since, { cause: error.cause }) : new BrokerUnavailableError(topic, message, undefined, { cause: asError(error) });
    if (this.#errors.observed) return this.#errors.next(failure);
    this.#report.warn('relay', `${failure.message} (subscribe to server.relayErrors$ to handle these)`, { error: failure });
  }
}
