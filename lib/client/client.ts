import type { Observable, Observer } from 'rxjs';
import { createChannel, type ChannelHost, type ChannelOptions } from '../core/channel.js';
import { checkCloseArguments, type CloseCodeRule } from '../core/close-codes.js';
import { createCodec, type Codec } from '../core/codec.js';
import type { OpenConnection } from '../core/connection.js';
import { asError } from '../core/errors.js';
import { iterate, validateIterateOptions, type IterateOptions, type MessageIterator } from '../core/iterate.js';
import { createReporter } from '../core/report.js';
import { request, type RequestHost, type RequestOptions } from '../core/request.js';
import type { Listen, WebSocketConstructor } from '../core/transport.js';
import { sendConfig } from './shared-settings.js';
import type { DropReason } from '../core/errors.js';
import type { OutgoingEntry } from '../core/outgoing-entry.js';
import { Outbox, type OutboxOwner } from '../core/outbox.js';
import { ClientResume } from './resume.js';
import type { WatchPage } from '../transports/page-events.js';
import { whenOpened } from './opened.js';
import { resolveOptions, type ConnectOptions } from './options.js';
import type { Channel, ConnectionState, DroppedMessage, RxSocket, SendOptions, SocketMetrics } from './rx-socket.js';
import { Lifecycle } from './lifecycle.js';
import type { LifecycleHost } from './lifecycle-config.js';
import { ClientHeartbeat } from './client-heartbeat.js';
import { HeldMessages } from './held-messages.js';
import { SocketStreams } from '../core/streams.js';
import { normalizeUrl, type UrlSource } from './url.js';
import { validateOptions } from './validate-options.js';

const noop = (): void => undefined;
const neverFatal = (): boolean => false;

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
class Client<In, Out> implements RxSocket<In, Out>, OutboxOwner<Out>, LifecycleHost<Out> {
  /** `outgoing`, made on first use. */
  #outgoing: Observer<Out> | undefined;

  /** `messages$`, `errors$` and `dropped$`. */
  readonly #streams: HeldMessages<In, Out>;
  /** The open channels' subscribe messages, written on every connection (made with the first channel). */
  #channels: Set<() => Out> | undefined;
  readonly #codec: Codec<In, Out>;
  /** The send path: options, serialization, delivery class. */
  /** The send path and the single writer. */
  readonly #outbox: Outbox<Out>;
  readonly #lifecycle: Lifecycle<In, Out>;
  readonly #iteration: IterateOptions<In>;
  /** `ws` sends every code RFC 6455 allows; a standard WebSocket only 1000 and 3000–4999. */
  readonly #closeCodes: CloseCodeRule;
  /** The heartbeat's settings, which keep the last round-trip time. */
  readonly #heartbeat: ClientHeartbeat | undefined;

  constructor(url: UrlSource, options: ConnectOptions<In, Out>, WebSocket: WebSocketConstructor, platform: Platform) {
    const o = resolveOptions(options, WebSocket);
    const prototype = (o.WebSocket as { prototype?: { terminate?: unknown } }).prototype;
    this.#closeCodes = typeof prototype?.terminate === 'function' ? 'rfc6455' : 'standard';
    this.#codec = createCodec(o.serialize, o.deserialize);
    const streams = (this.#streams = new HeldMessages<In, Out>(createReporter(o.logger)));
    this.#iteration = o.iteration;
    const { scheduler, heartbeat } = o;
    // Literals, not spreads, for what a connection keeps (V8 gives each `{ ...a, b }` a hidden
    // class of its own), and the client's methods rather than closures.
    const delivery = o.session ? o.session.delivery : 'volatile';
    const outbox = (this.#outbox = new Outbox<Out>(sendConfig(o.buffer, o.highWaterMark, scheduler, this.#codec as Codec<unknown, Out>, delivery), this));
    const resume = o.session && new ClientResume<Out>({
      session: o.session,
      writer: outbox,
      scheduler,
      waitLimit: o.buffer.size,
      streams: streams as SocketStreams<unknown, Out>,
      // Unacknowledged messages hold the connection, as buffered ones do.
      onOccupied: (occupied) => (occupied ? this.#lifecycle.hold() : this.#lifecycle.release()),
    });
    const message = heartbeat ? heartbeat.message : undefined;
    this.#heartbeat = heartbeat ? new ClientHeartbeat(heartbeat.interval, heartbeat.timeout, message && ((conn) => this.#writeMessageNow(conn, message))) : undefined;
    this.#lifecycle = new Lifecycle<In, Out>(
      {
        handshake: o.handshake,
        reconnect: o.reconnect,
        lazyCloseTimeout: o.lazyCloseTimeout,
        scheduler,
        writer: outbox,
        isFatalCause: platform.isFatalCause ?? neverFatal,
        watchPage: o.pageEvents ? platform.watchPage : undefined,
        streams,
        codec: this.#codec,
        appPong: heartbeat && heartbeat.message ? { isPong: heartbeat.isPong } : undefined,
        resume,
      },
      {
        url,
        WebSocket: o.WebSocket,
        listen: platform.listen,
        protocols: resume ? resume.protocols(o.protocols) : o.protocols,
        wsOptions: o.wsOptions,
        connectTimeout: o.connectTimeout,
        heartbeat: this.#heartbeat ?? false,
        closeTimeout: o.closeTimeout,
        scheduler,
      },
      this,
    );
    if (resume) outbox.useSession(resume.state);
    streams.holdWith(this.#lifecycle);
  }

  /** The incoming stream itself (see {@link HeldMessages}). */
  get messages$(): Observable<In> {
    return this.#streams;
  }

  get outgoing(): Observer<Out> {
    return (this.#outgoing ??= {
      next: (message) => this.#outbox.next(message),
      error: (error: unknown) => this.#streams.reportError(asError(error), 'outgoing', 'outgoing.error() was called'),
      complete: noop,
    });
  }

  // OutboxOwner and LifecycleHost: what the outbox and the lifecycle tell the client (internal;
  // methods rather than closures, which every client would hold).

  get ended(): boolean {
    return this.#lifecycle.ended;
  }

  outgoingFailed(error: Error): void {
    this.#streams.reportError(error, 'serialize', 'outgoing.next(): the message could not be serialized');
  }

  writerDropped(entry: OutgoingEntry<Out>, reason: DropReason, cause: unknown): void {
    this.#streams.dropped(entry.message, reason, cause, entry.promised);
  }

  /** What waits in the buffer holds the connection, as a subscriber does. */
  writerQueued(occupied: boolean): void {
    if (occupied) this.#lifecycle.hold();
    else this.#lifecycle.release();
  }

  connectionOpening(conn: OpenConnection): void {
    if (this.#channels) for (const subscribe of this.#channels) this.#writeMessageNow(conn, subscribe);
  }

  handshakeWrite(conn: OpenConnection, message: Out): void {
    this.#outbox.writeNow(conn, this.#outbox.encode(message));
  }

  get state(): ConnectionState {
    return this.#lifecycle.state;
  }

  get state$(): Observable<ConnectionState> {
    return this.#lifecycle.state$;
  }

  // Made on first use, as most sockets never subscribe to them.
  get errors$(): Observable<Error> {
    return this.#streams.errors;
  }

  get dropped$(): Observable<DroppedMessage<Out>> {
    return this.#streams.drops;
  }

  get buffered(): number {
    return this.#outbox.waitingCount;
  }

  get metrics(): SocketMetrics {
    const { waitingCount: buffered, waitingBytes: bufferedBytes } = this.#outbox;
    return { reconnects: this.#lifecycle.reconnects, rtt: this.#heartbeat?.rtt, buffered, bufferedBytes, unacknowledged: this.#outbox.unacknowledged };
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
    return this.#outbox.send(message, options);
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
    return this.#outbox.scheduler;
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
      this.#outbox.writeNow(conn, this.#outbox.encode(make()));
    } catch (error) {
      this.#streams.reportError(asError(error), 'write', 'a heartbeat or channel message could not be written');
    }
  }

  #channelHost(): ChannelHost<In, Out> {
    return {
      messages$: this.messages$,
      addChannel: (subscribe) => {
        // A wrapper per channel: two channels may share one `subscribe` function, and each must
        // stay registered until it leaves itself.
        const entry = (): Out => subscribe();
        (this.#channels ??= new Set()).add(entry);
        return () => this.#channels?.delete(entry);
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
      write: (message, timeout, written) => this.#outbox.submitRequest(message, timeout, () => written(this.#lifecycle.serial)),
      scheduler: this.#scheduler,
    };
  }
}

export type { Channel, ConnectionState, ConnectionStatus, DroppedMessage, RxSocket, SendOptions, SocketMetrics } from './rx-socket.js';
