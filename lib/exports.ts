// The API shared by every build; each build's barrel adds its own `connect`.
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { ChannelError, type ChannelOptions } from './channel.js';
export {
  type Channel,
  type ConnectionState,
  type ConnectionStatus,
  type DroppedMessage,
  type RxSocket,
  type SendOptions,
  type SocketMetrics,
} from './client.js';
export { iterate, IterationOverflowError, type IterateOptions, type IterationOverflow, type MessageIterator } from './iterate.js';
export { isRetriableClose } from './close-codes.js';
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
} from './errors.js';
export type {
  BufferOptions,
  ConnectOptions,
  HandshakeConnection,
  HeartbeatOptions,
  Logger,
  OverflowPolicy,
  ReconnectOptions,
  UrlSource,
  WireData,
  WsOptions,
} from './options.js';
export { retryWithBackoff, type RetryInfo, type RetryWithBackoffOptions } from './reconnect.js';
export { matchId, RequestTimeoutError, type RequestOptions } from './request.js';
export type { WebSocketConstructor, WebSocketLike } from './web-socket.js';
