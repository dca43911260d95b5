import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { ConfigurationError, ConnectionClosedError, ConnectTimeoutError, describe, HeartbeatTimeoutError, type CloseInfo } from '../core/errors.js';
import { startHeartbeat, type Heartbeat } from '../core/heartbeat.js';
import type { UrlSource } from './url.js';
import type { WsOptions } from '../transports/ws-options.js';
import { CLOSED, CONNECTING, OPEN, type WebSocketConstructor, type WebSocketLike } from '../core/transport.js';
import { resolveUrl } from './url.js';

/** The `net.Socket` under a `ws` client, taken from its public `'upgrade'` event. */
export interface RawSocket {
  cork(): void;
  uncork(): void;
  readonly writableNeedDrain: boolean;
  once(event: 'drain' | 'finish', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

/** `ws`'s extras; absent on a browser `WebSocket`. */
interface NodeWebSocket extends WebSocketLike {
  ping(): void;
  terminate(): void;
}

/** What a socket tells the connection, whatever its event API. */
export interface SocketEvents {
  /**
   * An error; `protocolCode` is the close code of a protocol error in the server's frames, which
   * ends the attempt at once (the adapter knows its library's error codes).
   */
  error(error: unknown, protocolCode?: number): void;
  /** The HTTP status of a refused upgrade. */
  status(code: number | undefined): void;
  /** Open; `raw` is the TCP socket under `ws`, to cork writes. */
  open(raw: RawSocket | undefined): void;
  /** A frame: a string for text, a Uint8Array for binary. */
  message(data: string | Uint8Array): void;
  pong(): void;
  /**
   * Both close frames were exchanged and the client ended its side of the TCP connection; only
   * the server's FIN is awaited. `ws` tells (its TCP socket's 'finish'); browsers close by themselves.
   */
  ended(): void;
  close(code: number, reason: string): void;
}

/** Attaches a connection's handlers to a socket: `ws`'s API in Node, the standard one elsewhere. */
export type Listen = (socket: WebSocketLike, on: SocketEvents) => void;

/** An open connection, as the writer sees it. */
export interface OpenConnection {
  readonly socket: WebSocketLike;
  /** The TCP socket under `ws`, to cork a batch of writes; absent in browsers. */
  readonly raw: RawSocket | undefined;
  /**
   * Closes (a code `close()` checked), terminating at `closeTimeout`; resolves when the socket is
   * closed, with how it closed (undefined if it was closed already). Every call returns the first
   * call's promise.
   */
  close(code: number, reason?: string): Promise<CloseInfo | undefined>;
  /** An application-level pong arrived (the heartbeat's `isPong` accepted a message). */
  pong(): void;
  /** Checks the connection now with a heartbeat ping (see `Heartbeat.probe`); without a heartbeat, nothing. */
  probe(): void;
}

/** Everything one attempt needs. */
export interface AttemptConfig {
  url: UrlSource;
  attempt: number;
  WebSocket: WebSocketConstructor;
  listen: Listen;
  protocols: string | string[] | undefined;
  wsOptions: WsOptions | ((attempt: number) => WsOptions | Promise<WsOptions>) | undefined;
  connectTimeout: number;
  /** With `ping`, an application-level heartbeat; without, ping frames where the socket has them. */
  heartbeat: { interval: number; timeout: number; ping: ((conn: OpenConnection) => void) | undefined; onRtt?: (ms: number) => void } | false;
  closeTimeout: number;
  scheduler: SchedulerLike;
  /** Each incoming frame: a string for text, a Uint8Array for binary. The hot path. */
  onMessage: (data: string | Uint8Array) => void;
  /**
   * Runs after the socket opened and before the connection is emitted as open, still bounded by
   * `connectTimeout`; a rejection fails the attempt.
   */
  handshake: ((conn: OpenConnection) => Promise<unknown>) | undefined;
  /** A socket started closing in the background (lazy close, teardown): its end, to wait for. */
  onClosing: (closed: Promise<unknown>) => void;
  /** The close frame to send when the attempt is unsubscribed while its socket is open. */
  closeFrame: () => readonly [code: number, reason: string];
}

/**
 * One attempt as an Observable: resolves the URL and options, opens one socket, emits the
 * {@link OpenConnection} once open, and errors when the connection ends, with
 * `ConnectTimeoutError`, `HeartbeatTimeoutError` or `ConnectionClosedError` (it never
 * completes: whether an end is retried is for the caller to decide). Unsubscribing closes the
 * socket with 1000 (or aborts the handshake). Events of the socket after that are ignored.
 */
export function openConnection(config: AttemptConfig): Observable<OpenConnection> {
  return new Observable<OpenConnection>((subscriber) => {
    const { scheduler, closeTimeout } = config;
    let ws: NodeWebSocket | undefined;
    let active = true; // false once this attempt has ended or been unsubscribed
    let lastError: unknown;
    let status: number | undefined;
    let heartbeat: Heartbeat | undefined;
    let closing: Promise<CloseInfo | undefined> | undefined;
    let closeTimer: Subscription | undefined;
    const closeWaiters: Array<(info: CloseInfo) => void> = [];
    const connectTimer =
      config.connectTimeout === Infinity
        ? undefined
        : scheduler.schedule(() => end(new ConnectTimeoutError(config.connectTimeout)), config.connectTimeout);

    const end = (error: Error): void => {
      if (!active) return;
      active = false;
      stopTimers();
      // A failed attempt or a zombie will not answer a close frame: terminate, never wait.
      if (ws && ws.readyState !== CLOSED) config.onClosing(shutdown(1006));
      subscriber.error(error);
    };
    const stopTimers = (): void => {
      connectTimer?.unsubscribe();
      heartbeat?.stop();
    };

    /**
     * Closes the socket whatever its state, bounded by `closeTimeout`: gracefully with a sendable
     * `code`, by terminating with 1006 or while the handshake is in progress.
     */
    const shutdown = (code: number, reason?: string): Promise<CloseInfo | undefined> => {
      if (closing) return closing;
      closing = new Promise<CloseInfo | undefined>((resolve) => {
        const socket = ws;
        if (!socket || socket.readyState === CLOSED) return resolve(undefined);
        closeWaiters.push(resolve);
        if (socket.readyState === CONNECTING || code === 1006) {
          terminate(socket);
        } else {
          socket.close(code, reason);
          closeTimer = scheduler.schedule(() => terminate(socket), closeTimeout);
        }
      });
      return closing;
    };

    const onClose = (code: number, reason: string): void => {
      closeTimer?.unsubscribe();
      const info: CloseInfo = { code, reason: reason || reasonOf(lastError), wasClean: code !== 1006, ...(status === undefined ? {} : { status }) };
      for (const resolve of closeWaiters.splice(0)) resolve(info);
      if (!active) return;
      end(new ConnectionClosedError(info, lastError === undefined ? undefined : { cause: lastError }));
    };

    const onOpen = (raw: RawSocket | undefined): void => {
      if (!active || !ws) return;
      if (!config.handshake) connectTimer?.unsubscribe();
      const socket = ws;
      const conn: OpenConnection = { socket, raw, close: shutdown, pong: () => heartbeat?.pong(), probe: () => heartbeat?.probe() };
      const beat = config.heartbeat;
      const sendPing = beat && (beat.ping ?? (typeof socket.ping === 'function' ? () => socket.ping() : undefined));
      if (beat && sendPing) {
        heartbeat = startHeartbeat({
          interval: beat.interval,
          timeout: beat.timeout,
          scheduler,
          ping: () => sendPing(conn),
          onTimeout: () => end(new HeartbeatTimeoutError(beat.timeout)),
          ...(beat.onRtt && { onRtt: beat.onRtt }),
        });
      }
      if (!config.handshake) return subscriber.next(conn);
      config.handshake(conn).then(
        () => {
          if (!active) return;
          connectTimer?.unsubscribe();
          subscriber.next(conn);
        },
        (error: unknown) => {
          lastError = error;
          end(new ConnectionClosedError({ code: 1006, reason: `handshake failed: ${describe(error)}`, wasClean: false }, { cause: error }));
        },
      );
    };

    const create = (url: string, options: WsOptions | undefined): void => {
      if (!active) return;
      let socket: NodeWebSocket;
      try {
        socket = new config.WebSocket(url, config.protocols, options as never) as NodeWebSocket;
      } catch (error) {
        // A constructor refuses its arguments synchronously (ws and browsers: a SyntaxError for a
        // bad URL or subprotocol; Node's http: a TypeError for a bad header): every attempt would.
        if (!isArgumentError(error)) throw error;
        const fatal = new ConfigurationError('WebSocket', `The WebSocket constructor threw ${error.name}: ${error.message}`, { cause: error });
        lastError = fatal;
        return end(new ConnectionClosedError({ code: 1006, reason: fatal.message, wasClean: false }, { cause: fatal }));
      }
      ws = socket;
      config.listen(socket, {
        error: (error, code) => {
          lastError ??= error;
          // ws answers a protocol error with its own close and then waits up to 30 s for the
          // peer: end the attempt now, with the mapped code, so a silent peer cannot hide it.
          if (code !== undefined) end(new ConnectionClosedError({ code, reason: (error as Error).message, wasClean: false }, { cause: error }));
        },
        status: (code) => void (status = code),
        open: onOpen,
        message: (data) => {
          if (!active) return;
          heartbeat?.activity();
          config.onMessage(data);
        },
        pong: () => heartbeat?.pong(),
        // RFC 6455 7.1.1: a client may close the TCP connection itself if the server does not;
        // after closeTimeout, rather than ws's 30 s with the socket still counted as open.
        ended: () => void (closeTimer ??= scheduler.schedule(() => terminate(socket), closeTimeout)),
        close: onClose,
      });
    };

    resolveUrl(config.url)
      .then(async (url) => {
        const { wsOptions } = config;
        const options = typeof wsOptions === 'function' ? await wsOptions(config.attempt) : wsOptions;
        create(url, options);
      })
      .catch((error: unknown) => {
        lastError = error;
        end(new ConnectionClosedError({ code: 1006, reason: describe(error), wasClean: false }, { cause: error }));
      });

    return () => {
      if (!active) return;
      active = false;
      stopTimers();
      if (ws) config.onClosing(shutdown(...config.closeFrame()));
    };
  });
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

function terminate(socket: WebSocketLike): void {
  const node = socket as Partial<NodeWebSocket>;
  if (typeof node.terminate === 'function') node.terminate();
  else if (socket.readyState === CONNECTING || socket.readyState === OPEN) socket.close();
}

/** The reason text for an end with no close frame: the error's message, or nothing. */
function reasonOf(error: unknown): string {
  return error === undefined ? '' : describe(error);
}
