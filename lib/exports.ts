// The API shared by every build; each build's barrel adds its own `connect`.
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { ChannelError, type ChannelOptions } from './channel.js';
export { type ConnectionState, type ConnectionStatus, type DroppedMessage, type RxSocket, type SendOptions } from './client.js';
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
  OverflowPolicy,
  ReconnectOptions,
  UrlSource,
  WireData,
  WsOptions,
} from './options.js';
export { retryWithBackoff, type RetryInfo, type RetryWithBackoffOptions } from './reconnect.js';
export { matchId, RequestTimeoutError, type RequestOptions } from './request.js';
export type { WebSocketConstructor, WebSocketLike } from './web-socket.js';
