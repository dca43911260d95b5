import { Observable, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { runConnection, type ConnectionConfig, type ConnectionEvents, type ConnectionRuntime, type OpenConnection } from '../core/connection.js';
import { ConfigurationError, ConnectionClosedError, ConnectTimeoutError, describe } from '../core/errors.js';
import type { Listen, WebSocketConstructor } from '../core/transport.js';
import type { WsOptions } from '../transports/ws-options.js';
import { addTeardown } from '../core/teardown.js';
import { resolveUrl, type UrlSource } from './url.js';

/** Everything an attempt needs: where and how to dial, and the per-connection runtime's config (one object for every attempt). */
export interface AttemptConfig extends ConnectionConfig {
  url: UrlSource;
  WebSocket: WebSocketConstructor;
  protocols: string | string[] | undefined;
  wsOptions: WsOptions | ((attempt: number) => WsOptions | Promise<WsOptions>) | undefined;
  /** Milliseconds from the URL function's call to open (the handshake included). */
  connectTimeout: number;
  /** The close frame to send when the attempt is unsubscribed while its socket is open. */
  closeFrame: () => readonly [code: number, reason: string];
  /** The attempt ended with `error`: called just before the Observable errors with it (not when unsubscribed). */
  onLost: (error: ConnectionClosedError) => void;
  /** Each incoming frame (see {@link ConnectionEvents.connectionMessage}). */
  onMessage: (data: string | Uint8Array) => void;
}

/** An attempt's config without what its owner provides: where and how to dial (the client's options). */
export type DialSettings = Omit<AttemptConfig, 'handshake' | 'closeFrame' | 'onClosing' | 'onMessage' | 'onLost'>;

/** What every attempt's config asks of its owner, the lifecycle. */
export interface DialOwner {
  /** The number of the attempt about to dial (1, then one more for each retry). */
  readonly attempt: number;
  /** The close frame for a socket unsubscribed while open. */
  readonly closeFrame: readonly [code: number, reason: string];
  /** A socket started closing in the background. */
  dialClosing(closing: Promise<unknown>): void;
  /** An attempt ended (see {@link AttemptConfig.onLost}). */
  dialLost(error: ConnectionClosedError): void;
}

/**
 * Every attempt's config, one object per client: the dial settings, and the owner's callbacks as
 * methods, so that a connection's config holds no closures. Incoming frames go to `receiver`.
 */
export class Dial implements AttemptConfig {
  // The settings as fields of its own: the settings object is not kept.
  readonly url: UrlSource;
  readonly WebSocket: WebSocketConstructor;
  readonly listen: Listen;
  readonly protocols: string | string[] | undefined;
  readonly wsOptions: AttemptConfig['wsOptions'];
  readonly connectTimeout: number;
  readonly heartbeat: AttemptConfig['heartbeat'];
  readonly closeTimeout: number;
  readonly scheduler: SchedulerLike;
  readonly handshake: AttemptConfig['handshake'];
  readonly #owner: DialOwner;
  readonly #receiver: { receive(data: string | Uint8Array): void };

  constructor(settings: DialSettings, owner: DialOwner, receiver: { receive(data: string | Uint8Array): void }, handshake: AttemptConfig['handshake']) {
    this.url = settings.url;
    this.WebSocket = settings.WebSocket;
    this.listen = settings.listen;
    this.protocols = settings.protocols;
    this.wsOptions = settings.wsOptions;
    this.connectTimeout = settings.connectTimeout;
    this.heartbeat = settings.heartbeat;
    this.closeTimeout = settings.closeTimeout;
    this.scheduler = settings.scheduler;
    this.handshake = handshake;
    this.#owner = owner;
    this.#receiver = receiver;
  }

  /** The number of the attempt about to dial. */
  get attempt(): number {
    return this.#owner.attempt;
  }

  closeFrame(): readonly [code: number, reason: string] {
    return this.#owner.closeFrame;
  }

  onMessage(data: string | Uint8Array): void {
    this.#receiver.receive(data);
  }

  onClosing(closing: Promise<unknown>): void {
    this.#owner.dialClosing(closing);
  }

  onLost(error: ConnectionClosedError): void {
    this.#owner.dialLost(error);
  }
}

/**
 * The dial's attempts as an Observable (one per client): each subscription is attempt number
 * `dial.attempt`. It resolves the URL and options, constructs one socket, hands it to the
 * per-connection runtime, emits the {@link OpenConnection} once open, and errors when the
 * connection ends, with `ConnectTimeoutError`, `HeartbeatTimeoutError` or
 * `ConnectionClosedError` (it never completes: whether an end is retried is for the caller to
 * decide). Unsubscribing closes the socket with `closeFrame()` (or aborts the handshake); events
 * of the socket after that are ignored. The dialing half of `ws`'s `initAsClient`; the rest is
 * the runtime both roles share.
 */
export function dialAttempts(dial: Dial): Observable<OpenConnection> {
  return new Attempts(dial);
}

/** {@link dialAttempts}: a class rather than `new Observable(subscriber => …)`, which would keep a closure and its scope per client. */
class Attempts extends Observable<OpenConnection> {
  readonly #dial: Dial;

  constructor(dial: Dial) {
    super();
    this.#dial = dial;
  }

  /** What `Observable.subscribe` calls with its subscriber (the hook `Subject` overrides too). */
  protected _subscribe(subscriber: Subscriber<OpenConnection>): undefined {
    const dial = this.#dial;
    addTeardown(subscriber, new Attempt(dial, dial.attempt, subscriber));
  }
}

type Work = (this: unknown, attempt?: Attempt) => void;

/**
 * One subscription to an attempt: the events its connection runtime reports, and the teardown
 * its subscriber calls (an object with `unsubscribe()`), so that a connection keeps one object
 * here rather than a scope of closures.
 */
class Attempt implements ConnectionEvents {
  readonly #config: AttemptConfig;
  readonly #subscriber: Subscriber<OpenConnection>;
  #active = true; // false once this attempt has ended or been unsubscribed
  #runtime: ConnectionRuntime | undefined;
  /** The connect timer; let go once open. */
  #timer: Subscription | undefined;

  static readonly #timeoutWork: Work = (attempt) => (attempt as Attempt).#timedOut();

  constructor(config: AttemptConfig, attempt: number, subscriber: Subscriber<OpenConnection>) {
    this.#config = config;
    this.#subscriber = subscriber;
    if (config.connectTimeout !== Infinity) this.#timer = config.scheduler.schedule(Attempt.#timeoutWork, config.connectTimeout, this);
    resolveUrl(config.url)
      .then(async (url) => {
        const { wsOptions } = config;
        const options = typeof wsOptions === 'function' ? await wsOptions(attempt) : wsOptions;
        this.#create(url, options);
      })
      .catch((error: unknown) => this.#fail(new ConnectionClosedError({ code: 1006, reason: describe(error), wasClean: false }, { cause: error })));
  }

  // ConnectionEvents

  connectionOpened(conn: OpenConnection): void {
    this.#stopTimer();
    this.#subscriber.next(conn);
  }

  connectionMessage(data: string | Uint8Array): void {
    this.#config.onMessage(data);
  }

  connectionEnded(error: ConnectionClosedError): void {
    this.#active = false;
    this.#stopTimer();
    this.#config.onLost(error);
    this.#subscriber.error(error);
  }

  /** The subscriber let go: closes the socket with `closeFrame()` (or aborts its handshake). */
  unsubscribe(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#stopTimer();
    this.#runtime?.stop(...this.#config.closeFrame());
  }

  #timedOut(): void {
    this.#fail(new ConnectTimeoutError(this.#config.connectTimeout));
  }

  #fail(error: ConnectionClosedError): void {
    if (!this.#active) return;
    if (this.#runtime) return this.#runtime.fail(error); // it reports the end, with the socket terminated
    this.connectionEnded(error);
  }

  #stopTimer(): void {
    this.#timer?.unsubscribe();
    this.#timer = undefined;
  }

  #create(url: string, options: WsOptions | undefined): void {
    if (!this.#active) return;
    const config = this.#config;
    let socket;
    try {
      socket = new config.WebSocket(url, config.protocols, options as never);
    } catch (error) {
      // A constructor refuses its arguments synchronously (ws and browsers: a SyntaxError for a
      // bad URL or subprotocol; Node's http: a TypeError for a bad header): every attempt would.
      if (!isArgumentError(error)) throw error;
      const fatal = new ConfigurationError('WebSocket', `The WebSocket constructor threw ${error.name}: ${error.message}`, { cause: error });
      return this.#fail(new ConnectionClosedError({ code: 1006, reason: fatal.message, wasClean: false }, { cause: fatal }));
    }
    this.#runtime = runConnection(socket, config, this);
  }
}

/**
 * A TypeError or SyntaxError, a browser's `DOMException` named `SyntaxError` included. By name, not
 * `instanceof`: Node's own errors come from another realm wherever the code runs in a `vm` context.
 */
function isArgumentError(error: unknown): error is Error {
  if (typeof error !== 'object' || error === null) return false;
  const { name, message } = error as { name?: unknown; message?: unknown };
  return (name === 'TypeError' || name === 'SyntaxError') && typeof message === 'string';
}
