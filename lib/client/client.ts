import { Observable, type Observer } from 'rxjs';
import { createChannel, type ChannelHost, type ChannelOptions } from '../core/channel.js';
import { checkCloseArguments, type CloseCodeRule } from '../core/close-codes.js';
import { createCodec, type Codec } from '../core/codec.js';
import type { OpenConnection } from '../core/connection.js';
import { asError } from '../core/errors.js';
import { iterate, validateIterateOptions, type IterateOptions, type MessageIterator } from '../core/iterate.js';
import { createReporter } from '../core/report.js';
import { request, type RequestHost, type RequestOptions } from '../core/request.js';
import type { Listen, WebSocketConstructor } from '../core/transport.js';
import { Writer } from '../core/writer.js';
import { volatileFrame, type Delivery } from '../core/session-frames.js';
import type { WireData } from '../core/codec.js';
import { ClientResume } from './resume.js';
import type { WatchPage } from '../transports/page-events.js';
import { whenOpened } from './opened.js';
import { resolveOptions, type ConnectOptions } from './options.js';
import type { Channel, ConnectionState, DroppedMessage, RxSocket, SendOptions, SocketMetrics } from './rx-socket.js';
import { Lifecycle } from './lifecycle.js';
import { SocketStreams } from '../core/streams.js';
import { normalizeUrl, type UrlSource } from './url.js';
import { validateOptions, validateSendOptions } from './validate-options.js';

const noop = (): void => undefined;

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
  return new Client<In, Out>(url, options, WebSocket, platform);
}

/**
 * The facade: the public streams and methods of {@link RxSocket}. The lifecycle is the
 * {@link Lifecycle}'s, the writing the {@link Writer}'s, the encoding the codec's.
 */
class Client<In, Out> implements RxSocket<In, Out> {
  readonly messages$: Observable<In>;
  readonly outgoing: Observer<Out>;

  readonly #streams: SocketStreams<In, Out>;
  /** Live channels' `subscribe`, written on every connection. */
  readonly #channels = new Set<() => Out>();
  readonly #codec: Codec<In, Out>;
  readonly #writer: Writer<Out>;
  /** With resumable sessions: the client's end of the session. */
  readonly #resume: ClientResume<Out> | undefined;
  /** The delivery class of a send that names none. */
  readonly #delivery: Delivery;
  readonly #lifecycle: Lifecycle<In, Out>;
  readonly #iteration: IterateOptions<In>;
  readonly #bufferTimeout: number;
  /** `ws` sends every code RFC 6455 allows; a standard WebSocket only 1000 and 3000–4999. */
  readonly #closeCodes: CloseCodeRule;
  #rtt: number | undefined;
  #errors$: Observable<Error> | undefined;
  #dropped$: Observable<DroppedMessage<Out>> | undefined;

  constructor(url: UrlSource, options: ConnectOptions<In, Out>, WebSocket: WebSocketConstructor, platform: Platform) {
    const o = resolveOptions(options, WebSocket);
    const prototype = (o.WebSocket as { prototype?: { terminate?: unknown } }).prototype;
    this.#closeCodes = typeof prototype?.terminate === 'function' ? 'rfc6455' : 'standard';
    this.#codec = createCodec(o.serialize, o.deserialize);
    const streams = (this.#streams = new SocketStreams<In, Out>(createReporter(o.logger)));
    this.#iteration = o.iteration;
    this.#bufferTimeout = o.buffer.timeout;
    const { scheduler, heartbeat } = o;
    this.#writer = new Writer<Out>({
      ...o.buffer,
      highWaterMark: o.highWaterMark,
      scheduler,
      onDrop: (entry, reason, cause) => streams.dropped(entry.message, reason, cause, entry.promised),
      // What waits in the buffer holds the connection, as a subscriber does.
      onQueued: (occupied) => {
        if (occupied) this.#lifecycle.hold();
        else this.#lifecycle.release();
      },
    });
    this.#delivery = o.session ? o.session.delivery : 'volatile';
    const resume = (this.#resume = o.session && new ClientResume<Out>({
      session: o.session,
      writer: this.#writer,
      scheduler,
      waitLimit: o.buffer.size,
      streams: streams as SocketStreams<unknown, Out>,
      // Unacknowledged messages hold the connection, as buffered ones do.
      onOccupied: (occupied) => (occupied ? this.#lifecycle.hold() : this.#lifecycle.release()),
    }));
    const message = heartbeat ? heartbeat.message : undefined;
    this.#lifecycle = new Lifecycle<In, Out>(
      {
        attempt: {
          url,
          WebSocket: o.WebSocket,
          listen: platform.listen,
          protocols: resume ? resume.protocols(o.protocols) : o.protocols,
          wsOptions: o.wsOptions,
          connectTimeout: o.connectTimeout,
          heartbeat: heartbeat && {
            interval: heartbeat.interval,
            timeout: heartbeat.timeout,
            ping: message && ((conn) => this.#writeMessageNow(conn, message)),
            onRtt: (ms: number) => void (this.#rtt = ms),
          },
          closeTimeout: o.closeTimeout,
          scheduler,
        },
        handshake: o.handshake,
        reconnect: o.reconnect,
        lazyCloseTimeout: o.lazyCloseTimeout,
        scheduler,
        writer: this.#writer,
        isFatalCause: platform.isFatalCause ?? (() => false),
        watchPage: o.pageEvents ? platform.watchPage : undefined,
        streams,
        codec: this.#codec,
        appPong: heartbeat && heartbeat.message ? { isPong: heartbeat.isPong } : undefined,
        resume,
      },
      {
        opening: (conn) => {
          for (const subscribe of this.#channels) this.#writeMessageNow(conn, subscribe);
        },
        writeNow: (conn, message) => this.#writer.writeNow(conn, this.#encode(message)),
      },
    );
    this.messages$ = new Observable<In>((subscriber) => {
      const subscription = this.#streams.incoming.subscribe(subscriber);
      if (this.#lifecycle.ended) return subscription;
      this.#lifecycle.hold();
      return () => {
        subscription.unsubscribe();
        this.#lifecycle.release();
      };
    });
    this.outgoing = {
      next: (message) => this.#offer(message),
      error: (error: unknown) => this.#streams.error(asError(error), 'outgoing', 'outgoing.error() was called'),
      complete: noop,
    };
  }

  get state(): ConnectionState {
    return this.#lifecycle.state;
  }

  get state$(): Observable<ConnectionState> {
    return this.#lifecycle.state$;
  }

  // Made on first use, as most sockets never subscribe to them.
  get errors$(): Observable<Error> {
    return (this.#errors$ ??= this.#streams.errors.asObservable());
  }

  get dropped$(): Observable<DroppedMessage<Out>> {
    return (this.#dropped$ ??= this.#streams.drops.asObservable());
  }

  get buffered(): number {
    return this.#writer.waitingCount;
  }

  get metrics(): SocketMetrics {
    const retention = this.#resume?.state.retention;
    return {
      reconnects: this.#lifecycle.reconnects,
      rtt: this.#rtt,
      buffered: this.#writer.waitingCount,
      bufferedBytes: this.#writer.waitingBytes,
      unacknowledged: retention ? retention.unacknowledged + retention.waiting : 0,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<In> {
    return this.iterate();
  }

  iterate(options?: IterateOptions<In>): MessageIterator<In> {
    validateIterateOptions(options);
    return this.#iterate(this.messages$, options);
  }

  opened(options: { timeout?: number } = {}): Promise<void> {
    return whenOpened(this, this.#scheduler, options);
  }

  reconnect(): void {
    this.#lifecycle.reconnect();
  }

  send(message: Out, options?: SendOptions): Promise<void> {
    let timeout = this.#bufferTimeout;
    let delivery = this.#delivery;
    // After close(), every send() rejects with 'closed', whatever its arguments.
    if (options !== undefined && !this.#lifecycle.ended) {
      try {
        validateSendOptions(options);
        if (options.delivery === 'reliable' && !this.#resume) throw new TypeError("`delivery: 'reliable'` needs a session: connect(url, { session: true })");
      } catch (error) {
        return Promise.reject(error);
      }
      timeout = options.timeout ?? timeout;
      delivery = options.delivery ?? delivery;
    }
    if (delivery === 'reliable' && this.#resume) return this.#reliable(message, timeout, true) as Promise<void>;
    return this.#submit(message, timeout, undefined);
  }

  close(code = 1000, reason = ''): Promise<void> {
    checkCloseArguments(code, reason, this.#closeCodes);
    return this.#lifecycle.close(code, reason);
  }

  channel(options: ChannelOptions<In, Out>): Channel<In> {
    const channel$ = createChannel(this.#channelHost(), options);
    return Object.assign(channel$, { [Symbol.asyncIterator]: () => this.#iterate(channel$) });
  }

  request(message: Out, options: RequestOptions<In>): Promise<In> {
    return request(this.#requestHost(), message, options);
  }

  get #scheduler() {
    return this.#writer.scheduler;
  }

  /** The path of `send()` and `request()`: the promise settles when the message is written or dropped. */
  #submit(message: Out, timeout: number, onWritten: (() => void) | undefined): Promise<void> {
    if (this.#lifecycle.ended) return this.#writer.refuse(message, 'closed');
    let data;
    try {
      data = this.#encode(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writer.submit(message, data, timeout, onWritten);
  }

  /** A reliable message: retained until the server's receipt (the promise, if `promised`). */
  #reliable(message: Out, timeout: number, promised: boolean): Promise<void> | undefined {
    const resume = this.#resume as ClientResume<Out>;
    if (this.#lifecycle.ended) return promised ? this.#writer.refuse(message, 'closed') : void this.#writer.refuse(message, 'closed').catch(noop);
    let data;
    try {
      data = this.#codec.encode(message);
    } catch (error) {
      if (promised) return Promise.reject(error);
      return void this.#streams.error(asError(error), 'serialize', 'outgoing.next(): the message could not be serialized');
    }
    return resume.state.send(message, data, timeout, promised);
  }

  /** Serializes `message` as it goes on the wire: in a session, framed as volatile. */
  #encode(message: Out): WireData {
    const data = this.#codec.encode(message);
    return this.#resume ? volatileFrame(data) : data;
  }

  /** The path of `outgoing.next()`: no promise; a serialization error goes to errors$. */
  #offer(message: Out): void {
    if (this.#delivery === 'reliable' && this.#resume) return void this.#reliable(message, this.#bufferTimeout, false);
    let data;
    try {
      data = this.#encode(message);
    } catch (error) {
      return this.#streams.error(asError(error), 'serialize', 'outgoing.next(): the message could not be serialized');
    }
    this.#writer.offer(message, data, this.#bufferTimeout);
  }

  #iterate(source: Observable<In>, options?: IterateOptions<In>): MessageIterator<In> {
    const merged = { ...this.#iteration, ...options };
    const { onDrop } = merged;
    return iterate(source, {
      ...merged,
      onDrop: (message) => {
        if (onDrop) return onDrop(message);
        this.#streams.report.warn('iteration', 'a for-await loop fell behind: messages dropped (see the `iteration` option)', { message });
      },
    });
  }

  /**
   * Makes, serializes and writes a message on `conn` at once (heartbeat, channel subscriptions).
   * If `make` or `serialize` throws, the error goes to errors$ and the connection goes on.
   */
  #writeMessageNow(conn: OpenConnection, make: () => Out): void {
    try {
      this.#writer.writeNow(conn, this.#encode(make()));
    } catch (error) {
      this.#streams.error(asError(error), 'write', 'a heartbeat or channel message could not be written');
    }
  }

  #channelHost(): ChannelHost<In, Out> {
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
        const { conn } = this.#lifecycle;
        if (conn) this.#writeMessageNow(conn, make);
      },
    };
  }

  #requestHost(): RequestHost<In, Out> {
    return {
      messages$: this.messages$,
      connectionLost$: this.#lifecycle.connectionLost$,
      write: (message, timeout, written) => this.#submit(message, timeout, () => written(this.#lifecycle.serial)),
      scheduler: this.#scheduler,
    };
  }
}

export type { Channel, ConnectionState, ConnectionStatus, DroppedMessage, RxSocket, SendOptions, SocketMetrics } from './rx-socket.js';
