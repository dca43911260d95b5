import { Subject, type Observable } from 'rxjs';
import { completedIf, Latest } from '../core/multicast.js';
import type { OpenConnection } from '../core/connection.js';
import { closeInfo, closedByClient, ConnectionClosedError, type CloseInfo } from '../core/errors.js';
import type { RetryInfo, RetryPolicy } from '../core/retry-with-backoff.js';
import type { PageSignal } from '../transports/page-events.js';
import { ChainSubscriber, dialChain, type ChainOwner } from './chain.js';
import { shouldRetry as retryable } from './close-policy.js';
import { Closings } from './closings.js';
import { Holds } from './holds.js';
import { Link } from './link.js';
import { Dial, type DialOwner, type DialSettings } from './dial.js';
import { sessionRefusal } from './resume.js';
import type { ConnectionState } from './rx-socket.js';
import type { LifecycleConfig, LifecycleHost } from './lifecycle-config.js';
import type { ReconnectOptions } from './options.js';
import { stateOf } from './states.js';
import type { SocketStreams } from '../core/streams.js';

const NORMAL_CLOSURE = [1000, ''] as const;
/** A session's reconnect: closed without a status code (the peer sees 1005), as 1000 would end the session. */
const NO_STATUS = [1005, ''] as const;

/**
 * The connection's lifecycle: lazy and ref-counted ({@link Holds}: the first `hold()` dials, and
 * the connection closes `lazyCloseTimeout` ms after the last holder left), dialed through
 * `retryWithBackoff`'s operator, and a `state$` that says where it is. Terminal after `close()` or a close
 * that is not retried.
 */
export class Lifecycle<In, Out> extends Holds implements DialOwner, ChainOwner, RetryPolicy {
  /** `state$`, made on first use. */
  #states: Latest<ConnectionState> | undefined;
  #lost$: Subject<{ serial: number; error: ConnectionClosedError }> | undefined;
  #completed = false;
  // What it uses of its config, kept one by one: the config object itself has more.
  readonly #writer: LifecycleConfig<In, Out>['writer'];
  readonly #resume: LifecycleConfig<In, Out>['resume'];
  /** The `reconnect` option's own decision, if given (not the options object: the retry copied the rest). */
  readonly #shouldReconnect: ReconnectOptions['shouldReconnect'];
  readonly #isFatalCause: LifecycleConfig<In, Out>['isFatalCause'];
  readonly #watchPage: LifecycleConfig<In, Out>['watchPage'];
  readonly #host: LifecycleHost<Out>;
  readonly #streams: SocketStreams<In, Out>;
  /** Sockets closing in the background: `close()` resolves once none is left. */
  #closings: Closings | undefined; // made on first use
  #state: ConnectionState = stateOf('idle', 0);
  /** Dials, retried with backoff: subscribed once per run (from the first hold, or a reconnect()). */
  readonly #connections$: Observable<OpenConnection>;
  #attempts: ChainSubscriber | undefined; // the running dial-and-retry chain
  readonly #link: Link<In, Out>;
  /** Every attempt's config. */
  readonly #dial: Dial;
  /** The close frame for a socket still in its handshake when close() is called. */
  #closeFrame: readonly [code: number, reason: string] = NORMAL_CLOSURE; // one tuple for every socket until close()
  #ended = false; // close() was called, or a close was not retried
  #closed: Promise<void> | undefined;
  #reconnects = 0;

  constructor(config: LifecycleConfig<In, Out>, attempt: DialSettings, host: LifecycleHost<Out>) {
    super(config.lazyCloseTimeout, config.scheduler);
    this.#writer = config.writer;
    this.#resume = config.resume;
    this.#shouldReconnect = config.reconnect ? config.reconnect.shouldReconnect : undefined;
    this.#isFatalCause = config.isFatalCause;
    this.#watchPage = config.watchPage;
    this.#host = host;
    this.#streams = config.streams;
    const link = (this.#link = new Link(config.codec, config.appPong, config.streams, config.resume));
    const { handshake, scheduler, resume } = config;
    const own = handshake && ((conn: OpenConnection) => link.handshake(conn, handshake, (message) => host.handshakeWrite(conn, message), scheduler));
    // A session is resumed first: the application's handshake runs in it.
    this.#dial = new Dial(attempt, this, link, resume ? (conn) => resume.start(conn).then(() => own?.(conn)) : own);
    // Made once per client: a run is one subscription to it.
    this.#connections$ = dialChain(this.#dial, resume !== undefined, config.reconnect, scheduler, this);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  // Streams nobody may ever subscribe to are made on first use: an idle connection is lighter.
  get state$(): Observable<ConnectionState> {
    return (this.#states ??= completedIf(new Latest(this.#state), this.#completed));
  }

  /** Each connection that ended, with its serial: what pending requests wait for. */
  get connectionLost$(): Observable<{ serial: number; error: ConnectionClosedError }> {
    return (this.#lost$ ??= completedIf(new Subject(), this.#completed));
  }

  /** The open connection, if any. */
  get conn(): OpenConnection | undefined {
    return this.#link.conn;
  }

  /** The serial of the current (or last) connection. */
  get serial(): number {
    return this.#link.serial;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  // DialOwner: what every attempt's config (`Dial`) asks of the lifecycle.

  get closeFrame(): readonly [code: number, reason: string] {
    return this.#closeFrame;
  }

  dialClosing(closing: Promise<unknown>): void {
    (this.#closings ??= new Closings()).track(closing);
  }

  /** The attempt number of the next dial (1 after a reset). */
  get attempt(): number {
    return this.#state.attempt;
  }

  /** The loss is handled before the retry decides (a session's refusal named as such). */
  dialLost(error: ConnectionClosedError): void {
    this.#lost(this.#resume ? sessionRefusal(error) : error);
  }

  protected firstHold(): void {
    this.#start();
  }

  protected lastRelease(): void {
    this.#idle();
  }

  protected uses(): number {
    return this.#writer.writtenAtOnce;
  }

  /** Drops the current connection and dials again at once, attempt 1. Only while active. */
  reconnect(): void {
    if (this.#ended || !this.#attempts) return;
    // A session is kept: its connection closes without a status code (the peer sees 1005), as
    // 1000 would end the session on the server.
    const frame = this.#closeFrame;
    if (this.#resume) this.#closeFrame = NO_STATUS;
    this.#stop();
    this.#closeFrame = frame;
    this.#start();
  }

  /**
   * Closes for good with `code`/`reason` (already checked). Returns the promise every later call
   * gets; it resolves once every socket this lifecycle opened has closed and `host.ended()` ran.
   */
  close(code: number, reason: string): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#end();
    this.#closeFrame = [code, reason];
    // The promise exists before any observer runs: a close() from a dropped$ observer gets it too.
    let done!: () => void;
    this.#closed = new Promise<void>((resolve) => (done = resolve));
    let lastClose: CloseInfo = { code, reason, wasClean: true };
    const conn = this.#link.conn;
    if (conn) (this.#closings ??= new Closings()).track(conn.close(code, reason).then((info) => void (lastClose = info ?? lastClose)));
    const { attempt, lastClose: previous } = this.#state;
    this.#setState(stateOf('closing', attempt, previous));
    this.#writer.close();
    this.#resume?.end('closed');
    this.#stop();
    void (this.#closings ??= new Closings()).settled().then(() => {
      this.#setState(stateOf('closed', this.#state.attempt, lastClose));
      this.#streams.ended();
      this.#complete();
      done();
    });
    return this.#closed;
  }

  /** The last holder left and the linger passed: close the connection, back to idle. */
  #idle(): void {
    if (this.#ended) return;
    this.#stop();
    this.#resume?.end('closed'); // closed cleanly, nothing outstanding: the next connection begins a new session
    this.#setState(stateOf('idle', 0, this.#state.lastClose));
  }

  #start(): void {
    // Taken before 'connecting' is announced: a state$ observer that sends or subscribes then
    // holds this chain instead of starting a second one.
    const attempts = new ChainSubscriber(this);
    this.#attempts = attempts;
    this.#setState(stateOf('connecting', 1));
    if (this.#ended || attempts.closed) return; // a state$ observer closed the socket or let go
    // The open at the very end of the chain, so an observer that closes the socket in there
    // leaves no operator to notify afterwards.
    this.#connections$.subscribe(attempts);
    const watchPage = this.#watchPage;
    if (watchPage && !attempts.closed) attempts.add(watchPage((signal) => this.#pageSignal(signal)));
  }

  #stop(): void {
    const attempts = this.#attempts;
    this.#attempts = undefined;
    attempts?.unsubscribe();
    this.#lost();
  }

  /** The page came back (or went offline): dial now instead of after the backoff, or probe. */
  #pageSignal(signal: PageSignal): void {
    const { status } = this.#state;
    if (status === 'reconnecting' && signal !== 'offline') this.reconnect();
    else if (status === 'open') this.#link.conn?.probe();
  }

  // ChainOwner and RetryPolicy: what the dial-and-retry chain tells (internal, as the rest).

  chainOpened(conn: OpenConnection): void {
    const afterHandshake = this.#link.open(conn);
    // Channels subscribe on every connection, before the buffer flushes; and before 'open' is
    // announced, so that a channel subscribed by a state$ observer is written once, by itself.
    this.#host.connectionOpening(conn);
    const { lastClose } = this.#state;
    const session = this.#resume?.info;
    this.#setState(stateOf('open', this.#state.attempt, lastClose, session));
    if (this.#ended) return; // a state$ observer closed the socket: the writer is closed too
    // Messages the server sent right after the handshake's answer, in the same read: in order,
    // before anything newer.
    if (afterHandshake) for (const message of afterHandshake) this.#streams.next(message);
    if (this.#link.conn !== conn) return; // an observer ended this connection
    this.#writer.attach(conn);
  }

  /** The connection ended (`error`), or was closed by the client (no error). */
  #lost(error?: unknown): void {
    const conn = this.#link.drop();
    this.#writer.detach();
    this.#resume?.detach();
    const lost$ = this.#lost$;
    if (!conn || !lost$) return;
    const loss = { serial: this.#link.serial, error: error instanceof ConnectionClosedError ? error : closedByClient() };
    this.#link.afterDelivery(() => lost$.next(loss));
  }

  shouldRetry(error: unknown): boolean {
    return !this.#ended && retryable(error as ConnectionClosedError, this.#shouldReconnect, this.#isFatalCause);
  }

  onReset(): void {
    const { status, lastClose, session } = this.#state;
    this.#setState(stateOf(status, 0, lastClose, session));
  }

  onRetry({ error, attempt }: RetryInfo): void {
    this.#streams.reportError(error as Error, 'retry', `the connection failed (attempt ${attempt - 1}) and is retried`);
    if (this.#ended) return; // an errors$ observer closed the socket: no retry comes
    this.#setState(stateOf('reconnecting', attempt, closeInfo(error as ConnectionClosedError)));
  }

  /** A close that is not retried, or retries exhausted: terminal. */
  chainFailed(error: unknown): void {
    if (this.#ended) return;
    this.#end();
    // Before any observer runs: a close() from a state$ or messages$ observer gets this promise.
    this.#closed = (this.#closings ??= new Closings()).settled();
    this.#attempts = undefined;
    this.#lost();
    const last = error instanceof ConnectionClosedError ? error : (error as { cause?: unknown }).cause;
    const lastClose = last instanceof ConnectionClosedError ? closeInfo(last) : this.#state.lastClose;
    this.#writer.close();
    this.#resume?.end('closed');
    this.#setState(stateOf('closed', this.#state.attempt, lastClose));
    this.#streams.ended(error);
    this.#complete();
  }

  /** Terminal from here: no holder dials again, and a pending linger ends now. */
  #end(): void {
    this.#ended = true;
    this.endHolds();
  }

  #complete(): void {
    this.#completed = true; // first: a stream first asked for by an observer below is made complete
    this.#states?.complete();
    this.#streams.completed();
    this.#lost$?.complete();
  }

  #setState(state: ConnectionState): void {
    this.#streams.report.debug(`state ${state.status}`, { ...state });
    if (state.status === 'open' && this.#state.status === 'reconnecting') this.#reconnects++;
    this.#state = state;
    this.#states?.next(state);
  }
}

