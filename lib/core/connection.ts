import type { SchedulerLike, Subscription } from 'rxjs';
import { ConnectionClosedError, describe, HeartbeatTimeoutError, type CloseInfo } from './errors.js';
import { startHeartbeat, type Heartbeat, type HeartbeatOwner } from './heartbeat.js';
import { CLOSED, CONNECTING, OPEN, type Listen, type SocketEvents, type Transport, type WebSocketLike } from './transport.js';

/** An open connection, as the writer, the heartbeat and the session see it. */
export interface OpenConnection {
  /** Where its messages are written. */
  readonly transport: Transport;
  /** The subprotocol the server selected ('' for none). */
  readonly protocol: string;
  /**
   * Closes with `code` (one `close()` checked), terminating at `closeTimeout`; resolves when the
   * socket is closed, with how it closed (undefined if it was closed already). Every call
   * returns the first call's promise.
   */
  close(code: number, reason?: string): Promise<CloseInfo | undefined>;
  /** An application-level pong arrived (the heartbeat's `isPong` accepted a message). */
  pong(): void;
  /** Checks the connection now with a heartbeat ping (see `Heartbeat.probe`); without a heartbeat, nothing. */
  probe(): void;
}

/** What the per-connection runtime needs, whichever side opened the socket. */
export interface ConnectionConfig {
  listen: Listen;
  scheduler: SchedulerLike;
  /** Milliseconds a graceful close may take before the socket is terminated. */
  closeTimeout: number;
  /**
   * With `ping`, an application-level heartbeat (a message written on the connection); without,
   * ping frames where the transport has them.
   */
  heartbeat: { interval: number; timeout: number; ping: ((conn: OpenConnection) => void) | undefined; onRtt?: (ms: number) => void } | false;
  /** Runs after the socket opened and before the connection counts as open; a rejection ends it. */
  handshake: ((conn: OpenConnection) => Promise<unknown>) | undefined;
  /** A socket started closing in the background: its end, to wait for. */
  onClosing: (closed: Promise<unknown>) => void;
}

/**
 * What the runtime tells the owner of one connection (the config is shared by many): opened and
 * ended each at most once, and nothing after `stop()`. Named for the connection, since a server's
 * peer is the owner of its connections itself.
 */
export interface ConnectionEvents {
  /** Open, and the handshake (if any) done. */
  connectionOpened(conn: LiveConnection): void;
  /** Ended, with `ConnectionClosedError` (or a subclass) saying how. */
  connectionEnded(error: ConnectionClosedError, conn: LiveConnection): void;
  /**
   * Each incoming frame: a string for text, a Uint8Array for binary. The hot path. A throw is a
   * protocol violation: the connection ends with 1002 and the error as cause.
   */
  connectionMessage(data: string | Uint8Array): void;
  /** A pong frame arrived (for a heartbeat kept outside the connection: a server's shared timer). */
  connectionPong?(): void;
}

/** A socket under the runtime. */
export interface ConnectionRuntime {
  /** Ends the connection with `error` (e.g. a connect timeout): terminates the socket, reports `end`. */
  fail(error: ConnectionClosedError): void;
  /**
   * The owner lets go: closes gracefully with `code`/`reason` (terminating while the handshake is
   * in progress or at `closeTimeout`); nothing is reported afterwards.
   */
  stop(code: number, reason: string): void;
}

/** A connection under the runtime: what its owner writes on, and how the owner ends it. */
export type LiveConnection = OpenConnection & ConnectionRuntime;

/**
 * The per-connection runtime, one for both roles (as `ws`'s `setSocket` is): listens to `socket`,
 * runs the heartbeat and the handshake once it is open, and maps how it ends to a
 * `ConnectionClosedError` (`HeartbeatTimeoutError` for a zombie, the peer's code and reason, the
 * protocol error's code, the HTTP status of a refused upgrade, the error that caused it).
 */
export function runConnection(socket: WebSocketLike, config: ConnectionConfig, events: ConnectionEvents): LiveConnection {
  return new Connection(socket, config, events);
}

/** One socket under the runtime: the {@link OpenConnection} its owner gets, and the runtime's controls. */
class Connection implements OpenConnection, ConnectionRuntime, SocketEvents, HeartbeatOwner {
  readonly #socket: WebSocketLike;
  readonly #config: ConnectionConfig;
  /** Undefined once this connection has ended or been let go: nothing is reported after that. */
  #events: ConnectionEvents | undefined;
  #transport: Transport | undefined;
  #heartbeat: Heartbeat | undefined;
  /** How it ends, made on first need: an idle connection has nothing to say about its end. */
  #ending: Ending | undefined;

  constructor(socket: WebSocketLike, config: ConnectionConfig, events: ConnectionEvents) {
    this.#socket = socket;
    this.#config = config;
    this.#events = events;
    config.listen(socket, this);
  }

  // SocketEvents: what the socket tells (the transport calls these, nothing else does).

  socketError(error: unknown, protocolCode?: number): void {
    this.#endState().lastError ??= error;
    // ws answers a protocol error with its own close and then waits up to 30 s for the peer:
    // end now, with the mapped code, so a silent peer cannot hide it.
    if (protocolCode !== undefined) this.fail(new ConnectionClosedError({ code: protocolCode, reason: (error as Error).message, wasClean: false }, { cause: error }));
  }

  socketStatus(code: number | undefined): void {
    this.#endState().status = code;
  }

  socketOpen(transport: Transport): void {
    this.#opened(transport);
  }

  socketMessage(data: string | Uint8Array): void {
    const events = this.#events;
    if (events === undefined) return;
    this.#heartbeat?.activity();
    try {
      events.connectionMessage(data);
    } catch (error) {
      // The frame broke the protocol spoken on top of WebSocket (a session's): 1002.
      this.#endState().lastError = error;
      this.#protocolError(error);
    }
  }

  socketPong(): void {
    this.#heartbeat?.pong();
    this.#events?.connectionPong?.();
  }

  socketEnded(): void {
    // RFC 6455 7.1.1: a client may close the TCP connection itself if the server does not;
    // after closeTimeout, rather than ws's 30 s with the socket still counted as open.
    const ending = this.#endState();
    ending.closeTimer ??= this.#config.scheduler.schedule(() => this.#terminate(), this.#config.closeTimeout);
  }

  socketClosed(code: number, reason: string): void {
    this.#closed(code, reason);
  }

  // HeartbeatOwner: the heartbeat's ping and verdict (the connection is its owner, so that a
  // connection holds no closures for it).

  heartbeatPing(): void {
    const beat = this.#config.heartbeat;
    if (beat && beat.ping) beat.ping(this);
    else this.#transport?.ping?.();
  }

  heartbeatTimeout(): void {
    // Only a running heartbeat calls this, and one runs only with a heartbeat config.
    const { timeout } = this.#config.heartbeat as { timeout: number };
    this.fail(new HeartbeatTimeoutError(timeout));
  }

  get transport(): Transport {
    return this.#transport as Transport;
  }

  get protocol(): string {
    return this.#socket.protocol ?? '';
  }

  pong(): void {
    this.#heartbeat?.pong();
  }

  probe(): void {
    this.#heartbeat?.probe();
  }

  fail(error: ConnectionClosedError): void {
    const events = this.#events;
    if (events === undefined) return;
    this.#events = undefined;
    this.#heartbeat?.stop();
    // A failed attempt or a zombie will not answer a close frame: terminate, never wait.
    if (this.#socket.readyState !== CLOSED) this.#config.onClosing(this.close(1006));
    events.connectionEnded(error, this);
  }

  stop(code: number, reason: string): void {
    if (this.#events === undefined) return;
    this.#events = undefined;
    this.#heartbeat?.stop();
    this.#config.onClosing(this.close(code, reason));
  }

  /**
   * Closes the socket whatever its state, bounded by `closeTimeout`: gracefully with a sendable
   * `code` (1005: a close frame without a status code, as 1005 itself is never sent), by
   * terminating with 1006 or while the handshake is in progress.
   */
  close(code: number, reason?: string): Promise<CloseInfo | undefined> {
    const ending = this.#endState();
    ending.closing ??= new Promise<CloseInfo | undefined>((resolve) => {
      const socket = this.#socket;
      if (socket.readyState === CLOSED) return resolve(undefined);
      ending.resolveClosing = resolve;
      if (socket.readyState === CONNECTING || code === 1006) {
        this.#terminate();
      } else {
        if (code === 1005) socket.close();
        else socket.close(code, reason);
        ending.closeTimer = this.#config.scheduler.schedule(() => this.#terminate(), this.#config.closeTimeout);
      }
    });
    return ending.closing;
  }

  #opened(transport: Transport): void {
    const events = this.#events;
    if (events === undefined) return;
    this.#transport = transport;
    const { heartbeat: beat, handshake } = this.#config;
    // An application-level ping where one is given; else the transport's ping frames, if any.
    if (beat && (beat.ping || transport.ping)) this.#heartbeat = startHeartbeat(beat, this.#config.scheduler, this);
    if (!handshake) return events.connectionOpened(this);
    handshake(this).then(
      () => void this.#events?.connectionOpened(this),
      (error: unknown) => {
        this.#endState().lastError = error;
        this.fail(new ConnectionClosedError({ code: 1006, reason: `handshake failed: ${describe(error)}`, wasClean: false }, { cause: error }));
      },
    );
  }

  /**
   * Ends the connection for a frame that broke the protocol above WebSocket, as `ws` does for its
   * own protocol errors (RFC 6455 7.1.7): a close frame with 1002 tells the peer why (its close
   * bounded by `closeTimeout`), and the end is reported at once. A standard `WebSocket` may not
   * send 1002 (only 1000 and 3000–4999): it is terminated, as before.
   */
  #protocolError(error: unknown): void {
    const reason = describe(error);
    const ended = new ConnectionClosedError({ code: 1002, reason, wasClean: false }, { cause: error });
    if (typeof (this.#socket as { terminate?: unknown }).terminate !== 'function') return this.fail(ended);
    const events = this.#events;
    if (events === undefined) return;
    this.#events = undefined;
    this.#heartbeat?.stop();
    this.#config.onClosing(this.close(1002, closeReason(reason)));
    events.connectionEnded(ended, this);
  }

  /**
   * Ends the socket at once. `ws` terminates it (its 'close' follows). A standard `WebSocket`
   * cannot: it is closed, and since a dead peer's socket may not report 'close' until TCP gives up
   * (minutes), the close is reported now, as 1006; its late events are ignored.
   */
  #terminate(): void {
    const socket = this.#socket as WebSocketLike & { terminate?: () => void };
    if (typeof socket.terminate === 'function') return socket.terminate();
    if (socket.readyState === CONNECTING || socket.readyState === OPEN) socket.close();
    this.#closed(1006, '');
  }

  #closed(code: number, reason: string): void {
    const ending = this.#ending;
    ending?.closeTimer?.unsubscribe();
    const status = ending?.status;
    const lastError = ending?.lastError;
    const text = reason || reasonOf(lastError);
    const wasClean = code !== 1006;
    const info: CloseInfo = status === undefined ? { code, reason: text, wasClean } : { code, reason: text, wasClean, status };
    const resolve = ending?.resolveClosing;
    if (ending) ending.resolveClosing = undefined;
    resolve?.(info);
    this.fail(new ConnectionClosedError(info, lastError === undefined ? undefined : { cause: lastError }));
  }

  #endState(): Ending {
    // A literal with every field: one hidden class for all of them.
    return (this.#ending ??= { lastError: undefined, status: undefined, closing: undefined, closeTimer: undefined, resolveClosing: undefined });
  }
}

/** What a connection keeps about its end (see `Connection.#endState`). */
interface Ending {
  /** The first error the socket reported (or the handshake's, or a message handler's throw): the close's cause. */
  lastError: unknown;
  /** The HTTP status of a refused upgrade. */
  status: number | undefined;
  /** `close()`'s promise: every call returns it. */
  closing: Promise<CloseInfo | undefined> | undefined;
  /** Terminates the socket at `closeTimeout`. */
  closeTimer: Subscription | undefined;
  resolveClosing: ((info: CloseInfo) => void) | undefined;
}

/** `text` cut to the 123 UTF-8 bytes a close frame's reason may hold. */
function closeReason(text: string): string {
  const encoder = new TextEncoder();
  let reason = text.slice(0, 123);
  while (encoder.encode(reason).length > 123) reason = reason.slice(0, -1);
  return reason;
}

/** The reason text for an end with no close frame: the error's message, or nothing. */
function reasonOf(error: unknown): string {
  return error === undefined ? '' : describe(error);
}
