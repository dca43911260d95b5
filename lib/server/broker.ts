import { randomBytes } from 'node:crypto';
import { BehaviorSubject, Observable, Subject } from 'rxjs';
import type { WireData } from '../core/codec.js';
import { BrokerUnavailableError } from '../core/errors.js';
import type { SessionStore } from './session-store.js';

/**
 * What a broker says of its link to the other nodes: `'up'`, or `'down'` with the error that took
 * it down. `since` is when that status began (epoch milliseconds).
 *
 * @example
 * ```ts
 * broker.health$.subscribe(({ status, since, error }: BrokerHealth) => console.log(status, new Date(since), error?.message));
 * ```
 */
export interface BrokerHealth {
  readonly status: 'up' | 'down';
  /** When this status began, in epoch milliseconds. */
  readonly since: number;
  /** Why it is down (absent while up, and while a broker is connecting for the first time). */
  readonly error?: Error;
}

/**
 * A stretch of time during which this node may have missed messages from other nodes: its
 * subscriptions were down from `from` to `to` (epoch milliseconds). `topics` are the topics this
 * node was subscribed to (it had peers in them); `broadcast` is true if broadcasts may have been
 * missed too. Messages published in the gap are lost for this node's peers (pub/sub has no
 * history): resync them from your own store.
 *
 * @example
 * ```ts
 * broker.gaps$.subscribe(({ topics, from, to }: BrokerGap) => console.warn(`missed ${topics.join(', ')} for ${to - from} ms`));
 * ```
 */
export interface BrokerGap {
  readonly topics: readonly string[];
  readonly broadcast: boolean;
  readonly from: number;
  readonly to: number;
}

/**
 * Relays a server's publishes and broadcasts to the other nodes of a cluster, and theirs to it.
 * `listen({ broker })` takes one and owns it (its `close()` closes the broker). A topic is `null`
 * for broadcasts. Implementations: {@link memoryBroker} (one process) and `redisBroker()` from
 * `rxwire/redis`.
 *
 * The contract: `publish` is eager (its call order is the order other nodes receive in) and
 * resolves once the message is handed to the broker, or rejects with `BrokerUnavailableError`;
 * `subscribe` emits the wire data that other nodes published, never this node's own (`nodeId`);
 * `health$` replays the current health to each subscriber; `gaps$` reports every stretch during
 * which a subscription may have missed messages. Every stream completes at `close()`.
 *
 * @example
 * ```ts
 * const broker: Broker = memoryBroker();
 * const server = listen({ port: 0, broker });
 * broker.health$.subscribe(({ status }) => console.log('broker', status));
 * ```
 */
export interface Broker {
  /** This node's id: the messages it publishes carry it, so it can ignore their echoes. */
  readonly nodeId: string;
  /** The current health, then every change. */
  readonly health$: Observable<BrokerHealth>;
  /** Every gap, once the subscriptions are back. */
  readonly gaps$: Observable<BrokerGap>;
  /** Hands `data` to the other nodes subscribed to `topic` (`null`: broadcast). */
  publish(topic: string | null, data: WireData): Promise<void>;
  /** What the other nodes publish to `topic` (`null`: broadcasts). Subscribing subscribes the node; unsubscribing unsubscribes it. */
  subscribe(topic: string | null): Observable<WireData>;
  /** Unsubscribes everything and disconnects; idempotent. */
  close(): Promise<void>;
  /**
   * Where sessions live when they must outlive their node (`listen({ session: { store: 'broker' } })`);
   * undefined for a broker that cannot keep them (the memory broker).
   */
  readonly sessions?: SessionStore;
}

/**
 * A bus joining the {@link memoryBroker}s of one process, each broker one node. Opaque.
 *
 * @example
 * ```ts
 * const bus = memoryBus();
 * const a = listen({ port: 0, broker: memoryBroker({ bus }) });
 * const b = listen({ port: 0, broker: memoryBroker({ bus }) }); // a.publish(…) reaches b's peers too
 * ```
 */
export interface MemoryBus {
  readonly kind: 'memory-bus';
}

interface Listener {
  readonly nodeId: string;
  next(data: WireData): void;
}

class Bus implements MemoryBus {
  readonly kind = 'memory-bus';
  readonly listeners = new Map<string | null, Set<Listener>>();
}

/**
 * A new in-process bus for {@link memoryBroker}s.
 *
 * @example
 * ```ts
 * const bus = memoryBus();
 * const [a, b] = [memoryBroker({ bus }), memoryBroker({ bus })];
 * ```
 */
export function memoryBus(): MemoryBus {
  return new Bus();
}

/**
 * Options of {@link memoryBroker}.
 *
 * @example
 * ```ts
 * const options: MemoryBrokerOptions = { bus: memoryBus(), nodeId: 'node-a' };
 * ```
 */
export interface MemoryBrokerOptions {
  /**
   * The bus this node is on; brokers on the same bus see each other's publishes.
   * @default a new bus of its own (a cluster of one node)
   */
  bus?: MemoryBus;
  /**
   * This node's id.
   * @default 16 random hex digits
   */
  nodeId?: string;
}

/**
 * A broker between servers of one process: what `listen()` does without a broker (a cluster of one
 * node), or with a shared `bus`, several servers in one process reaching each other's peers (for
 * tests). Always up; delivers synchronously, in publish order.
 *
 * @example
 * ```ts
 * const bus = memoryBus();
 * const a = listen({ port: 0, broker: memoryBroker({ bus }) });
 * const b = listen({ port: 0, broker: memoryBroker({ bus }) });
 * a.publish('room', { text: 'reaches the peers of a and b in room' });
 * ```
 */
export function memoryBroker(options: MemoryBrokerOptions = {}): Broker {
  const { bus = memoryBus(), nodeId = randomBytes(8).toString('hex') } = options;
  if (!(bus instanceof Bus)) throw new TypeError('Expected `bus` to be made by memoryBus()');
  return new MemoryBroker(bus, nodeId);
}

class MemoryBroker implements Broker {
  readonly nodeId: string;
  readonly #bus: Bus;
  readonly #health = new BehaviorSubject<BrokerHealth>({ status: 'up', since: Date.now() });
  readonly #gaps = new Subject<BrokerGap>();
  readonly health$ = this.#health.asObservable();
  readonly gaps$ = this.#gaps.asObservable();
  /** This node's subscriptions, each ended at close(). */
  readonly #mine = new Set<{ topic: string | null; listener: Listener; end(): void }>();
  #closed = false;

  constructor(bus: Bus, nodeId: string) {
    this.#bus = bus;
    this.nodeId = nodeId;
  }

  publish(topic: string | null, data: WireData): Promise<void> {
    if (this.#closed) return Promise.reject(new BrokerUnavailableError(topic, data, undefined, { cause: new Error('the broker is closed') }));
    const listeners = this.#bus.listeners.get(topic);
    if (listeners) for (const listener of [...listeners]) if (listener.nodeId !== this.nodeId) listener.next(data);
    return Promise.resolve();
  }

  subscribe(topic: string | null): Observable<WireData> {
    return new Observable<WireData>((subscriber) => {
      if (this.#closed) return subscriber.complete();
      const listener: Listener = { nodeId: this.nodeId, next: (data) => subscriber.next(data) };
      let listeners = this.#bus.listeners.get(topic);
      if (!listeners) this.#bus.listeners.set(topic, (listeners = new Set()));
      listeners.add(listener);
      const entry = { topic, listener, end: () => subscriber.complete() };
      this.#mine.add(entry);
      return () => {
        this.#mine.delete(entry);
        if (listeners.delete(listener) && listeners.size === 0) this.#bus.listeners.delete(topic);
      };
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const entry of [...this.#mine]) entry.end(); // each teardown leaves the bus
    this.#health.complete();
    this.#gaps.complete();
    return Promise.resolve();
  }
}
