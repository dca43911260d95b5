/**
 * How a WebSocket connection ended: the close frame's code and reason, or the code rxwire
 * assigned when there was no clean close (1006 for a network failure, a timeout or a terminated
 * zombie; 1002/1007/1009 when `ws` detected a protocol error in the server's frames).
 *
 * @example
 * ```ts
 * socket.state$.subscribe(({ lastClose }) => lastClose && console.log(lastClose.code, lastClose.reason));
 * ```
 */
export interface CloseInfo {
  /** The close code (1000–4999), or 1006 when the connection ended without a close frame. */
  readonly code: number;
  /** The close reason sent by the peer, or rxwire's description of the failure. */
  readonly reason: string;
  /** `true` only when both sides exchanged close frames. */
  readonly wasClean: boolean;
  /** The HTTP status of a refused upgrade (for example 401 or 503), when there was one. */
  readonly status?: number;
}

/**
 * The connection closed and will not be retried: a fatal close code, `reconnect: false`, or a
 * `shouldReconnect` that said no. Errors `messages$`; each retried close is reported on `errors$`.
 *
 * @example
 * ```ts
 * socket.messages$.subscribe({ error: (e) => e instanceof ConnectionClosedError && console.log(e.code) });
 * ```
 */
export class ConnectionClosedError extends Error implements CloseInfo {
  override name = 'ConnectionClosedError';
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  readonly status?: number;

  constructor(close: CloseInfo, options?: { cause?: unknown }) {
    const status = close.status === undefined ? '' : ` (HTTP ${close.status})`;
    const reason = close.reason ? `: ${close.reason}` : '';
    super(`Connection closed with code ${close.code}${status}${reason}`, options);
    this.code = close.code;
    this.reason = close.reason;
    this.wasClean = close.wasClean;
    if (close.status !== undefined) this.status = close.status;
  }
}

/**
 * The connection stopped answering pings: no pong arrived within `heartbeat.timeout`. The socket
 * was terminated and the connection ended as `{ code: 1006, reason: 'heartbeat timeout' }`.
 *
 * @example
 * ```ts
 * socket.errors$.subscribe((e) => e instanceof HeartbeatTimeoutError && console.warn('zombie server'));
 * ```
 */
export class HeartbeatTimeoutError extends ConnectionClosedError {
  override name = 'HeartbeatTimeoutError';
  /** The timeout that was missed, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number) {
    super({ code: 1006, reason: 'heartbeat timeout', wasClean: false });
    this.message = `No pong within ${timeout} ms: heartbeat timeout`;
    this.timeout = timeout;
  }
}

/**
 * An attempt did not reach the open state within `connectTimeout` (counting from the call of a
 * URL function, through TCP, TLS and the WebSocket handshake). The attempt was aborted.
 *
 * @example
 * ```ts
 * socket.errors$.subscribe((e) => e instanceof ConnectTimeoutError && console.warn(e.timeout));
 * ```
 */
export class ConnectTimeoutError extends ConnectionClosedError {
  override name = 'ConnectTimeoutError';
  /** The timeout that was exceeded, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number) {
    super({ code: 1006, reason: 'connect timeout', wasClean: false });
    this.message = `Connection not open within ${timeout} ms: connect timeout`;
    this.timeout = timeout;
  }
}

/**
 * Every allowed attempt failed (`reconnect.maxAttempts`). Errors `messages$`; `cause` is the
 * last attempt's error, and `code`/`lastClose` say how the last connection ended.
 *
 * @example
 * ```ts
 * socket.messages$.subscribe({
 *   error: (e) => e instanceof RetriesExhaustedError && console.log(e.attempts, e.code, e.lastClose?.reason),
 * });
 * ```
 */
export class RetriesExhaustedError extends Error {
  override name = 'RetriesExhaustedError';
  /** The number of attempts made, all failed. */
  readonly attempts: number;
  /**
   * How the last attempt ended, when its error was a close (always so for a socket's retries;
   * for {@link retryWithBackoff} over other sources only if the source's error carries a close).
   */
  readonly lastClose?: CloseInfo;
  /** The last attempt's close code (`lastClose.code`), e.g. 1006 for a server that is down. */
  readonly code?: number;

  constructor(attempts: number, cause: unknown) {
    super(`Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${describe(cause)}`, { cause });
    this.attempts = attempts;
    if (cause instanceof ConnectionClosedError) {
      this.lastClose = closeInfo(cause);
      this.code = cause.code;
    }
  }
}

/**
 * An incoming message could not be decoded by `deserialize` (by default: text that is not JSON).
 * Reported on `errors$`; the connection and later messages go on.
 *
 * @example
 * ```ts
 * socket.errors$.subscribe((e) => e instanceof DecodeError && console.warn('bad frame', e.payload));
 * ```
 */
export class DecodeError extends Error {
  override name = 'DecodeError';
  /** The raw message: a string for text frames, a `Uint8Array` for binary frames. */
  readonly payload: string | Uint8Array;

  constructor(payload: string | Uint8Array, cause: unknown) {
    super(`Could not decode an incoming message: ${describe(cause)}`, { cause });
    this.payload = payload;
  }

  /** @deprecated Renamed {@link DecodeError.payload}, the name every rxwire error uses for the message it carries. */
  get data(): string | Uint8Array {
    return this.payload;
  }
}

/**
 * Why a message was dropped before it was written: it waited longer than its timeout
 * (`'timeout'`), the buffer was full (`'overflow'`), the socket was closed for good (`'closed'`),
 * or the socket refused it (`'error'`: its `send` threw, e.g. for an `ArrayBuffer` that was
 * transferred while the message waited; the error is the drop's `cause`). With resumable
 * sessions, `'session-lost'`: a reliable message the peer never acknowledged, in a session that
 * could not be resumed (the application decides whether to send it again).
 *
 * @example
 * ```ts
 * const drops: Record<DropReason, number> = { timeout: 0, overflow: 0, closed: 0, error: 0, 'session-lost': 0 };
 * socket.dropped$.subscribe(({ reason }) => drops[reason]++);
 * ```
 */
export type DropReason = 'timeout' | 'overflow' | 'closed' | 'error' | 'session-lost';

/**
 * A message was dropped before it was written: it waited longer than its timeout, the buffer was
 * full, or the socket was closed for good. `send()` rejects with it; `dropped$` reports it too.
 *
 * @example
 * ```ts
 * socket.send(msg).catch((e) => e instanceof MessageDroppedError && console.warn(e.reason, e.payload));
 * ```
 */
export class MessageDroppedError<T = unknown> extends Error {
  override name = 'MessageDroppedError';
  /** Why the message was dropped. */
  readonly reason: DropReason;
  /** The message as passed to `send()`, before serialization. */
  readonly payload: T;

  constructor(reason: DropReason, payload: T, options?: { cause?: unknown }) {
    super(`Message dropped before it was written (${reason})`, options);
    this.reason = reason;
    this.payload = payload;
  }
}

/** A close error's {@link CloseInfo}, as a plain object. */
export function closeInfo(error: ConnectionClosedError): CloseInfo {
  const { code, reason, wasClean, status } = error;
  return status === undefined ? { code, reason, wasClean } : { code, reason, wasClean, status };
}

/** The error of a connection the client itself closed: 1000, clean. */
export function closedByClient(): ConnectionClosedError {
  return new ConnectionClosedError({ code: 1000, reason: 'closed by the client', wasClean: true });
}

/** An error's message, or the thrown value as a string. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A configuration error found when an attempt starts, which retrying cannot fix: a URL function
 * that returned an invalid or non-WebSocket URL or threw a `TypeError`/`SyntaxError`
 * synchronously, or a `WebSocket` constructor that refused its arguments (the URL, `protocols`
 * or `wsOptions`, e.g. a header value with a newline). It is the `cause` of the
 * `ConnectionClosedError` (code 1006, its message as `reason`) that ends the socket: not retried,
 * unless `reconnect.shouldReconnect` says so.
 *
 * @example
 * ```ts
 * socket.messages$.subscribe({
 *   error: (e) => e instanceof ConnectionClosedError && e.cause instanceof ConfigurationError && console.error(e.cause.option, e.cause.message),
 * });
 * ```
 */
export class ConfigurationError extends TypeError {
  override name = 'ConfigurationError';
  /** What was misconfigured: `'url'` (the URL function), or `'WebSocket'` (its constructor threw). */
  readonly option: 'url' | 'WebSocket';

  constructor(option: 'url' | 'WebSocket', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.option = option;
  }
}

/**
 * A drop's error. Its stack would only show rxwire's writer or timer, and capturing it costs more
 * than the rest of a drop: a flood of 100,000 offline sends must stay cheap. So it carries no frames.
 */
export function droppedError<Out>(reason: DropReason, message: Out, cause?: unknown): MessageDroppedError<Out> {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new MessageDroppedError(reason, message, cause === undefined ? undefined : { cause });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * A promise rejected with `error` that cannot crash the process if nobody awaits it (the drop was
 * reported elsewhere). The handler is attached before the rejection: a promise born rejected
 * (`Promise.reject`) goes through Node's unhandled-rejection bookkeeping, which holds it until
 * the macrotask ends (a synchronous flood of dropped sends would keep every error until then).
 */
export function quietRejection(error: Error): Promise<void> {
  let reject!: (reason: Error) => void;
  const promise = new Promise<void>((_resolve, rejectPromise) => (reject = rejectPromise));
  promise.catch(() => undefined);
  reject(error);
  return promise;
}

/** A thrown value as an Error. */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/**
 * A message could not be handed to the broker that relays it to the other nodes (`rxwire/redis`:
 * Redis is unreachable, or the command failed). Local delivery is not affected: the peers of this
 * node got the message. `broker.publish()` rejects with it; a server's `publish()`/`broadcast()`
 * report it on `server.relayErrors$`.
 *
 * @example
 * ```ts
 * server.relayErrors$.subscribe((e: BrokerUnavailableError) => console.warn(`not relayed to ${e.topic ?? 'every node'}`, e.cause));
 * ```
 */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError';
  /** The topic of the publish, or `null` for a broadcast. */
  readonly topic: string | null;
  /** The message as given to `publish()`/`broadcast()`, or its wire data when only that was known. */
  readonly payload: unknown;
  /** Since when the broker has been down (epoch ms), when it knew it was. */
  readonly since: number | undefined;

  constructor(topic: string | null, payload: unknown, since: number | undefined, options?: { cause?: unknown }) {
    const what = topic === null ? 'a broadcast' : `a publish to \`${topic}\``;
    const cause = options?.cause === undefined ? '' : `: ${describe(options.cause)}`;
    super(`The broker is unavailable: ${what} reached this node's peers only${cause}`, options);
    this.topic = topic;
    this.payload = payload;
    this.since = since;
  }
}
