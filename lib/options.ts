import type { Observable, SchedulerLike } from 'rxjs';
import type { BackoffOptions } from './backoff.js';
import type { IterateOptions } from './iterate.js';
import type { CloseInfo } from './errors.js';
import type { WebSocketConstructor } from './web-socket.js';

/**
 * Where to connect: a URL, or a function called before every attempt (for fresh tokens).
 *
 * @example
 * ```ts
 * const url: UrlSource = async () => {
 *   const token = await (await fetch('https://example.com/ws-token')).text();
 *   return `wss://example.com/feed?token=${encodeURIComponent(token)}`;
 * };
 * const socket = connect(url); // every reconnect fetches a fresh token
 * ```
 */
export type UrlSource = string | URL | (() => string | URL | Promise<string | URL>);

/**
 * One connection as a `handshake` sees it: `send` writes directly on this connection (bypassing
 * the buffer), and `messages$` has the messages that arrive during the handshake, replayed to a
 * late subscriber; it completes when the handshake decides (the Observable emits or completes, or
 * the Promise settles) or the connection is lost. Messages that arrive after the decision reach
 * the socket's `messages$`, in order, once the connection is open.
 *
 * @example
 * ```ts
 * const socket = connect<Message, Message>('wss://example.com/graphql', {
 *   protocols: 'graphql-transport-ws',
 *   handshake: (conn: HandshakeConnection<Message, Message>) => {
 *     conn.send({ type: 'connection_init' });
 *     return conn.messages$.pipe(first((reply) => reply.type === 'connection_ack'));
 *   },
 * });
 * ```
 */
export interface HandshakeConnection<In, Out> {
  send(message: Out): void;
  readonly messages$: Observable<In>;
}

/**
 * Options passed to `ws`'s constructor in Node (see `ws`'s `WsOptions`): `headers`, `ca`,
 * `rejectUnauthorized`, `maxPayload`, `agent`, `perMessageDeflate`, ... Ignored by browsers.
 *
 * @example
 * ```ts
 * const wsOptions: WsOptions = { headers: { Authorization: `Bearer ${process.env.API_TOKEN}` }, maxPayload: 1024 * 1024 };
 * const socket = connect('wss://example.com/feed', { wsOptions });
 * ```
 */
export interface WsOptions {
  /**
   * Extra HTTP headers of the upgrade request (e.g. `Authorization`, `Cookie`).
   * @default undefined
   */
  headers?: Record<string, string>;
  /**
   * Largest incoming message `ws` accepts, in bytes; a bigger one closes the connection with 1009.
   * @default 104857600 (100 MiB, `ws`'s default)
   */
  maxPayload?: number;
  /**
   * Offer the permessage-deflate extension (`true`, or `ws`'s extension options).
   * @default true (`ws`'s default)
   */
  perMessageDeflate?: boolean | object;
  /**
   * Reject a server whose TLS certificate does not verify against `ca`.
   * @default true (Node's TLS default)
   */
  rejectUnauthorized?: boolean;
  /**
   * Certificate authorities to trust for `wss:`, replacing Node's bundled roots.
   * @default undefined (Node's bundled root certificates)
   */
  ca?: unknown;
  /**
   * An `http.Agent` / `https.Agent` for the upgrade request, e.g. for a proxy.
   * @default undefined (no agent)
   */
  agent?: unknown;
  [option: string]: unknown;
}

/**
 * Receives what rxwire reports: `level` `'warn'` for failures nobody observed, `'debug'` for state
 * changes; `details` carries the error, state or message concerned.
 *
 * @example
 * ```ts
 * const logger: Logger = (level, message, details) => (level === 'warn' ? console.warn : console.debug)(`[feed] ${message}`, details);
 * const socket = connect('wss://example.com/feed', { logger });
 * ```
 */
export type Logger = (level: 'warn' | 'debug', message: string, details?: Readonly<Record<string, unknown>>) => void;

/**
 * What a message is written as: text, or binary.
 *
 * @example
 * ```ts
 * const socket = connect<Message, Message>('wss://example.com/binary', {
 *   serialize: (message): WireData => new TextEncoder().encode(JSON.stringify(message)), // a binary frame
 *   deserialize: (data) => JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as Message,
 * });
 * ```
 */
export type WireData = string | Uint8Array | ArrayBuffer;

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
 * Options of `heartbeat`: a ping every `interval`, each answered within `timeout`. In Node (`ws`)
 * the pings are ping frames. Browsers cannot send ping frames: there, and wherever `message` is
 * given, the heartbeat is application-level — `message()` is written (bypassing the buffer) and
 * an incoming message accepted by `isPong` (without `isPong`: any message) meets the deadline.
 *
 * @example
 * ```ts
 * const heartbeat: HeartbeatOptions<Message, Message> = {
 *   interval: 15_000,
 *   timeout: 5_000,
 *   message: () => ({ op: 'ping' }),
 *   isPong: (reply) => reply.op === 'pong',
 * };
 * const socket = connect<Message, Message>('wss://example.com/live', { heartbeat });
 * ```
 */
export interface HeartbeatOptions<In = unknown, Out = unknown> {
  /**
   * Milliseconds between pings (> 0 and <= 2147483647).
   * @default 25000
   */
  interval?: number;
  /**
   * Milliseconds a ping may wait for its pong (> 0 and <= 2147483647). A miss terminates the socket and ends the
   * connection as `{ code: 1006, reason: 'heartbeat timeout' }`.
   * @default 10000
   */
  timeout?: number;
  /**
   * The application-level ping message. Without it, browsers have no heartbeat.
   * @default undefined (ping frames in Node)
   */
  message?(): Out;
  /**
   * Which incoming message is the pong; such messages do not reach `messages$`.
   * @default undefined (any incoming message meets the deadline)
   */
  isPong?(message: In): boolean;
}

/**
 * How a full buffer makes room.
 *
 * @example
 * ```ts
 * // Quotes: a newer price supersedes an older one, so a full buffer evicts the oldest.
 * const overflow: OverflowPolicy = 'drop-oldest';
 * const socket = connect('wss://example.com/quotes', { buffer: { size: 50, overflow } });
 * ```
 */
export type OverflowPolicy = 'drop-newest' | 'drop-oldest';

/**
 * Options of the outgoing `buffer`: what waits while the socket cannot take more.
 *
 * @example
 * ```ts
 * // Cursor positions: only recent ones matter, and one older than 2 s is worthless.
 * const buffer: BufferOptions = { size: 10, timeout: 2_000, overflow: 'drop-oldest' };
 * const socket = connect('wss://example.com/cursors', { buffer });
 * ```
 */
export interface BufferOptions {
  /**
   * Messages that may wait (integer >= 0), the first included. `0`: only messages that can be
   * written at once are accepted.
   * @default 1000
   */
  size?: number;
  /**
   * Milliseconds a message may wait before it is dropped with reason `'timeout'` (>= 0 and
   * <= 2147483647, or `Infinity`: no limit), counted from `send()`. Overridable per `send()`.
   * @default 10000
   */
  timeout?: number;
  /**
   * Which message a full buffer drops: the new arrival, or the earliest enqueued.
   * @default 'drop-newest'
   */
  overflow?: OverflowPolicy;
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
 * The longest delay a timer can have, in milliseconds (2^31 - 1): Node (and browsers) run a longer
 * one after 1 ms. Finite durations above it are rejected; `Infinity`, where allowed, means no timer.
 */
export const MAX_DELAY = 2147483647;

/** Throws a TypeError or RangeError whose message names the option, the expectation and the value. */
export function invalid(name: string, expected: string, value: unknown, Kind: ErrorConstructor = TypeError): never {
  throw new Kind(`Expected \`${name}\` to be ${expected}, got ${show(value)}`);
}

/** A value as messages show it: `` `value` (type) ``, strings escaped, objects by their class. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value).slice(1, -1)}\` (string)`;
  if (typeof value === 'function') return '`function` (function)';
  if (value === null) return '`null` (null)';
  if (typeof value === 'object') return `\`${Object.prototype.toString.call(value).slice(8, -1)}\` (object)`;
  return `\`${String(value)}\` (${typeof value})`;
}

/**
 * Validates a number option: `min` inclusive unless `exclusive`; `integer`; at most `max` (named in
 * the message only when exceeded); `Infinity` only if allowed.
 */
export function checkNumber(
  name: string,
  value: unknown,
  { min, exclusive = false, integer = false, infinity = false, max }: { min: number; exclusive?: boolean; integer?: boolean; infinity?: boolean; max?: number },
): void {
  if (value === undefined) return;
  const kind = integer ? 'an integer' : 'a number';
  const orInfinity = infinity ? ' (or Infinity)' : '';
  const expected = `${kind} ${exclusive ? '>' : '>='} ${min}${orInfinity}`;
  if (typeof value !== 'number' || Number.isNaN(value)) invalid(name, expected, value);
  if (value === Infinity && infinity) return;
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) invalid(name, expected, value, RangeError);
  if (exclusive ? value <= min : value < min) invalid(name, expected, value, RangeError);
  if (max !== undefined && value > max) {
    invalid(name, `${kind} ${exclusive ? '>' : '>='} ${min} and <= ${max}${orInfinity}`, value, RangeError);
  }
}

/** Validates a duration in milliseconds: a timer's delay, so at most {@link MAX_DELAY}. */
export function checkDelay(name: string, value: unknown, { positive = false, infinity = false }: { positive?: boolean; infinity?: boolean } = {}): void {
  checkNumber(name, value, { min: 0, exclusive: positive, infinity, max: MAX_DELAY });
}

function checkScheduler(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null || typeof (value as { schedule?: unknown }).schedule !== 'function')) {
    invalid(name, 'an RxJS scheduler', value);
  }
}

/** Validates a function option; `undefined` passes unless `required`. */
export function checkFunction(name: string, value: unknown, required = false): void {
  if ((required || value !== undefined) && typeof value !== 'function') invalid(name, 'a function', value);
}

function checkObject(name: string, value: unknown, allowFalse: boolean): value is Record<string, unknown> | undefined {
  if (value === undefined || (allowFalse && value === false)) return value === undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid(name, allowFalse ? 'an object or false' : 'an object', value);
  }
  return true;
}

/** Validates that `value` is a plain options object (not null, an array or a function). */
export function checkOptionsObject(name: string, value: unknown): asserts value is Record<string, unknown> {
  checkObject(name, value, false);
  if (value === undefined) invalid(name, 'an object', value);
}

/**
 * Rejects keys of `options` that are not in `known`, suggesting the nearest known key for a near
 * miss. `prefix` names the object in messages (`'buffer.'`). With `nearMissesOnly`, only near
 * misses are rejected: an open-ended object (`wsOptions`, which `ws` passes on to `http` and `tls`).
 */
export function checkKeys(prefix: string, options: Record<string, unknown>, known: readonly string[], nearMissesOnly = false): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const suggestion = nearest(key, known);
    if (suggestion !== undefined) throw new TypeError(`Unknown option \`${prefix}${key}\`: did you mean \`${prefix}${suggestion}\`?`);
    if (!nearMissesOnly) {
      throw new TypeError(`Unknown option \`${prefix}${key}\` (the options are ${known.map((k) => `\`${prefix}${k}\``).join(', ')})`);
    }
  }
}

/** The known name `key` is a near miss of: equal but for case, or within a small edit distance. */
function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    if (name.toLowerCase() === key.toLowerCase()) return name;
    // Short names are near everything: `ca` is 2 edits from any 2-letter key.
    const allowed = name.length <= 3 ? 0 : name.length <= 5 ? 1 : 2;
    const distance = editDistance(key, name);
    if (distance <= allowed && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const above = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = d;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}

const CONNECT_KEYS = [
  'WebSocket', 'protocols', 'wsOptions', 'serialize', 'deserialize', 'connectTimeout', 'reconnect', 'heartbeat',
  'closeTimeout', 'lazyCloseTimeout', 'buffer', 'highWaterMark', 'handshake', 'scheduler', 'iteration', 'logger', 'pageEvents',
] as const;
const ITERATION_KEYS = ['size', 'overflow', 'onDrop'] as const;
const RECONNECT_KEYS = ['initialDelay', 'maxDelay', 'factor', 'jitter', 'random', 'maxAttempts', 'resetAfter', 'shouldReconnect'] as const;
const HEARTBEAT_KEYS = ['interval', 'timeout', 'message', 'isPong'] as const;
const BUFFER_KEYS = ['size', 'timeout', 'overflow'] as const;

/**
 * Options `ws` takes itself, and those it passes on to `http.request` and `tls.connect`: a key of
 * `wsOptions` that is a near miss of one of these is a typo (`header`, `MaxPayload`).
 */
const WS_OPTION_KEYS = [
  // ws
  'allowSynchronousEvents', 'autoPong', 'createConnection', 'finishRequest', 'followRedirects', 'generateMask',
  'handshakeTimeout', 'headers', 'maxPayload', 'maxRedirects', 'origin', 'perMessageDeflate', 'protocolVersion',
  'skipUTF8Validation',
  // http.request
  'agent', 'auth', 'family', 'hints', 'insecureHTTPParser', 'joinDuplicateHeaders', 'localAddress', 'localPort',
  'lookup', 'maxHeaderSize', 'setHost', 'signal', 'socketPath', 'timeout', 'uniqueHeaders',
  // tls.connect
  'ALPNProtocols', 'ca', 'cert', 'checkServerIdentity', 'ciphers', 'crl', 'dhparam', 'ecdhCurve', 'honorCipherOrder',
  'key', 'maxVersion', 'minVersion', 'passphrase', 'pfx', 'privateKeyEngine', 'privateKeyIdentifier',
  'rejectUnauthorized', 'secureContext', 'secureOptions', 'secureProtocol', 'servername', 'session', 'sigalgs',
  'enableTrace', 'requestOCSP', 'pskCallback',
] as const;

/** RFC 6455 4.1: a subprotocol is an HTTP token (RFC 7230 3.2.6), as `ws` and browsers check. */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;
/** What Node accepts in a header value: tab, visible ASCII, space, obs-text (no CR, LF, NUL). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function checkProtocols(value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string' && !(Array.isArray(value) && value.every((p) => typeof p === 'string'))) {
    invalid('protocols', 'a string or an array of strings', value);
  }
  const list: string[] = typeof value === 'string' ? [value] : value;
  const seen = new Set<string>();
  list.forEach((protocol, i) => {
    if (!TOKEN.test(protocol)) invalid(typeof value === 'string' ? 'protocols' : `protocols[${i}]`, 'a subprotocol (an HTTP token, RFC 6455 4.1)', protocol);
    if (seen.has(protocol)) throw new TypeError(`Expected \`protocols\` to have no duplicates, got \`${protocol}\` twice`);
    seen.add(protocol);
  });
}

/** Static `wsOptions`: near-miss keys, and headers Node would refuse (at every attempt). */
function checkWsOptions(w: Record<string, unknown>): void {
  checkKeys('wsOptions.', w, WS_OPTION_KEYS, true);
  if (!checkObject('wsOptions.headers', w.headers, false) || w.headers === undefined) return;
  for (const [name, value] of Object.entries(w.headers as Record<string, unknown>)) {
    if (!TOKEN.test(name)) throw new TypeError(`Expected \`wsOptions.headers\` to have header names that are HTTP tokens, got ${show(name)}`);
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      invalid(`wsOptions.headers[${JSON.stringify(name)}]`, 'a header value (a string without CR, LF or other control characters)', value);
    }
  }
}

/** Validates every option of `connect()`, throwing on the first that is wrong. */
export function validateOptions(options: unknown): void {
  if (!checkObject('options', options, false) || options === undefined) return;
  const o = options as Record<string, unknown>;
  checkKeys('', o, CONNECT_KEYS);
  checkFunction('WebSocket', o.WebSocket);
  checkProtocols(o.protocols);
  if (o.wsOptions !== undefined && typeof o.wsOptions !== 'function') {
    if (typeof o.wsOptions !== 'object' || o.wsOptions === null || Array.isArray(o.wsOptions)) {
      invalid('wsOptions', 'an object or a function', o.wsOptions);
    }
    checkWsOptions(o.wsOptions as Record<string, unknown>);
  }
  checkFunction('serialize', o.serialize);
  checkFunction('deserialize', o.deserialize);
  checkFunction('handshake', o.handshake);
  checkDelay('connectTimeout', o.connectTimeout, { positive: true, infinity: true });
  checkDelay('closeTimeout', o.closeTimeout);
  checkDelay('lazyCloseTimeout', o.lazyCloseTimeout, { infinity: true });
  checkNumber('highWaterMark', o.highWaterMark, { min: 0 });
  checkScheduler('scheduler', o.scheduler);
  if (checkObject('reconnect', o.reconnect, true) && o.reconnect) {
    checkKeys('reconnect.', o.reconnect as Record<string, unknown>, RECONNECT_KEYS);
    validateReconnect(o.reconnect as Record<string, unknown>, 'reconnect.');
  }
  if (checkObject('heartbeat', o.heartbeat, true) && o.heartbeat) {
    const h = o.heartbeat as Record<string, unknown>;
    checkKeys('heartbeat.', h, HEARTBEAT_KEYS);
    checkDelay('heartbeat.interval', h.interval, { positive: true });
    checkDelay('heartbeat.timeout', h.timeout, { positive: true });
    checkFunction('heartbeat.message', h.message);
    checkFunction('heartbeat.isPong', h.isPong);
  }
  if (o.logger !== undefined && o.logger !== false) checkFunction('logger', o.logger);
  if (o.pageEvents !== undefined && typeof o.pageEvents !== 'boolean') invalid('pageEvents', 'a boolean', o.pageEvents);
  if (checkObject('iteration', o.iteration, false) && o.iteration) validateIterateOptions(o.iteration as Record<string, unknown>, 'iteration.');
  if (checkObject('buffer', o.buffer, false) && o.buffer) {
    const b = o.buffer as Record<string, unknown>;
    checkKeys('buffer.', b, BUFFER_KEYS);
    checkNumber('buffer.size', b.size, { min: 0, integer: true, infinity: true });
    checkDelay('buffer.timeout', b.timeout, { infinity: true });
    if (b.overflow !== undefined && b.overflow !== 'drop-newest' && b.overflow !== 'drop-oldest') {
      invalid('buffer.overflow', "'drop-newest' or 'drop-oldest'", b.overflow);
    }
  }
}

/** Validates the options of one `send()`: an object with at most `timeout`. */
export function validateSendOptions(options: unknown): asserts options is { timeout?: number } {
  checkOptionsObject('options', options);
  checkKeys('', options, ['timeout']);
  checkDelay('timeout', options.timeout, { infinity: true });
}

/** Validates the options of an async iteration (`iterate()`, `socket.iterate()`, `iteration`). */
export function validateIterateOptions(options: unknown, prefix = ''): void {
  if (options === undefined) return;
  checkOptionsObject(prefix ? prefix.slice(0, -1) : 'options', options);
  checkKeys(prefix, options, ITERATION_KEYS);
  checkNumber(`${prefix}size`, options.size, { min: 1, integer: true, infinity: true });
  const { overflow } = options;
  if (overflow !== undefined && overflow !== 'drop-oldest' && overflow !== 'drop-newest' && overflow !== 'error') {
    invalid(`${prefix}overflow`, "'drop-oldest', 'drop-newest' or 'error'", overflow);
  }
  checkFunction(`${prefix}onDrop`, options.onDrop);
}

/** Validates the options of `reconnect` / `retryWithBackoff`; `prefix` names them in messages. */
export function validateReconnect(r: Record<string, unknown>, prefix: string): void {
  checkDelay(`${prefix}initialDelay`, r.initialDelay);
  checkDelay(`${prefix}maxDelay`, r.maxDelay);
  checkNumber(`${prefix}factor`, r.factor, { min: 1 });
  checkNumber(`${prefix}maxAttempts`, r.maxAttempts, { min: 1, integer: true, infinity: true });
  checkDelay(`${prefix}resetAfter`, r.resetAfter, { infinity: true });
  if (r.jitter !== undefined && typeof r.jitter !== 'boolean') invalid(`${prefix}jitter`, 'a boolean', r.jitter);
  checkFunction(`${prefix}random`, r.random);
  checkFunction(`${prefix}shouldReconnect`, r.shouldReconnect);
  checkFunction(`${prefix}shouldRetry`, r.shouldRetry);
  checkFunction(`${prefix}onRetry`, r.onRetry);
  checkFunction(`${prefix}onReset`, r.onReset);
  checkScheduler(`${prefix}scheduler`, r.scheduler);
  // Only when both are given: a lone maxDelay below the default initialDelay simply caps it.
  if (typeof r.initialDelay === 'number' && typeof r.maxDelay === 'number' && r.maxDelay < r.initialDelay) {
    invalid(`${prefix}maxDelay`, `a number >= \`${prefix}initialDelay\` (${r.initialDelay})`, r.maxDelay, RangeError);
  }
}
