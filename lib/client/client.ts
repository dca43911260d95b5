import { asyncScheduler, defer, Observable, ReplaySubject, Subject, Subscription, tap, type Observer } from 'rxjs';
import { isSendableCloseCode, sendableCloseCodes, type CloseCodeRule } from '../core/close-codes.js';
import { isRetriableClose } from './close-policy.js';
import { createChannel, type ChannelHost, type ChannelOptions } from '../core/channel.js';
import { openConnection, type AttemptConfig, type Listen, type OpenConnection } from './dial.js';
import {
  closeInfo,
  closedByClient,
  ConfigurationError,
  ConnectionClosedError,
  ConnectTimeoutError,
  DecodeError,
  describe,
  type CloseInfo,
  type DropReason,
} from '../core/errors.js';
import { runHandshake, type HandshakeRun } from '../core/handshake.js';
import { checkDelay, checkKeys, checkOptionsObject, show } from '../core/validate.js';
import { validateIterateOptions } from '../core/iterate.js';
import { validateOptions, validateSendOptions } from './validate-options.js';
import { type ConnectOptions } from './options.js';
import { type UrlSource } from './url.js';
import { type WireData } from '../core/codec.js';
import { iterate, type IterateOptions, type MessageIterator } from '../core/iterate.js';
import type { PageSignal, WatchPage } from '../transports/page-events.js';
import { droppedError, outgoingEntry, Writer } from '../core/writer.js';
import { createReporter, type Reporter } from '../core/report.js';
import { retryWithBackoff, type RetryInfo } from '../core/retry-with-backoff.js';
import { request, type RequestHost, type RequestOptions } from '../core/request.js';
import { normalizeUrl } from './url.js';
import type { WebSocketConstructor } from '../core/transport.js';

/**
 * Where the connection is: `'idle'` (nothing open, nothing wanted), `'connecting'` (the first
 * attempt after idle), `'reconnecting'` (from a retried failure through the backoff wait and the
 * later attempts), `'open'`, `'closing'` (`close()` was called: nothing more is sent, the socket
 * is closing), `'closed'` (terminal).
 *
 * @example
 * ```ts
 * const label: Record<ConnectionStatus, string> = {
 *   idle: 'Idle', connecting: 'Connecting…', reconnecting: 'Reconnecting…', open: 'Live', closing: 'Closing…', closed: 'Offline',
 * };
 * socket.state$.subscribe(({ status }) => console.log(label[status]));
 * ```
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'reconnecting' | 'open' | 'closing' | 'closed';

/**
 * A snapshot of the connection, as `state$` emits it.
 *
 * @example
 * ```ts
 * socket.state$.subscribe(({ status, attempt }) => console.log(status, attempt));
 * ```
 */
export interface ConnectionState {
  readonly status: ConnectionStatus;
  /** The attempt in progress or waited for (1 = first); 0 when idle, and after `resetAfter` ms open. */
  readonly attempt: number;
  /** How the previous connection or attempt ended; at `'closed'` after `close()`, that close. */
  readonly lastClose?: CloseInfo;
}

/**
 * A message dropped before it was written, as `dropped$` reports it.
 *
 * @example
 * ```ts
 * socket.dropped$.subscribe(({ message, reason }: DroppedMessage<Message>) => console.warn(`dropped (${reason})`, message));
 * ```
 */
export interface DroppedMessage<Out> {
  /** The message as given to `send()` or `outgoing.next()` (the same name as `MessageDroppedError.payload`). */
  readonly payload: Out;
  /** @deprecated The same as `payload`; kept for 0.1 code. */
  readonly message: Out;
  readonly reason: DropReason;
  /** With reason `'error'`: what the socket's `send` threw. */
  readonly cause?: unknown;
}

/**
 * Options of one `send()`.
 *
 * @example
 * ```ts
 * const urgent: SendOptions = { timeout: 500 };
 * await socket.send({ type: 'cancel', orderId: 7 }, urgent); // dropped with 'timeout' if not written within 500 ms
 * ```
 */
export interface SendOptions {
  /**
   * Milliseconds this message may wait before it is dropped with `'timeout'` (>= 0 and
   * <= 2147483647, or `Infinity`: no limit), counted from this call and across reconnects.
   * @default buffer.timeout (10000)
   */
  timeout?: number;
}

/**
 * A WebSocket connection as streams. Lazy and ref-counted: it opens when `messages$` gets a
 * subscriber (or a message is sent) and closes when neither holds it; it reconnects by itself.
 *
 * @example
 * ```ts
 * const socket = connect<{ price: number }, { subscribe: string }>('wss://example.com/feed');
 * socket.messages$.subscribe((msg) => console.log(msg.price));
 * await socket.send({ subscribe: 'BTC' });
 * for await (const msg of socket) if (msg.price > 100) break;
 * await socket.close();
 * ```
 */
export interface RxSocket<In, Out> extends AsyncIterable<In> {
  /**
   * Incoming messages, shared by all subscribers; a subscriber holds the connection open.
   * Completes only because `close()` was called; errors with `ConnectionClosedError` on a close
   * that is not retried, or `RetriesExhaustedError`.
   */
  readonly messages$: Observable<In>;
  /** The current {@link ConnectionState}, replayed to each subscriber; completes after `'closed'`. */
  readonly state$: Observable<ConnectionState>;
  /**
   * One entry per connection or attempt that ended and will be retried, and one `DecodeError` per
   * message that failed to decode. Completes when the socket is closed.
   */
  readonly errors$: Observable<Error>;
  /** Every message dropped before it was written, with the reason. Completes when closed. */
  readonly dropped$: Observable<DroppedMessage<Out>>;
  /**
   * An Observer feeding the same path as `send()`: `source$.subscribe(socket.outgoing)`. Its
   * `complete()` and `error()` never close the socket; an error goes to `errors$`.
   */
  readonly outgoing: Observer<Out>;
  /** The current state. */
  readonly state: ConnectionState;
  /** Messages waiting in the buffer, not yet written. */
  readonly buffered: number;
  /**
   * Sends a message: written at once when the socket is open and not backed up, else buffered
   * (bounded, expiring). Resolves when the message was handed to the open socket (not a delivery
   * receipt); rejects with `MessageDroppedError` if it is dropped first, or with the error of
   * `serialize`. Never throws.
   */
  send(message: Out, options?: SendOptions): Promise<void>;
  /**
   * Closes for good with `code` and `reason` (at most 123 UTF-8 bytes); a code the socket cannot
   * send is a RangeError. A standard `WebSocket` sends 1000 and 3000–4999; `ws` (Node) also
   * 1001 (going away), 1002, 1003 and 1007–1014. Waiting messages are dropped with `'closed'`. Every call returns the same
   * promise; it resolves once the socket is closed (or terminated after `closeTimeout`) and every
   * stream has completed.
   */
  close(code?: number, reason?: string): Promise<void>;
  /**
   * A ref-counted server-side subscription: `subscribe()` is written when the first subscriber
   * arrives and again after every reconnect (before the buffer flushes), `unsubscribe()` when the
   * last leaves (only while open); emits the messages `filter` accepts. Holds the connection.
   */
  channel(options: ChannelOptions<In, Out>): Channel<In>;
  /**
   * Sends `message` (through the buffer, like `send()`) and resolves with the first incoming
   * message `match` accepts; rejects with `RequestTimeoutError`, with `ConnectionClosedError` if
   * the connection it was written on closes first (never resent), or with the close error when
   * the socket closes for good. Holds the connection while pending.
   */
  request(message: Out, options: RequestOptions<In>): Promise<In>;
  /**
   * A bounded async iterator over incoming messages (what `for await (const m of socket)` uses,
   * with the `iteration` option's bounds): it holds the connection while iterated; `break` lets
   * go at once, also while it waits for a message.
   */
  iterate(options?: IterateOptions<In>): MessageIterator<In>;
  /**
   * Resolves once the socket is open (at once if it is), holding the connection meanwhile.
   * Rejects with the error that ends the socket for good (`RetriesExhaustedError`,
   * `ConnectionClosedError`), or with `ConnectTimeoutError` when it is not open within `timeout`
   * ms (default `Infinity`): a script's way to fail fast and loud when the server is down.
   */
  opened(options?: { timeout?: number }): Promise<void>;
  /**
   * Drops the current connection (closing it with 1000) and dials again at once, skipping any
   * backoff wait; `state$` goes to `'connecting'`, attempt 1. Does nothing while idle or closed.
   */
  reconnect(): void;
  /** Counters and gauges of this socket, read on demand. */
  readonly metrics: SocketMetrics;
}

/**
 * A channel's messages: an Observable, and iterable with `for await` (bounded as the socket's
 * `iteration` option says; `break` leaves the channel).
 *
 * @example
 * ```ts
 * const btc: Channel<Message> = socket.channel({ subscribe: () => ({ op: 'sub', pair: 'BTC' }), filter: (m) => m.pair === 'BTC' });
 * for await (const tick of btc) console.log(tick);
 * ```
 */
export interface Channel<In> extends Observable<In>, AsyncIterable<In> {}

/**
 * What `socket.metrics` reports.
 *
 * @example
 * ```ts
 * const { reconnects, rtt, buffered, bufferedBytes } = socket.metrics;
 * console.log(`reconnected ${reconnects}×, rtt ${rtt ?? '?'} ms, ${buffered} waiting (${bufferedBytes} B)`);
 * ```
 */
export interface SocketMetrics {
  /** Times the connection opened again after a retried loss. */
  readonly reconnects: number;
  /** The round trip of the last answered heartbeat ping, in milliseconds; undefined before one. */
  readonly rtt: number | undefined;
  /** Messages waiting in the buffer. */
  readonly buffered: number;
  /** Their size: UTF-8 bytes of text messages plus bytes of binary ones. */
  readonly bufferedBytes: number;
}

const noop = (): void => {};

const defaultDeserialize = (data: string | Uint8Array): unknown => (typeof data === 'string' ? JSON.parse(data) : data);

function isWireData(data: unknown): data is WireData {
  return typeof data === 'string' || ArrayBuffer.isView(data) || data instanceof ArrayBuffer;
}

/**
 * A promise rejected with `error` that cannot crash the process if nobody awaits it. The handler
 * is attached before the rejection: a promise born rejected (`Promise.reject`) goes through
 * Node's unhandled-rejection bookkeeping, which holds it until the macrotask ends (a synchronous
 * flood of dropped sends would keep every error until then) and costs more than the rest.
 */
function quietRejection(error: Error): Promise<void> {
  let reject!: (reason: Error) => void;
  const promise = new Promise<void>((_resolve, rejectPromise) => (reject = rejectPromise));
  promise.catch(noop);
  reject(error);
  return promise;
}

class Client<In, Out> implements RxSocket<In, Out> {
  readonly messages$: Observable<In>;
  readonly state$: Observable<ConnectionState>;
  readonly errors$: Observable<Error>;
  readonly dropped$: Observable<DroppedMessage<Out>>;
  readonly outgoing: Observer<Out>;

  readonly #incoming = new Subject<In>();
  readonly #states = new ReplaySubject<ConnectionState>(1);
  readonly #errors = new Subject<Error>();
  readonly #drops = new Subject<DroppedMessage<Out>>();
  readonly #writer: Writer<Out>;
  readonly #attempt: Omit<AttemptConfig, 'attempt'>;
  readonly #serialize: (message: Out) => WireData;
  readonly #deserialize: (data: string | Uint8Array) => In;
  readonly #bufferTimeout: number;
  #currentState: ConnectionState = { status: 'idle', attempt: 0 };
  #holders = 0;
  #session: Subscription | undefined;
  #idleTimer: Subscription | undefined;
  #conn: OpenConnection | undefined;
  readonly #closings = new Set<Promise<unknown>>();
  readonly #channels = new Set<() => Out>();
  readonly #connectionLost = new Subject<{ serial: number; error: ConnectionClosedError }>();
  #serial = 0; // of the current connection
  #handshake: HandshakeRun<In> | undefined;
  /** The close frame for a socket still in its handshake when close() is called. */
  #closeFrame: readonly [code: number, reason: string] = [1000, ''];
  /** With an application-level heartbeat: its pong matcher, and the connection it beats for. */
  readonly #appPong: { isPong: ((message: In) => boolean) | undefined } | undefined;
  #pongTarget: OpenConnection | undefined;
  #ended = false; // close() was called, or a close was not retried
  #uses = 0; // sends written at once while lingering: the linger restarts
  #reconnects = 0;
  #rtt: number | undefined;
  readonly #report: Reporter;
  readonly #iteration: IterateOptions<In>;
  #closed: Promise<void> | undefined;
  readonly #options: ConnectOptions<In, Out>;
  readonly #isFatalCause: (cause: unknown) => boolean;
  /** `ws` sends every code RFC 6455 allows; a standard WebSocket only 1000 and 3000–4999. */
  readonly #closeCodes: CloseCodeRule;

  readonly #watchPage: WatchPage | undefined;

  constructor(url: UrlSource, options: ConnectOptions<In, Out>, platform: Platform) {
    const { listen, isFatalCause = () => false } = platform;
    this.#options = options;
    this.#isFatalCause = isFatalCause;
    this.#watchPage = options.pageEvents === false ? undefined : platform.watchPage;
    const prototype = (options.WebSocket as { prototype?: { terminate?: unknown } }).prototype;
    this.#closeCodes = typeof prototype?.terminate === 'function' ? 'rfc6455' : 'standard';
    const {
      WebSocket,
      protocols,
      wsOptions,
      serialize = JSON.stringify as (message: Out) => WireData,
      deserialize = defaultDeserialize as (data: string | Uint8Array) => In,
      connectTimeout = 10000,
      heartbeat = {},
      closeTimeout = 1000,
      buffer: { size = 1000, timeout = 10000, overflow = 'drop-newest' } = {},
      highWaterMark = 1024 * 1024,
      scheduler = asyncScheduler,
    } = options;
    this.#serialize = serialize;
    this.#report = createReporter(options.logger);
    this.#iteration = options.iteration ?? {};
    this.#deserialize = deserialize;
    this.#appPong = heartbeat && heartbeat.message ? { isPong: heartbeat.isPong } : undefined;
    this.#bufferTimeout = timeout;
    this.#attempt = {
      url,
      WebSocket: WebSocket as WebSocketConstructor, // createClient always sets it
      listen,
      protocols,
      wsOptions,
      connectTimeout,
      heartbeat: heartbeat && {
        interval: heartbeat.interval ?? 25000,
        timeout: heartbeat.timeout ?? 10000,
        ping: heartbeat.message && ((conn) => this.#writeMessageNow(conn, heartbeat.message as () => Out)),
        onRtt: (ms: number) => void (this.#rtt = ms),
      },
      closeTimeout,
      scheduler,
      handshake: options.handshake && ((conn) => this.#runHandshake(conn)),
      closeFrame: () => this.#closeFrame,
      onMessage: (data) => this.#receive(data),
      onClosing: (closing) => this.#track(closing),
    };
    this.#writer = new Writer<Out>({
      size,
      overflow,
      highWaterMark,
      scheduler,
      onDrop: (entry, reason, cause) => this.#dropped(entry.message, reason, cause, entry.promised),
      onOccupied: (occupied) => (occupied ? this.#hold() : this.#release()),
    });
    this.#states.next(this.#currentState);
    this.state$ = this.#states.asObservable();
    this.errors$ = this.#errors.asObservable();
    this.dropped$ = this.#drops.asObservable();
    this.messages$ = new Observable<In>((subscriber) => {
      const subscription = this.#incoming.subscribe(subscriber);
      if (this.#ended) return subscription;
      this.#hold();
      return () => {
        subscription.unsubscribe();
        this.#release();
      };
    });
    this.outgoing = {
      next: (message) => this.#feed(message),
      error: (error: unknown) => this.#error(asError(error), 'outgoing', 'outgoing.error() was called'),
      complete: noop,
    };
  }

  get state(): ConnectionState {
    return this.#currentState;
  }

  get buffered(): number {
    return this.#writer.waitingCount;
  }

  get metrics(): SocketMetrics {
    return { reconnects: this.#reconnects, rtt: this.#rtt, buffered: this.#writer.waitingCount, bufferedBytes: this.#writer.waitingBytes };
  }

  [Symbol.asyncIterator](): AsyncIterator<In> {
    return this.iterate();
  }

  iterate(options?: IterateOptions<In>): MessageIterator<In> {
    validateIterateOptions(options);
    return this.#iterate(this.messages$, options);
  }

  #iterate(source: Observable<In>, options?: IterateOptions<In>): MessageIterator<In> {
    const merged = { ...this.#iteration, ...options };
    const { onDrop } = merged;
    return iterate(source, {
      ...merged,
      onDrop: (message) => {
        if (onDrop) return onDrop(message);
        this.#report.warn('iteration', 'a for-await loop fell behind: messages dropped (see the `iteration` option)', { message });
      },
    });
  }

  opened(options: { timeout?: number } = {}): Promise<void> {
    try {
      checkOptionsObject('options', options);
      checkKeys('', options, ['timeout']);
      checkDelay('timeout', options.timeout, { infinity: true });
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#currentState.status === 'open') return Promise.resolve();
    const { timeout = Infinity } = options;
    return new Promise<void>((resolve, reject) => {
      const waiting = new Subscription();
      const settle = (settler: () => void): void => {
        waiting.unsubscribe();
        settler();
      };
      waiting.add(
        this.messages$.subscribe({
          error: (error: unknown) => settle(() => reject(error)),
          complete: () => settle(() => reject(closedByClient())),
        }),
      );
      if (waiting.closed) return;
      waiting.add(this.#states.subscribe((state) => state.status === 'open' && settle(resolve)));
      if (timeout !== Infinity && !waiting.closed) {
        waiting.add(this.#attempt.scheduler.schedule(() => settle(() => reject(new ConnectTimeoutError(timeout))), timeout));
      }
    });
  }

  reconnect(): void {
    if (this.#ended || !this.#session) return;
    this.#stopSession();
    this.#startSession();
  }

  send(message: Out, options?: SendOptions): Promise<void> {
    let timeout = this.#bufferTimeout;
    // After close(), every send() rejects with 'closed', whatever its arguments.
    if (options !== undefined && !this.#ended) {
      try {
        validateSendOptions(options);
      } catch (error) {
        return Promise.reject(error);
      }
      timeout = options.timeout ?? timeout;
    }
    return this.#submit(message, timeout, undefined);
  }

  close(code = 1000, reason = ''): Promise<void> {
    if (!isSendableCloseCode(code, this.#closeCodes)) {
      throw new RangeError(`Expected \`code\` to be ${sendableCloseCodes(this.#closeCodes)}, got \`${String(code)}\` (${typeof code})`);
    }
    if (typeof reason !== 'string' || new TextEncoder().encode(reason).length > 123) {
      throw new RangeError(`Expected \`reason\` to be a string of at most 123 UTF-8 bytes, got ${typeof reason === 'string' ? `${new TextEncoder().encode(reason).length} bytes` : typeof reason}`);
    }
    if (this.#closed) return this.#closed;
    this.#ended = true;
    this.#closeFrame = [code, reason];
    // The promise exists before any observer runs: a close() from a dropped$ observer gets it too.
    let done!: () => void;
    this.#closed = new Promise<void>((resolve) => (done = resolve));
    this.#idleTimer?.unsubscribe();
    let lastClose: CloseInfo = { code, reason, wasClean: true };
    const conn = this.#conn;
    if (conn) this.#track(conn.close(code, reason).then((info) => void (lastClose = info ?? lastClose)));
    const { attempt, lastClose: previous } = this.#currentState;
    this.#setState({ status: 'closing', attempt, ...(previous && { lastClose: previous }) });
    this.#writer.close('closed');
    this.#stopSession();
    void this.#settleClosed().then(() => {
      this.#setState({ status: 'closed', attempt: this.#currentState.attempt, lastClose });
      this.#incoming.complete();
      this.#completeStreams();
      done();
    });
    return this.#closed;
  }

  /**
   * The path of `send()` and `request()`: serializes and queues; the promise settles when the
   * message is written (`onWritten` is called synchronously then) or dropped.
   */
  #submit(message: Out, timeout: number, onWritten: (() => void) | undefined): Promise<void> {
    if (this.#ended) {
      this.#dropped(message, 'closed', undefined, true);
      return quietRejection(droppedError('closed', message));
    }
    let data: WireData;
    try {
      data = this.#serializeChecked(message);
    } catch (error) {
      return Promise.reject(error);
    }
    let written: boolean;
    try {
      written = this.#writer.tryWrite(data);
    } catch (error) {
      this.#dropped(message, 'error', error, true);
      return quietRejection(droppedError('error', message, error));
    }
    if (written) {
      this.#uses++;
      onWritten?.();
      return Promise.resolve();
    }
    const entry = outgoingEntry(message, data, timeout, true, onWritten);
    this.#writer.enqueue(entry);
    // Settled already (dropped for overflow, or flushed with the buffer): no settlers needed.
    const { outcome } = entry;
    if (outcome === 'written') return Promise.resolve();
    if (outcome !== undefined) return quietRejection(droppedError(outcome, message, entry.cause));
    return (entry.promise = new Promise<void>((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    }));
  }

  /** The path of `outgoing.next()`: no promise; a serialization error goes to errors$. */
  #feed(message: Out): void {
    let data: WireData;
    try {
      data = this.#serializeChecked(message);
    } catch (error) {
      this.#error(asError(error), 'serialize', 'outgoing.next(): the message could not be serialized');
      return;
    }
    try {
      if (this.#writer.tryWrite(data)) return void this.#uses++;
    } catch (error) {
      return this.#dropped(message, 'error', error, false);
    }
    this.#writer.enqueue(outgoingEntry(message, data, this.#bufferTimeout, false));
  }

  /** `serialize`, checked: throws its error, or a TypeError if it returned neither text nor binary. */
  #serializeChecked(message: Out): WireData {
    const data: unknown = this.#serialize(message);
    if (!isWireData(data)) {
      if (data === undefined && this.#options.serialize === undefined) {
        // JSON.stringify's undefined: a message it skips (undefined, a function, a symbol).
        throw new TypeError(`Expected the message to be JSON-serializable: JSON.stringify returned undefined (got ${show(message)})`);
      }
      throw new TypeError(`Expected \`serialize\` to return a string or binary data, got ${data === null ? 'null' : typeof data}`);
    }
    return data;
  }

  #receive(data: string | Uint8Array): void {
    let message: In;
    try {
      message = this.#deserialize(data);
    } catch (error) {
      this.#error(new DecodeError(data, error), 'decode', 'an incoming message could not be decoded (see `deserialize`)');
      return;
    }
    const appPong = this.#appPong;
    if (appPong) {
      let isPong: boolean | undefined;
      try {
        isPong = appPong.isPong?.(message);
      } catch (error) {
        // Runs inside the socket's event handler: a throw there would wedge the connection.
        this.#error(asError(error), 'isPong', '`heartbeat.isPong` threw');
        isPong = false;
      }
      if (isPong !== false) this.#pongTarget?.pong();
      if (isPong) return;
    }
    if (this.#handshake) this.#handshake.deliver(message);
    else this.#incoming.next(message);
  }

  channel(options: ChannelOptions<In, Out>): Channel<In> {
    const channel$ = createChannel(this.#channelHost, options);
    return Object.assign(channel$, { [Symbol.asyncIterator]: () => this.#iterate(channel$) });
  }

  request(message: Out, options: RequestOptions<In>): Promise<In> {
    return request(this.#requestHost, message, options);
  }

  get #channelHost(): ChannelHost<In, Out> {
    return {
      messages$: this.messages$,
      addChannel: (subscribe) => {
        // A wrapper per channel: two channels may share one `subscribe` function, and each must
        // stay registered until it leaves itself.
        const entry = (): Out => subscribe();
        this.#channels.add(entry);
        return () => this.#channels.delete(entry);
      },
      writeNow: (make) => {
        if (this.#conn) this.#writeMessageNow(this.#conn, make);
      },
    };
  }

  get #requestHost(): RequestHost<In, Out> {
    return {
      messages$: this.messages$,
      connectionLost$: this.#connectionLost,
      write: (message, timeout, written) => this.#submit(message, timeout, () => written(this.#serial)),
      scheduler: this.#attempt.scheduler,
    };
  }

  /**
   * Makes, serializes and writes a message on `conn` at once (heartbeat, channel subscriptions).
   * If `make` or `serialize` throws, the error goes to errors$ and the connection goes on.
   */
  #writeMessageNow(conn: OpenConnection, make: () => Out): void {
    try {
      this.#writer.writeNow(conn, this.#serializeChecked(make()));
    } catch (error) {
      this.#error(asError(error), 'write', 'a heartbeat or channel message could not be written');
    }
  }

  #runHandshake(conn: OpenConnection): Promise<unknown> {
    this.#pongTarget = conn;
    const handshake = this.#options.handshake as NonNullable<ConnectOptions<In, Out>['handshake']>;
    const send = (message: Out): void => this.#writer.writeNow(conn, this.#serializeChecked(message));
    const run = runHandshake<In, Out>(handshake, send, this.#attempt.scheduler);
    this.#handshake = run;
    return run.result;
  }

  #hold(): void {
    if (this.#ended) return;
    this.#holders++;
    this.#idleTimer?.unsubscribe();
    this.#idleTimer = undefined;
    if (!this.#session) this.#startSession();
  }

  #release(): void {
    if (this.#ended || --this.#holders > 0 || !this.#session) return;
    const { lazyCloseTimeout = 5000 } = this.#options;
    if (lazyCloseTimeout === Infinity) return;
    const linger = (uses: number): void => {
      this.#idleTimer = this.#attempt.scheduler.schedule(() => {
        this.#idleTimer = undefined;
        if (this.#holders > 0) return;
        // Sends written at once meanwhile: still in use, linger again (no clock read per send).
        if (this.#uses !== uses) return linger(this.#uses);
        this.#stopSession();
        this.#setState({ status: 'idle', attempt: 0, ...(this.#currentState.lastClose && { lastClose: this.#currentState.lastClose }) });
      }, lazyCloseTimeout);
    };
    linger(this.#uses);
  }

  #startSession(): void {
    // Taken before 'connecting' is announced: a state$ observer that sends or subscribes then
    // holds this session instead of starting a second one.
    const session = new Subscription();
    this.#session = session;
    this.#setState({ status: 'connecting', attempt: 1 });
    if (this.#ended || session.closed) return; // a state$ observer closed the socket or let go
    const attempt$ = defer(() => openConnection({ ...this.#attempt, attempt: this.#currentState.attempt })).pipe(
      // The loss is handled before the retry decides; the open at the very end of the chain, so
      // an observer that closes the socket in there leaves no operator to notify afterwards.
      tap({ error: (error: unknown) => this.#lost(error) }),
    );
    const { reconnect = {} } = this.#options;
    const session$ = reconnect
      ? attempt$.pipe(
          retryWithBackoff({
            ...reconnect,
            scheduler: this.#attempt.scheduler,
            shouldRetry: (error) => this.#shouldRetry(error),
            onRetry: (info) => this.#retrying(info),
            onReset: () => this.#setState({ ...this.#currentState, attempt: 0 }),
          }),
        )
      : attempt$;
    session.add(session$.subscribe({ next: (conn) => this.#opened(conn), error: (error: unknown) => this.#fail(error) }));
    if (this.#watchPage && !session.closed) session.add(this.#watchPage((signal) => this.#pageSignal(signal)));
  }

  /** The page came back (or went offline): dial now instead of after the backoff, or probe. */
  #pageSignal(signal: PageSignal): void {
    const { status } = this.#currentState;
    if (status === 'reconnecting' && signal !== 'offline') this.reconnect();
    else if (status === 'open') this.#conn?.probe();
  }

  #stopSession(): void {
    const session = this.#session;
    this.#session = undefined;
    session?.unsubscribe();
    this.#lost();
  }

  #opened(conn: OpenConnection): void {
    this.#conn = conn;
    this.#pongTarget = conn;
    this.#serial++;
    const afterHandshake = this.#handshake?.finish();
    this.#handshake = undefined;
    // Channels subscribe on every connection, before the buffer flushes; and before 'open' is
    // announced, so that a channel subscribed by a state$ observer is written once, by itself.
    for (const subscribe of this.#channels) this.#writeMessageNow(conn, subscribe);
    const { lastClose } = this.#currentState;
    this.#setState({ status: 'open', attempt: this.#currentState.attempt, ...(lastClose && { lastClose }) });
    if (this.#ended) return; // a state$ observer closed the socket: the writer is closed too
    // Messages the server sent right after the handshake's answer, in the same read: in order,
    // before anything newer.
    if (afterHandshake) for (const message of afterHandshake) this.#incoming.next(message);
    if (this.#conn !== conn) return; // an observer ended this connection
    this.#writer.attach(conn);
  }

  /** The connection ended (`error`), or was closed by the client (no error). */
  #lost(error?: unknown): void {
    this.#handshake?.finish();
    this.#handshake = undefined;
    const conn = this.#conn;
    this.#conn = undefined;
    this.#pongTarget = undefined;
    this.#writer.detach();
    if (conn) {
      const closed =
        error instanceof ConnectionClosedError
          ? error
          : closedByClient();
      this.#connectionLost.next({ serial: this.#serial, error: closed });
    }
  }

  #shouldRetry(error: unknown): boolean {
    if (this.#ended) return false;
    const close = error as ConnectionClosedError;
    const { reconnect } = this.#options;
    if (reconnect && reconnect.shouldReconnect) return reconnect.shouldReconnect(closeInfo(close));
    if (close.cause instanceof ConfigurationError) return false; // retrying cannot fix it
    return !this.#isFatalCause(close.cause) && isRetriableClose(close);
  }

  #retrying({ error, attempt }: RetryInfo): void {
    const close = closeInfo(error as ConnectionClosedError);
    this.#error(error as Error, 'retry', `the connection failed (attempt ${attempt - 1}) and is retried`);
    if (this.#ended) return; // an errors$ observer closed the socket: no retry comes
    this.#setState({ status: 'reconnecting', attempt, lastClose: close });
  }

  /** A close that is not retried, or retries exhausted: terminal. */
  #fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    // Before any observer runs: a close() from a state$ or messages$ observer gets this promise.
    this.#closed = this.#settleClosed();
    this.#session = undefined;
    this.#lost();
    this.#idleTimer?.unsubscribe();
    const last = error instanceof ConnectionClosedError ? error : (error as { cause?: unknown }).cause;
    const lastClose = last instanceof ConnectionClosedError ? closeInfo(last) : this.#currentState.lastClose;
    this.#writer.close('closed');
    this.#setState({ status: 'closed', attempt: this.#currentState.attempt, ...(lastClose && { lastClose }) });
    if (!this.#incoming.observed) this.#report.warn('fail', `the socket closed for good: ${describe(error)}`, { error });
    this.#incoming.error(error);
    this.#completeStreams();
  }

  #completeStreams(): void {
    this.#states.complete();
    this.#errors.complete();
    this.#drops.complete();
    this.#connectionLost.complete();
  }

  /** An error for errors$; a warning too when nobody observes errors$. */
  #error(error: Error, kind: string, what: string): void {
    if (!this.#errors.observed) this.#report.warn(kind, `${what}: ${error.message} (observe errors$ to handle this)`, { error });
    this.#errors.next(error);
  }

  /** A drop for dropped$; a warning too when neither dropped$ nor a send() promise reports it. */
  #dropped(message: Out, reason: DropReason, cause: unknown, promised: boolean): void {
    if (!promised && !this.#drops.observed) this.#report.warn('drop', `a message was dropped (${reason}) (observe dropped$ to handle this)`, { message, reason });
    this.#drops.next(cause === undefined ? { payload: message, message, reason } : { payload: message, message, reason, cause });
  }

  #setState(state: ConnectionState): void {
    this.#report.debug(`state ${state.status}`, { ...state });
    if (state.status === 'open' && this.#currentState.status === 'reconnecting') this.#reconnects++;
    this.#currentState = state;
    this.#states.next(state);
  }

  #track(closing: Promise<unknown>): void {
    this.#closings.add(closing);
    void closing.then(() => this.#closings.delete(closing));
  }

  /** Resolves when every socket this client opened has closed. */
  async #settleClosed(): Promise<void> {
    while (this.#closings.size > 0) await Promise.all(this.#closings);
  }
}

function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}


/** What a build gives the client: its WebSocket, its event adapter, and what it knows of its runtime. */
export interface Platform {
  /** The implementation when `options.WebSocket` is not given (`ws` in Node, the global elsewhere). */
  readonly WebSocket: WebSocketConstructor | undefined;
  /** The adapter to the socket's event API. */
  readonly listen: Listen;
  /** Causes of a close that retrying cannot fix (in Node: TLS certificate errors; browsers do not tell). */
  readonly isFatalCause?: (cause: unknown) => boolean;
  /** Page and network signals (browsers and workers). */
  readonly watchPage?: WatchPage;
  /** Checks the contents of a static `wsOptions` object (Node: `ws`'s option names, header syntax). */
  readonly checkWsOptions?: (wsOptions: Record<string, unknown>) => void;
}

/**
 * Creates a client on `platform` (each build's `connect()` passes its own). Validates the options
 * and a static URL.
 */
export function createClient<In, Out>(url: UrlSource, options: ConnectOptions<In, Out>, platform: Platform): RxSocket<In, Out> {
  validateOptions(options, platform.checkWsOptions);
  if (typeof url !== 'function') normalizeUrl(url);
  const WebSocket = options.WebSocket ?? platform.WebSocket;
  if (!WebSocket) {
    throw new TypeError('No WebSocket implementation: this environment has no global `WebSocket`; pass one as the `WebSocket` option');
  }
  return new Client<In, Out>(url, { ...options, WebSocket }, platform);
}
