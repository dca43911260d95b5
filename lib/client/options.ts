import { asyncScheduler, type Observable, type SchedulerLike } from 'rxjs';
import { BACKOFF_DEFAULTS, type BackoffOptions } from '../core/backoff.js';
import { ITERATE_DEFAULTS, type IterateOptions } from '../core/iterate.js';
import { RETRY_DEFAULTS } from '../core/retry-with-backoff.js';
import type { CloseInfo } from '../core/errors.js';
import type { WireData } from '../core/codec.js';
import type { HandshakeConnection } from '../core/handshake.js';
import type { HeartbeatOptions } from '../core/heartbeat.js';
import type { Logger } from '../core/report.js';
import type { BufferOptions } from '../core/send-queue.js';
import { resolveSession, SESSION_DEFAULTS, type ResolvedSession, type SessionOptions } from '../core/session-options.js';
import type { WebSocketConstructor } from '../core/transport.js';
import type { WsOptions } from '../transports/ws-options.js';

/**
 * Options of `reconnect`: the backoff, and when to give up.
 *
 * @example
 * ```ts
 * const reconnect: ReconnectOptions = {
 *   initialDelay: 500,
 *   maxDelay: 15_000,
 *   maxAttempts: 20,
 *   shouldReconnect: (close) => close.code !== 4001 && isRetriableClose(close), // 4001: this server's "token revoked"
 * };
 * const socket = connect('wss://example.com/feed', { reconnect });
 * ```
 */
export interface ReconnectOptions extends BackoffOptions {
  /**
   * Attempts in all, the first one included (>= 1): `3` means one connect and two retries.
   * @default Infinity
   */
  maxAttempts?: number;
  /**
   * After this many milliseconds open, the attempt counter goes back to 0 (>= 0 and <= 2147483647,
   * or `Infinity` to never reset). A connection that drops sooner counts as a failed attempt.
   * @default 5000
   */
  resetAfter?: number;
  /**
   * Decides whether a closed connection is retried, overriding the default table (see
   * `docs/reconnect.md`) both ways. Consulted for every failure, the last included: a `false`
   * ends with `ConnectionClosedError`; a `true` on the last allowed attempt ends with
   * `RetriesExhaustedError`.
   * @default isRetriableClose
   */
  shouldReconnect?: (close: CloseInfo) => boolean;
}

/**
 * Options of {@link connect}. Every field is optional and validated when `connect()` is called;
 * an unknown key (here or in a nested object) is a TypeError, with a suggestion for a near miss.
 * Durations are timer delays, at most 2147483647 ms (2^31 - 1): a longer timer would fire at once.
 *
 * @example
 * ```ts
 * const options: ConnectOptions<Message, Message> = {
 *   protocols: ['feed.v2'],
 *   connectTimeout: 5_000,
 *   lazyCloseTimeout: 30_000, // keep the socket across a quick unsubscribe/resubscribe
 *   reconnect: { maxAttempts: 10 },
 * };
 * const socket = connect<Message, Message>('wss://example.com/feed', options);
 * ```
 */
export interface ConnectOptions<In = unknown, Out = unknown> {
  /**
   * The WebSocket implementation. In Node the `ws` package (even where Node has a global
   * `WebSocket`: only `ws` gives ping frames, headers and TLS options); in browsers, workers and
   * Deno the global `WebSocket`.
   * @default WebSocket from 'ws' in Node, globalThis.WebSocket elsewhere
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Subprotocols offered in the handshake: RFC 6455 tokens (letters, digits and
   * ``!#$%&'*+-.^_`|~``), no duplicates; checked by `connect()`.
   * @default undefined
   */
  protocols?: string | string[];
  /**
   * Options for `ws` (headers, `ca`, `rejectUnauthorized`, `maxPayload`, `agent`, ...), or a
   * function of the attempt number (1 = first) returning them, for per-attempt headers. An
   * object is checked by `connect()` (header names and values; a key that is a near miss of a
   * `ws` option name, such as `header`); a function's result is checked by the `WebSocket`
   * constructor at the attempt, and a refusal ends the socket with a `ConfigurationError` cause.
   * @default {}
   */
  wsOptions?: WsOptions | ((attempt: number) => WsOptions | Promise<WsOptions>);
  /**
   * Turns an outgoing message into text or binary. Runs inside `send()`; if it throws or returns
   * neither, `send()` rejects with that error and nothing is queued.
   * @default JSON.stringify
   */
  serialize?: (message: Out) => WireData;
  /**
   * Turns an incoming frame into a message. Receives a string for text frames and a `Uint8Array`
   * for binary frames. If it throws, a `DecodeError` goes to `errors$` and the stream goes on.
   * @default text → JSON.parse, binary → the Uint8Array itself
   */
  deserialize?: (data: string | Uint8Array) => In;
  /**
   * Milliseconds an attempt may take, from calling a URL function through TCP, TLS and the
   * handshake to open (> 0 and <= 2147483647, or `Infinity`: no limit). A slower attempt is
   * aborted with `ConnectTimeoutError`.
   * @default 10000
   */
  connectTimeout?: number;
  /**
   * Reconnect with exponential backoff and full jitter, or `false` to never retry.
   * @default { initialDelay: 1000, maxDelay: 30000, factor: 2, jitter: true, maxAttempts: Infinity, resetAfter: 5000 }
   */
  reconnect?: false | ReconnectOptions;
  /**
   * Ping/pong liveness check, or `false`. On by default where the socket has `ping()` (`ws`).
   * @default { interval: 25000, timeout: 10000 }
   */
  heartbeat?: false | HeartbeatOptions<In, Out>;
  /**
   * Milliseconds `close()` waits for the server's close frame before terminating the socket
   * (>= 0 and <= 2147483647).
   * In Node it also bounds a close the server starts: once the close frames are exchanged, the
   * server gets this long to close the TCP connection before the client does (RFC 6455 7.1.1;
   * `ws` alone waits 30 s, with the socket still counted as open).
   * @default 1000
   */
  closeTimeout?: number;
  /**
   * Milliseconds the connection lingers after its last holder is gone (a `messages$` subscriber,
   * an iterator, a channel, a pending request, or a message waiting in the buffer; a `send()`
   * holds it from the call), before it closes with 1000 and `state$` returns to `'idle'` (>= 0
   * and <= 2147483647, or `Infinity`: never). The linger lets a script `await send()` and then
   * iterate on the same connection, and a producer that sends every few seconds use one
   * connection instead of a handshake per message; a script that ends without `close()` exits
   * this long after its last use.
   * @default 5000
   */
  lazyCloseTimeout?: number;
  /**
   * Bounds of `for await` over the socket and its channels (what waits for a slow loop). Every
   * drop is counted on the iterator (`dropped`) and reported to `logger`.
   * @default { size: 1000, overflow: 'drop-oldest' }
   */
  iteration?: IterateOptions<In>;
  /**
   * Where rxwire reports what nobody else observes: `'warn'` for a failure or drop that no
   * `errors$`/`dropped$` subscriber saw (at the 1st, 2nd, 4th, 8th… occurrence, never per
   * message), `'debug'` for every state change. `false`: silent.
   * @default a logger that prints `'warn'` to `console.warn` and ignores `'debug'`
   */
  logger?: false | Logger;
  /**
   * In browsers and workers: check the connection at once when the page comes back online, becomes
   * visible again or is restored from the back/forward cache, instead of waiting for throttled
   * timers. A socket waiting to reconnect dials at once (attempt 1); an open one sends a heartbeat
   * ping at once (so a connection that died while the laptop slept is found within
   * `heartbeat.timeout`), and so on `offline`. No effect in Node, nor without a page or worker.
   * @default true
   */
  pageEvents?: boolean;
  /**
   * Resumable sessions (the server must be rxwire's `listen({ session })`): reliable messages are
   * numbered, kept until the server acknowledges them, replayed after a reconnect and delivered
   * exactly once and in order, both ways; `send()` of one resolves at the server's receipt. A
   * session that cannot be resumed is reported (`SessionLostError`), with every unacknowledged
   * message rejected (`'session-lost'`). Negotiated as the subprotocol `rxwire.session.1`: a server
   * that does not accept it fails the socket with `SessionUnsupportedError`. See docs/sessions.md.
   * @default false
   */
  session?: boolean | SessionOptions;
  /**
   * The outgoing buffer's bounds.
   * @default { size: 1000, timeout: 10000, overflow: 'drop-newest' }
   */
  buffer?: BufferOptions;
  /**
   * Bytes the socket may hold unsent (`bufferedAmount`) before the writer stops and waits for it
   * to drain (>= 0); what is not written waits in the buffer.
   * @default 1048576
   */
  highWaterMark?: number;
  /**
   * A per-connection handshake, run after every open and before `state$` says `'open'`, channels
   * resubscribe and the buffer flushes (e.g. graphql-transport-ws's `connection_init` → `connection_ack`).
   * Finishes when the Promise resolves or the Observable emits or completes; if it fails or
   * outlasts `connectTimeout`, the attempt counts as failed and is retried.
   * @default undefined
   */
  handshake?: (conn: HandshakeConnection<In, Out>) => PromiseLike<unknown> | Observable<unknown>;
  /**
   * The scheduler for every timer (backoff, timeouts, heartbeat, expiry), for virtual-time tests.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}


/**
 * Every default of {@link ConnectOptions}, in one table (each option's TSDoc says the same).
 * Those of the core pieces come from beside them: the backoff, the retry operator, iteration.
 */
export const DEFAULTS = {
  connectTimeout: 10000,
  closeTimeout: 1000,
  lazyCloseTimeout: 5000,
  highWaterMark: 1024 * 1024,
  buffer: { size: 1000, timeout: 10000, overflow: 'drop-newest' },
  heartbeat: { interval: 25000, timeout: 10000 },
  reconnect: { ...BACKOFF_DEFAULTS, ...RETRY_DEFAULTS },
  iteration: ITERATE_DEFAULTS,
  pageEvents: true,
  session: SESSION_DEFAULTS,
} as const;

/** {@link ConnectOptions} with every default applied (nested objects merged key by key). */
export interface ResolvedOptions<In, Out> {
  readonly WebSocket: WebSocketConstructor;
  readonly protocols: string | string[] | undefined;
  readonly wsOptions: ConnectOptions<In, Out>['wsOptions'];
  readonly serialize: ((message: Out) => WireData) | undefined;
  readonly deserialize: ((data: string | Uint8Array) => In) | undefined;
  readonly connectTimeout: number;
  readonly closeTimeout: number;
  readonly lazyCloseTimeout: number;
  readonly highWaterMark: number;
  readonly buffer: Required<BufferOptions>;
  readonly heartbeat: false | { interval: number; timeout: number; message: (() => Out) | undefined; isPong: ((message: In) => boolean) | undefined };
  readonly reconnect: false | ReconnectOptions;
  readonly iteration: IterateOptions<In>;
  readonly handshake: ConnectOptions<In, Out>['handshake'];
  readonly scheduler: SchedulerLike;
  readonly logger: false | Logger | undefined;
  readonly pageEvents: boolean;
  /** Undefined when sessions are off. */
  readonly session: ResolvedSession | undefined;
}

/** The options object of a client that gave none: one for all (a client keeps it). */
const NONE = Object.freeze({});

/** Applies {@link DEFAULTS} to validated `options`; `WebSocket` is the build's when not given. */
export function resolveOptions<In, Out>(options: ConnectOptions<In, Out>, WebSocket: WebSocketConstructor): ResolvedOptions<In, Out> {
  const {
    connectTimeout = DEFAULTS.connectTimeout,
    closeTimeout = DEFAULTS.closeTimeout,
    lazyCloseTimeout = DEFAULTS.lazyCloseTimeout,
    highWaterMark = DEFAULTS.highWaterMark,
    buffer: { size = DEFAULTS.buffer.size, timeout = DEFAULTS.buffer.timeout, overflow = DEFAULTS.buffer.overflow } = {},
    heartbeat = {},
    reconnect = NONE,
    pageEvents = DEFAULTS.pageEvents,
    scheduler = asyncScheduler,
  } = options;
  return {
    WebSocket: options.WebSocket ?? WebSocket,
    protocols: options.protocols,
    wsOptions: options.wsOptions,
    serialize: options.serialize,
    deserialize: options.deserialize,
    connectTimeout,
    closeTimeout,
    lazyCloseTimeout,
    highWaterMark,
    buffer: { size, timeout, overflow },
    heartbeat: heartbeat && {
      interval: heartbeat.interval ?? DEFAULTS.heartbeat.interval,
      timeout: heartbeat.timeout ?? DEFAULTS.heartbeat.timeout,
      message: heartbeat.message,
      isPong: heartbeat.isPong,
    },
    // The retry operator applies the backoff and retry defaults itself.
    reconnect,
    iteration: options.iteration ?? NONE,
    handshake: options.handshake,
    scheduler,
    logger: options.logger,
    pageEvents,
    session: resolveSession(options.session),
  };
}
