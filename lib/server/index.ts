/**
 * `rxwire/server` (Node): a WebSocket server whose every accepted client is a {@link Peer} with
 * its own single writer and bounded queue, on the same per-connection core as the client.
 *
 * @module rxwire/server
 */
export { listen } from './server.js';
export type { Server } from './server-api.js';
export type { Peer } from './peer-api.js';
export type { PeerClose, PeerRequest, ServerOptions, ServerSessionOptions, ShutdownReport, SlowConsumerPolicy, VerifyResult } from './options.js';
export { SERVER_DEFAULTS } from './options.js';
export { memoryBroker, memoryBus, type Broker, type BrokerGap, type BrokerHealth, type MemoryBrokerOptions, type MemoryBus } from './broker.js';
export { BrokerUnavailableError } from '../core/errors.js';
export type { SessionStore, StoredSession } from './session-store.js';
