// The API shared by every build; each build's barrel adds its own `connect`.
export { backoffDelay, type BackoffOptions } from './core/backoff.js';
export { ChannelError, type ChannelOptions } from './core/channel.js';
export {
  type Channel,
  type ConnectionState,
  type ConnectionStatus,
  type DroppedMessage,
  type RxSocket,
  type SendOptions,
  type SocketMetrics,
} from './client/client.js';
export { iterate, IterationOverflowError, type IterateOptions, type IterationOverflow, type MessageIterator } from './core/iterate.js';
export { isRetriableClose } from './client/close-policy.js';
export {
  ConfigurationError,
  ConnectionClosedError,
  ConnectTimeoutError,
  DecodeError,
  HeartbeatTimeoutError,
  MessageDroppedError,
  RetriesExhaustedError,
  type CloseInfo,
  type DropReason,
} from './core/errors.js';
export type { BufferOptions, OverflowPolicy } from './core/send-queue.js';
export type { ConnectOptions, ReconnectOptions } from './client/options.js';
export type { HandshakeConnection } from './core/handshake.js';
export type { HeartbeatOptions } from './core/heartbeat.js';
export type { Logger } from './core/report.js';
export type { UrlSource } from './client/url.js';
export type { WireData } from './core/codec.js';
export type { WsOptions } from './transports/ws-options.js';
export { retryWithBackoff, type RetryInfo, type RetryWithBackoffOptions } from './core/retry-with-backoff.js';
export { matchId, RequestTimeoutError, type RequestOptions } from './core/request.js';
export type { WebSocketConstructor, WebSocketLike } from './core/transport.js';
export { SessionLostError, SessionProtocolError, SessionUnsupportedError } from './core/session-errors.js';
export { SESSION_PROTOCOL, type Delivery } from './core/session-frames.js';
export type { SessionOptions } from './core/session-options.js';
export type { RetainOptions } from './core/session-options.js';
