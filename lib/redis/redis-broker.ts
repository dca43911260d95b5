import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { asyncScheduler, BehaviorSubject, Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { backoffDelay, type BackoffOptions } from '../core/backoff.js';
import type { WireData } from '../core/codec.js';
import { BrokerUnavailableError, asError, describe } from '../core/errors.js';
import { createReporter, type Reporter } from '../core/report.js';
import type { Broker, BrokerGap, BrokerHealth } from '../server/broker.js';
import { decodeEnvelope, encodeEnvelope } from './envelope.js';
import { RedisSessionStore } from './session-store.js';
import { REDIS_BROKER_DEFAULTS, validateRedisBrokerOptions, type RedisBrokerOptions } from './options.js';

/**
 * A {@link Broker} on Redis pub/sub through node-redis (the `redis` package, an optional peer
 * dependency of rxwire): one connection publishes, one subscribes. Each topic with local members
 * is one Redis subscription of this node; broadcasts are one channel. node-redis reconnects each
 * connection (with rxwire's backoff) and resubscribes it by itself; while it is down, `publish()`
 * rejects at once with `BrokerUnavailableError` and `health$` says `'down'`; once the subscriber is
 * back, `gaps$` reports the topics and the time it missed. A periodic end-to-end probe finds a
 * subscriber that stopped receiving while its socket looked fine, and replaces it.
 *
 * @example
 * ```ts
 * import { listen } from 'rxwire/server';
 * import { redisBroker } from 'rxwire/redis';
 *
 * const broker = redisBroker({ url: 'redis://127.0.0.1:6379' });
 * broker.gaps$.subscribe(({ topics, from, to }) => console.warn(`missed ${topics.join(', ')} for ${to - from} ms`));
 * const server = listen({ port: 8080, broker });
 * server.relayErrors$.subscribe((error) => console.warn(error.message));
 * ```
 */
export function redisBroker(options: RedisBrokerOptions = {}): Broker {
  validateRedisBrokerOptions(options);
  return new RedisBroker(options);
}

/** What this broker uses of a node-redis client (kept structural: node-redis's own types are heavy generics). */
interface RedisConnection {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  on(event: 'error' | 'ready' | 'end', listener: (error?: unknown) => void): unknown;
  connect(): Promise<unknown>;
  publish(channel: string, message: string | Buffer): Promise<number>;
  sendCommand(args: readonly string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: Buffer) => void, bufferMode: true): Promise<void>;
  unsubscribe(channel: string, listener: (message: Buffer) => void, bufferMode: true): Promise<void>;
  close(): Promise<void>;
  destroy(): void;
}

type Role = 'publisher' | 'subscriber';

/** Probe timeouts a busy connection may take before it counts as silent all the same. */
const PROBE_PATIENCE = 5;

class RedisBroker implements Broker {
  readonly nodeId: string;
  readonly sessions: RedisSessionStore;
  readonly #ownId: Buffer;
  readonly #url: string;
  readonly #prefix: string;
  readonly #reconnect: BackoffOptions;
  readonly #connectTimeout: number;
  readonly #closeTimeout: number;
  readonly #scheduler: SchedulerLike;
  readonly #report: Reporter;
  readonly #health: BehaviorSubject<BrokerHealth>;
  readonly #gaps = new Subject<BrokerGap>();
  readonly health$: Observable<BrokerHealth>;
  readonly gaps$ = this.#gaps.asObservable();
  /** Local subscribers per topic (`null`: broadcasts), and the Redis listener of each topic. */
  readonly #topics = new Map<string | null, { readonly subscribers: Set<Subscriber<WireData>>; readonly listener: (message: Buffer) => void }>();
  readonly #probeChannel: string;
  #publisher: RedisConnection;
  #subscriber: RedisConnection;
  #lastError: Error | undefined;
  /** The subscriber has been up: its next outage is a gap (the first connection is not). */
  #subscriberWasUp = false;
  /** While the subscriber is down after having been up: since when, and the topics it had or got. */
  #gap: { from: number; topics: Set<string | null> } | undefined;
  #probe: { readonly interval: number; readonly timeout: number } | false;
  #probeTimer: Subscription | undefined;
  #probeToken: string | undefined;
  #probeError: Error | undefined;
  /** The last evidence that the subscriber received: its last probe back, or its last ready. */
  #lastHeard = 0;
  #probes = 0;
  /** Activity counters for the probe: replies to publishes, messages received. */
  #replies = 0;
  #received = 0;
  #closed: Promise<void> | undefined;

  constructor(options: RedisBrokerOptions) {
    const { url = REDIS_BROKER_DEFAULTS.url, prefix = REDIS_BROKER_DEFAULTS.prefix, nodeId = randomBytes(8).toString('hex') } = options;
    const { reconnect = REDIS_BROKER_DEFAULTS.reconnect, connectTimeout = REDIS_BROKER_DEFAULTS.connectTimeout, closeTimeout = REDIS_BROKER_DEFAULTS.closeTimeout } = options;
    const { probe = REDIS_BROKER_DEFAULTS.probe, scheduler = asyncScheduler, logger } = options;
    this.nodeId = nodeId;
    this.#ownId = Buffer.from(nodeId, 'latin1');
    this.#url = url;
    this.#prefix = prefix;
    this.#reconnect = { ...REDIS_BROKER_DEFAULTS.reconnect, ...reconnect };
    this.#connectTimeout = connectTimeout;
    this.#closeTimeout = closeTimeout;
    this.#scheduler = scheduler;
    this.#report = createReporter(logger);
    this.#probe = probe && { interval: probe.interval ?? REDIS_BROKER_DEFAULTS.probe.interval, timeout: probe.timeout ?? REDIS_BROKER_DEFAULTS.probe.timeout };
    this.#health = new BehaviorSubject<BrokerHealth>({ status: 'down', since: scheduler.now() });
    this.health$ = this.#health.asObservable();
    this.#probeChannel = `${prefix}p:${nodeId}`;
    this.sessions = new RedisSessionStore((args) => this.#command(args), nodeId, prefix);
    this.#publisher = this.#connect('publisher');
    this.#subscriber = this.#connect('subscriber');
    this.#scheduleProbe();
  }

  publish(topic: string | null, data: WireData): Promise<void> {
    const publisher = this.#publisher;
    if (this.#closed || !publisher.isReady) {
      const cause = this.#closed ? new Error('the broker is closed') : (this.#lastError ?? new Error('not connected to Redis yet'));
      return Promise.reject(new BrokerUnavailableError(topic, data, this.#downSince(), { cause }));
    }
    return publisher.publish(this.#channel(topic), encodeEnvelope(this.nodeId, data)).then(
      () => void this.#replies++,
      (error: unknown) => {
        throw new BrokerUnavailableError(topic, data, this.#downSince(), { cause: asError(error) });
      },
    );
  }

  /** A command on the publisher connection (the session store's); rejects at once while Redis is down. */
  #command(args: readonly string[]): Promise<unknown> {
    const publisher = this.#publisher;
    if (this.#closed || !publisher.isReady) {
      return Promise.reject(new Error(`Redis is unavailable: ${this.#closed ? 'the broker is closed' : describe(this.#lastError ?? 'not connected yet')}`));
    }
    return publisher.sendCommand(args).then((reply) => {
      this.#replies++;
      return reply;
    });
  }

  subscribe(topic: string | null): Observable<WireData> {
    return new Observable<WireData>((subscriber) => {
      if (this.#closed) return subscriber.complete();
      let entry = this.#topics.get(topic);
      if (!entry) {
        entry = { subscribers: new Set(), listener: (message) => this.#deliver(topic, message) };
        this.#topics.set(topic, entry);
        this.#gap?.topics.add(topic);
        this.#redisSubscribe(this.#subscriber, this.#channel(topic), entry.listener);
      }
      const { subscribers, listener } = entry;
      subscribers.add(subscriber);
      return () => {
        if (!subscribers.delete(subscriber) || subscribers.size > 0 || this.#topics.get(topic) !== entry) return;
        this.#topics.delete(topic);
        if (!this.#closed) this.#subscriber.unsubscribe(this.#channel(topic), listener, true).catch(() => undefined); // gone with the connection anyway
      };
    });
  }

  close(): Promise<void> {
    return (this.#closed ??= this.#shutdown());
  }

  async #shutdown(): Promise<void> {
    this.#probeTimer?.unsubscribe();
    for (const { subscribers } of [...this.#topics.values()]) for (const subscriber of [...subscribers]) subscriber.complete();
    this.#topics.clear();
    destroy(this.#subscriber);
    const publisher = this.#publisher;
    if (publisher.isReady) {
      let timer: Subscription | undefined;
      await Promise.race([publisher.close().catch(() => undefined), new Promise<void>((resolve) => (timer = this.#scheduler.schedule(resolve, this.#closeTimeout)))]);
      timer?.unsubscribe();
    }
    destroy(publisher);
    if (this.#health.value.status === 'up') this.#health.next({ status: 'down', since: this.#scheduler.now(), error: new Error('the broker is closed') });
    this.#health.complete();
    this.#gaps.complete();
  }

  #channel(topic: string | null): string {
    return topic === null ? `${this.#prefix}b` : `${this.#prefix}t:${topic}`;
  }

  #deliver(topic: string | null, message: Buffer): void {
    this.#received++;
    const entry = this.#topics.get(topic);
    if (!entry) return;
    const data = decodeEnvelope(message, this.#ownId);
    if (data === undefined) return; // this node's echo: its peers had it at once
    for (const subscriber of entry.subscribers) subscriber.next(data);
  }

  /** A node-redis client whose reconnects wait rxwire's backoff, its events feeding health and gaps. */
  #connect(role: Role): RedisConnection {
    const client = createClient({
      url: this.#url,
      disableOfflineQueue: role === 'publisher', // a publish while down rejects at once, never waits in a queue
      socket: {
        connectTimeout: this.#connectTimeout,
        reconnectStrategy: (retries: number) => (this.#closed ? false : backoffDelay(retries + 1, this.#reconnect)),
      },
    }) as unknown as RedisConnection;
    const current = (): boolean => client === (role === 'publisher' ? this.#publisher : this.#subscriber);
    client.on('error', (error) => current() && this.#changed(role, asError(error)));
    client.on('end', () => current() && this.#changed(role, new Error(`the ${role} connection to Redis ended`)));
    client.on('ready', () => current() && this.#changed(role, undefined));
    if (role === 'subscriber') this.#redisSubscribe(client, this.#probeChannel, (message) => this.#probed(message));
    // connect() rejects only once the reconnect strategy gives up (at close): reported by the events.
    client.connect().catch(() => undefined);
    return client;
  }

  #redisSubscribe(client: RedisConnection, channel: string, listener: (message: Buffer) => void): void {
    // node-redis keeps the listener and sends SUBSCRIBE again on every (re)connect; a rejection
    // here is a command lost with a dropped connection, and the resubscribe covers it.
    client.subscribe(channel, listener, true).catch((error: unknown) => this.#report.debug(`SUBSCRIBE ${channel} failed, resubscribed on reconnect: ${describe(error)}`));
  }

  /** A connection's state changed: an error (down), or ready (`undefined`). */
  #changed(role: Role, error: Error | undefined): void {
    if (error) this.#lastError = error;
    if (role === 'subscriber') this.#subscriberChanged();
    const up = this.#publisher.isReady && this.#subscriber.isReady && !this.#probeError;
    const health = this.#health.value;
    if (up === (health.status === 'up') || this.#closed) return;
    const since = this.#scheduler.now();
    const reason = this.#probeError ?? this.#lastError;
    this.#health.next(up ? { status: 'up', since } : reason ? { status: 'down', since, error: reason } : { status: 'down', since });
  }

  #subscriberChanged(): void {
    const ready = this.#subscriber.isReady;
    if (!ready && this.#subscriberWasUp && !this.#gap) {
      this.#gap = { from: this.#scheduler.now(), topics: new Set(this.#topics.keys()) };
    } else if (ready) {
      this.#subscriberWasUp = true;
      this.#lastHeard = this.#scheduler.now();
      const gap = this.#gap;
      this.#gap = undefined;
      if (gap) this.#reportGap(gap.from, gap.topics);
    }
  }

  #reportGap(from: number, topics: Set<string | null>): void {
    this.#gaps.next({ topics: [...topics].filter((t): t is string => t !== null), broadcast: topics.has(null), from, to: this.#scheduler.now() });
  }

  #downSince(): number | undefined {
    const health = this.#health.value;
    return health.status === 'down' ? health.since : undefined;
  }

  #scheduleProbe(): void {
    const probe = this.#probe;
    if (probe && !this.#closed) this.#probeTimer = this.#scheduler.schedule(() => this.#sendProbe(probe.timeout), probe.interval);
  }

  /**
   * One round: a PUBLISH on this node's probe channel that must come back within `timeout` ms.
   * A connection that was busy meanwhile (replies to other publishes, other messages in: a node
   * under load reads its probe late), or a process whose timer fired late (starved of CPU), gets
   * more time, up to {@link PROBE_PATIENCE} timeouts; only a link that said nothing at all while
   * this process ran is declared silent.
   */
  #sendProbe(timeout: number): void {
    const publisher = this.#publisher;
    if (!publisher.isReady || !this.#subscriber.isReady) return this.#scheduleProbe(); // node-redis is reconnecting: not silent
    const token = String(++this.#probes);
    this.#probeToken = token;
    let published = false;
    publisher.publish(this.#probeChannel, token).then(
      () => void (published = true),
      () => undefined, // the connection's own error event reports it
    );
    let waited = 0;
    const check = (replies: number, received: number): void => {
      const due = this.#scheduler.now() + timeout;
      this.#probeTimer = this.#scheduler.schedule(() => {
        // The verdict one turn of the event loop later: a reply that waited in a socket while this
        // process was starved (timers run before I/O) is read first.
        this.#probeTimer = this.#scheduler.schedule(() => {
          if (this.#probeToken !== token) return;
          const starved = this.#scheduler.now() - due > timeout / 4;
          const busy = starved || (published ? this.#received !== received : this.#replies !== replies);
          if (busy && ++waited < PROBE_PATIENCE) return check(this.#replies, this.#received);
          this.#probeToken = undefined;
          this.#probeError = new Error(
            published ? `Redis probe: the subscriber connection received nothing within ${timeout} ms` : `Redis probe: no reply to PUBLISH within ${timeout} ms`,
          );
          // An unanswered PUBLISH leaves the whole link in doubt: both connections are replaced.
          if (!published) this.#replace('publisher');
          this.#replace('subscriber');
          this.#scheduleProbe();
        }, 0);
      }, timeout);
    };
    check(this.#replies, this.#received);
  }

  #probed(message: Buffer): void {
    if (this.#probeToken === undefined || message.toString('latin1') !== this.#probeToken) return;
    this.#probeToken = undefined;
    this.#lastHeard = this.#scheduler.now();
    this.#probeTimer?.unsubscribe();
    this.#scheduleProbe();
  }

  /** Replaces a connection the probe found silent; a replaced subscriber's gap starts at the last probe that came back. */
  #replace(role: Role): void {
    const old = role === 'publisher' ? this.#publisher : this.#subscriber;
    if (role === 'subscriber' && this.#subscriberWasUp && !this.#gap) {
      this.#gap = { from: this.#lastHeard, topics: new Set(this.#topics.keys()) };
    }
    const error = this.#probeError ?? new Error('Redis probe failed');
    const fresh = this.#connect(role);
    if (role === 'publisher') this.#publisher = fresh;
    else {
      this.#subscriber = fresh;
      for (const [topic, { listener }] of this.#topics) this.#redisSubscribe(fresh, this.#channel(topic), listener);
    }
    destroy(old);
    this.#changed(role, error); // down, with the probe's error
    if (role === 'subscriber') this.#probeError = undefined; // from now on the fresh connections' events tell
  }
}

/** Drops a connection and its commands at once; events of a connection no longer current are ignored. */
function destroy(client: RedisConnection): void {
  if (!client.isOpen) return;
  try {
    client.destroy();
  } catch {
    // already closed
  }
}
