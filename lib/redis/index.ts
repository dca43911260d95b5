/**
 * `rxwire/redis` (Node): a {@link Broker} on Redis pub/sub, so that `listen({ broker })` servers on
 * several processes or machines reach each other's peers. Needs the `redis` package (node-redis
 * 5), an optional peer dependency: `npm install redis`.
 *
 * @module rxwire/redis
 */
export { redisBroker } from './redis-broker.js';
export { REDIS_BROKER_DEFAULTS, type RedisBrokerOptions } from './options.js';
export type { Broker, BrokerGap, BrokerHealth } from '../server/broker.js';
export { BrokerUnavailableError } from '../core/errors.js';
