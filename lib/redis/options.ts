import type { SchedulerLike } from 'rxjs';
import type { BackoffOptions } from '../core/backoff.js';
import type { Logger } from '../core/report.js';
import { validateReconnect } from '../core/retry-with-backoff.js';
import { checkDelay, checkKeys, checkObject, checkOptionsObject, checkScheduler, checkFunction, invalid } from '../core/validate.js';

/**
 * Options of {@link redisBroker}. Validated when it is called.
 *
 * @example
 * ```ts
 * const broker = redisBroker({ url: 'redis://10.0.0.5:6379', prefix: 'chat:', probe: { interval: 2000, timeout: 1000 } });
 * ```
 */
export interface RedisBrokerOptions {
  /**
   * The Redis server, as node-redis takes it: `redis[s]://[[user][:password]@]host[:port][/db]`.
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * Prepended to every Redis channel name (`<prefix>t:<topic>`, `<prefix>b` for broadcasts,
   * `<prefix>p:<nodeId>` for the probe), so that several applications can share one Redis.
   * @default 'rxwire:'
   */
  prefix?: string;
  /**
   * This node's id (1–64 of `A–Z a–z 0–9 _ . : -`): its messages carry it, and it ignores their
   * echoes. Must differ between nodes.
   * @default 16 random hex digits
   */
  nodeId?: string;
  /**
   * The backoff between reconnect attempts of each Redis connection (rxwire's `backoffDelay`:
   * delay n is a uniform pick in [0, min(maxDelay, initialDelay × factor^(n−1))] with jitter).
   * After Redis returns, delivery resumes within about `maxDelay` ms.
   * @default { initialDelay: 100, maxDelay: 1000, factor: 2, jitter: true }
   */
  reconnect?: BackoffOptions;
  /**
   * An end-to-end check of each node's link, every `interval` ms while connected: a PUBLISH on
   * this node's own probe channel must come back on its subscriber connection within `timeout` ms.
   * If it does not, health goes down and the silent connection is replaced (a subscriber whose
   * socket looks fine but that receives nothing: its subscriptions lost, or a half-open link);
   * the subscriber's gap is reported from the last probe that came back. `false`: no probe.
   * @default { interval: 5000, timeout: 2000 }
   */
  probe?: false | { interval?: number; timeout?: number };
  /**
   * Milliseconds to open a TCP connection to Redis before the attempt counts as failed.
   * @default 5000
   */
  connectTimeout?: number;
  /**
   * Milliseconds `close()` waits for the replies of publishes in flight before it drops the
   * connections (those publishes then reject).
   * @default 1000
   */
  closeTimeout?: number;
  /**
   * Where failures nobody observes are reported (a subscription that Redis refused).
   * @default a logger that prints `'warn'` to `console.warn`
   */
  logger?: false | Logger;
  /**
   * The scheduler of the probe and close timers and of every timestamp.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/**
 * Every default of {@link RedisBrokerOptions}, in one table.
 *
 * @example
 * ```ts
 * const broker = redisBroker({ reconnect: { ...REDIS_BROKER_DEFAULTS.reconnect, maxDelay: 5000 } });
 * ```
 */
export const REDIS_BROKER_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  prefix: 'rxwire:',
  reconnect: { initialDelay: 100, maxDelay: 1000, factor: 2, jitter: true },
  probe: { interval: 5000, timeout: 2000 },
  connectTimeout: 5000,
  closeTimeout: 1000,
} as const;

const KEYS = ['url', 'prefix', 'nodeId', 'reconnect', 'probe', 'connectTimeout', 'closeTimeout', 'logger', 'scheduler'];
const NODE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Validates `redisBroker()`'s options, throwing on the first that is wrong. */
export function validateRedisBrokerOptions(options: unknown): asserts options is RedisBrokerOptions {
  checkOptionsObject('options', options);
  const o = options;
  checkKeys('', o, KEYS);
  if (o.url !== undefined && (typeof o.url !== 'string' || !/^rediss?:\/\//.test(o.url))) invalid('url', "a string starting with 'redis://' or 'rediss://'", o.url);
  if (o.prefix !== undefined && typeof o.prefix !== 'string') invalid('prefix', 'a string', o.prefix);
  if (o.nodeId !== undefined && (typeof o.nodeId !== 'string' || !NODE_ID.test(o.nodeId))) invalid('nodeId', '1 to 64 of A-Z a-z 0-9 _ . : -', o.nodeId);
  if (checkObject('reconnect', o.reconnect, false) && o.reconnect) {
    const r = o.reconnect as Record<string, unknown>;
    checkKeys('reconnect.', r, ['initialDelay', 'maxDelay', 'factor', 'jitter', 'random']);
    validateReconnect(r, 'reconnect.');
  }
  if (checkObject('probe', o.probe, true) && o.probe) {
    const p = o.probe as Record<string, unknown>;
    checkKeys('probe.', p, ['interval', 'timeout']);
    checkDelay('probe.interval', p.interval, { positive: true });
    checkDelay('probe.timeout', p.timeout, { positive: true });
  }
  checkDelay('connectTimeout', o.connectTimeout, { positive: true });
  checkDelay('closeTimeout', o.closeTimeout);
  if (o.logger !== undefined && o.logger !== false) checkFunction('logger', o.logger);
  checkScheduler('scheduler', o.scheduler);
}
