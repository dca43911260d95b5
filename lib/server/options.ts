import type { IncomingHttpHeaders, Server as HttpServer } from 'node:http';
import type { SchedulerLike } from 'rxjs';
import type { WireData } from '../core/codec.js';
import type { Broker } from './broker.js';
import type { CloseInfo } from '../core/errors.js';
import type { Logger } from '../core/report.js';
import { SESSION_DEFAULTS, validateSession, type SessionOptions } from '../core/session-options.js';
import { checkDelay, checkFunction, checkKeys, checkNumber, checkObject, checkScheduler, invalid } from '../core/validate.js';

/**
 * What a server knows of a client's upgrade request, as `verify` and `peer.request` see it.
 *
 * @example
 * ```ts
 * const verify = (request: PeerRequest) => request.headers.authorization === `Bearer ${process.env.TOKEN}`;
 * ```
 */
export interface PeerRequest {
  /** The request's path and query, e.g. `/ws?room=7`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The client's IP address, as the TCP connection says (behind a proxy: the proxy's). */
  readonly remoteAddress: string | undefined;
  /** The subprotocol the server agreed to (`''`: none). Set on `peer.request`; `''` in `verify`. */
  readonly protocol: string;
}

/**
 * `verify`'s answer: `true` admits, `false` refuses with 401, `{ status, reason }` refuses with that
 * HTTP status.
 *
 * @example
 * ```ts
 * const refused: VerifyResult = { status: 429, reason: 'Too Many Requests' };
 * ```
 */
export type VerifyResult = boolean | { readonly status: number; readonly reason?: string };

/**
 * How a peer's queue handles a client that reads slower than the server writes: drop the newest
 * or the oldest waiting message (each drop reported), or close the peer with 1013 "slow consumer"
 * (rxwire clients retry 1013).
 *
 * @example
 * ```ts
 * const slowConsumer: SlowConsumerPolicy = 'close';
 * ```
 */
export type SlowConsumerPolicy = 'drop-newest' | 'drop-oldest' | 'close';

/**
 * The server's session options: those of both ends, and how long a session waits for its client.
 *
 * @example
 * ```ts
 * const server = listen<Message, Message>({ port: 8080, session: { resumeWindow: 30_000, retain: { size: 2_000 } } });
 * ```
 */
export interface ServerSessionOptions extends SessionOptions {
  /**
   * Milliseconds a session outlives its connection, waiting for the client to resume it (>= 0).
   * Then it ends: its unacknowledged reliable messages are dropped with `'session-lost'` (on the
   * peer's `dropped$` and their `send()` promises), `messages$` completes, `closed` resolves.
   * @default 120000
   */
  resumeWindow?: number;
  /**
   * Where sessions live: in this process (`'memory'`), or in the broker's store (`'broker'`, e.g.
   * Redis through `redisBroker()`), so that a client whose node died resumes on another node with
   * nothing lost or duplicated. Each reliable message is then written ahead to the store: it costs
   * a round trip to Redis before a message goes out or is delivered (docs/scaling.md).
   * @default 'memory'
   */
  store?: 'memory' | 'broker';
}

/**
 * Options of {@link listen}. Either `port` (and `host`) to listen on, or `server` to attach to an
 * `http`/`https` server you run. Validated when `listen()` is called.
 *
 * @example
 * ```ts
 * const server = listen<Message, Message>({ port: 8080, path: '/ws', allowedOrigins: ['https://app.example.com'] });
 * ```
 */
export interface ServerOptions<In = unknown, Out = unknown> {
  /**
   * The port to listen on (0: any free port; `server.port` says which).
   * @default 0
   */
  port?: number;
  /**
   * The address to listen on.
   * @default '127.0.0.1'
   */
  host?: string;
  /** An `http`/`https` server to attach to instead: only its `'upgrade'` events are taken. */
  server?: HttpServer;
  /**
   * The path clients connect to; other paths are refused with 404 (attached: left to the other
   * upgrade handlers). `undefined`: every path.
   * @default undefined
   */
  path?: string;
  /**
   * Turns an outgoing message into text or binary (once per broadcast).
   * @default JSON.stringify
   */
  serialize?: (message: Out) => WireData;
  /**
   * Turns an incoming frame into a message; if it throws, a `DecodeError` goes to the peer's `errors$`.
   * @default text → JSON.parse, binary → the Uint8Array itself
   */
  deserialize?: (data: string | Uint8Array) => In;
  /**
   * Each peer's outgoing queue: what waits while its client cannot take more. `size` messages,
   * `bytes` in all, each at most `timeout` ms; a message over a bound is handled by `slowConsumer`.
   * @default { size: 1000, bytes: 1048576, timeout: 10000 }
   */
  buffer?: { size?: number; bytes?: number; timeout?: number };
  /**
   * What a full queue does (see {@link SlowConsumerPolicy}).
   * @default 'drop-oldest'
   */
  slowConsumer?: SlowConsumerPolicy;
  /**
   * Bytes a peer's socket may hold unsent before its writer waits for `'drain'`.
   * @default 65536
   */
  highWaterMark?: number;
  /**
   * Ping frames to every peer on one shared timer: a peer whose pong is not back within
   * `timeout` ms is terminated (its close says `initiator: 'heartbeat'`). A round starts every
   * `interval` ms, or right after the previous verdict when `timeout` is longer. `false`: none.
   * @default { interval: 25000, timeout: 10000 }
   */
  heartbeat?: false | { interval?: number; timeout?: number };
  /**
   * Admission, before the upgrade: `true` admits; `false` refuses with 401; `{ status, reason }`
   * with that status. A throw or rejection refuses with 500 and is reported to `logger`.
   * @default undefined (everyone is admitted)
   */
  verify?: (request: PeerRequest) => VerifyResult | Promise<VerifyResult>;
  /**
   * Origins allowed to connect (`https://app.example.com`); a request with another `Origin` header
   * is refused with 403 before the upgrade (cross-site WebSocket hijacking). Requests without an
   * `Origin` (non-browser clients) are allowed. `undefined`: any origin.
   * @default undefined
   */
  allowedOrigins?: readonly string[];
  /**
   * The largest incoming message in bytes; a bigger one closes the peer with 1009.
   * @default 1048576 (1 MiB; `ws` alone allows 100 MiB)
   */
  maxPayload?: number;
  /**
   * Peers at once; an upgrade beyond it is refused with 503.
   * @default Infinity
   */
  maxConnections?: number;
  /**
   * Incoming messages per second a peer may send, with a burst: over it the peer is closed with
   * 1008 "rate limit" (reported on its `errors$`). `false`: no limit.
   * @default false
   */
  inboundRate?: false | { perSecond: number; burst?: number };
  /**
   * Incoming messages held for a peer until the application subscribes to its `messages$` (none is
   * lost between accept and the first subscription); beyond it the peer is closed with 1008.
   * @default 1000
   */
  holdLimit?: number;
  /**
   * Milliseconds a close handshake may take before the socket is terminated: one the server
   * starts, and one a client starts (the server answers its close frame; a client that then never
   * closes its side is cut off).
   * @default 1000
   */
  closeTimeout?: number;
  /**
   * Resumable sessions for clients that ask (`connect(url, { session: true })`, the subprotocol
   * `rxwire.session.1`); other clients are served as before. A {@link Peer} is then the session:
   * a client that reconnects within `resumeWindow` gets the same peer, whose `messages$` goes on
   * without a gap or a duplicate. See docs/sessions.md.
   * @default false
   */
  session?: boolean | ServerSessionOptions;
  /**
   * Where failures nobody observes are reported (as the client's `logger`).
   * @default a logger that prints `'warn'` to `console.warn`
   */
  logger?: false | Logger;
  /**
   * Relays `publish()` and `broadcast()` to the other nodes of a cluster, and theirs to this node's
   * peers: `redisBroker({ url })` from `rxwire/redis`, or a {@link memoryBroker} on a shared bus.
   * The server owns it: `close()` closes it. This node's peers get a message at once, before it is
   * relayed; a failed relay goes to `server.relayErrors$`. See docs/scaling.md.
   * @default undefined (this process only, with no cost on the local fan-out path)
   */
  broker?: Broker;
  /**
   * The scheduler for every timer, for virtual-time tests.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/**
 * How a peer's connection ended, and who ended it: the client, the server (its `close()`, a rate
 * or hold limit, a slow consumer), or the heartbeat.
 *
 * @example
 * ```ts
 * peer.closed.then(({ code, initiator }) => console.log(`peer left: ${code} (${initiator})`));
 * ```
 */
export interface PeerClose extends CloseInfo {
  readonly initiator: 'client' | 'server' | 'heartbeat';
}

/**
 * What `server.close()` reports.
 *
 * @example
 * ```ts
 * const { peers, closedCleanly, terminated, dropped } = await server.close();
 * ```
 */
export interface ShutdownReport {
  /** Peers connected when the shutdown began. */
  readonly peers: number;
  /** Of those, how many completed the close handshake within `timeout`. */
  readonly closedCleanly: number;
  /** How many were terminated at `timeout`. */
  readonly terminated: number;
  /** Queued messages dropped with `'closed'` because they could not be written in time. */
  readonly dropped: number;
}

/**
 * Every default of {@link ServerOptions}, in one table.
 *
 * @example
 * ```ts
 * const server = listen({ port: 0, buffer: { ...SERVER_DEFAULTS.buffer, bytes: 4 * 1024 * 1024 } });
 * ```
 */
export const SERVER_DEFAULTS = {
  port: 0,
  host: '127.0.0.1',
  buffer: { size: 1000, bytes: 1048576, timeout: 10000 },
  slowConsumer: 'drop-oldest',
  highWaterMark: 65536,
  heartbeat: { interval: 25000, timeout: 10000 },
  maxPayload: 1048576,
  maxConnections: Infinity,
  holdLimit: 1000,
  closeTimeout: 1000,
  session: { ...SESSION_DEFAULTS, resumeWindow: 120_000 },
} as const;

const KEYS = [
  'port', 'host', 'server', 'path', 'serialize', 'deserialize', 'buffer', 'slowConsumer', 'highWaterMark', 'heartbeat',
  'verify', 'allowedOrigins', 'maxPayload', 'maxConnections', 'inboundRate', 'holdLimit', 'closeTimeout', 'logger', 'scheduler', 'session', 'broker',
];

/** Validates `listen()`'s options, throwing on the first that is wrong. */
export function validateServerOptions(options: unknown): void {
  if (!checkObject('options', options, false) || options === undefined) return;
  const o = options as Record<string, unknown>;
  checkKeys('', o, KEYS);
  checkNumber('port', o.port, { min: 0, integer: true, max: 65535 });
  if (o.host !== undefined && typeof o.host !== 'string') invalid('host', 'a string', o.host);
  if (o.server !== undefined && (typeof o.server !== 'object' || o.server === null || typeof (o.server as { on?: unknown }).on !== 'function')) {
    invalid('server', 'an http or https server', o.server);
  }
  if (o.server !== undefined && o.port !== undefined) throw new TypeError('Give `port` or `server`, not both');
  if (o.path !== undefined && (typeof o.path !== 'string' || !o.path.startsWith('/'))) invalid('path', "a string starting with '/'", o.path);
  for (const name of ['serialize', 'deserialize', 'verify'] as const) checkFunction(name, o[name]);
  if (o.logger !== undefined && o.logger !== false) checkFunction('logger', o.logger);
  if (checkObject('buffer', o.buffer, false) && o.buffer) {
    const b = o.buffer as Record<string, unknown>;
    checkKeys('buffer.', b, ['size', 'bytes', 'timeout']);
    checkNumber('buffer.size', b.size, { min: 0, integer: true, infinity: true });
    checkNumber('buffer.bytes', b.bytes, { min: 0, infinity: true });
    checkDelay('buffer.timeout', b.timeout, { infinity: true });
  }
  if (o.slowConsumer !== undefined && !['drop-newest', 'drop-oldest', 'close'].includes(o.slowConsumer as string)) {
    invalid('slowConsumer', "'drop-newest', 'drop-oldest' or 'close'", o.slowConsumer);
  }
  checkNumber('highWaterMark', o.highWaterMark, { min: 0 });
  if (checkObject('heartbeat', o.heartbeat, true) && o.heartbeat) {
    const h = o.heartbeat as Record<string, unknown>;
    checkKeys('heartbeat.', h, ['interval', 'timeout']);
    checkDelay('heartbeat.interval', h.interval, { positive: true });
    checkDelay('heartbeat.timeout', h.timeout, { positive: true });
  }
  if (o.allowedOrigins !== undefined && !(Array.isArray(o.allowedOrigins) && o.allowedOrigins.every((x) => typeof x === 'string'))) {
    invalid('allowedOrigins', 'an array of strings', o.allowedOrigins);
  }
  checkNumber('maxPayload', o.maxPayload, { min: 1, integer: true });
  validateSession(o.session, ['resumeWindow', 'store']);
  if (typeof o.session === 'object' && o.session) {
    const { resumeWindow, store } = o.session as Record<string, unknown>;
    checkDelay('session.resumeWindow', resumeWindow);
    if (store !== undefined && store !== 'memory' && store !== 'broker') invalid('session.store', "'memory' or 'broker'", store);
    if (store === 'broker' && !(o.broker as { sessions?: unknown } | undefined)?.sessions) {
      throw new TypeError("`session.store: 'broker'` needs a broker that keeps sessions (`broker: redisBroker(…)`); the memory broker does not");
    }
  }
  checkNumber('maxConnections', o.maxConnections, { min: 0, integer: true, infinity: true });
  if (checkObject('inboundRate', o.inboundRate, true) && o.inboundRate) {
    const r = o.inboundRate as Record<string, unknown>;
    checkKeys('inboundRate.', r, ['perSecond', 'burst']);
    if (r.perSecond === undefined) invalid('inboundRate.perSecond', 'a number > 0', r.perSecond);
    checkNumber('inboundRate.perSecond', r.perSecond, { min: 0, exclusive: true });
    checkNumber('inboundRate.burst', r.burst, { min: 1, integer: true });
  }
  checkNumber('holdLimit', o.holdLimit, { min: 0, integer: true, infinity: true });
  checkDelay('closeTimeout', o.closeTimeout);
  checkScheduler('scheduler', o.scheduler);
  if (o.broker !== undefined && !isBroker(o.broker)) invalid('broker', 'a Broker (publish, subscribe, close, health$, gaps$)', o.broker);
}

function isBroker(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const b = value as Record<string, unknown>;
  return ['publish', 'subscribe', 'close'].every((name) => typeof b[name] === 'function') && typeof b.health$ === 'object' && typeof b.gaps$ === 'object';
}
