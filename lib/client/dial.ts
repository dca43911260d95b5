import { Observable } from 'rxjs';
import { runConnection, type ConnectionConfig, type ConnectionRuntime, type OpenConnection } from '../core/connection.js';
import { ConfigurationError, ConnectionClosedError, ConnectTimeoutError, describe } from '../core/errors.js';
import type { WebSocketConstructor } from '../core/transport.js';
import type { WsOptions } from '../transports/ws-options.js';
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
}

/**
 * Attempt number `attempt` as an Observable: resolves the URL and options, constructs one socket, hands it to
 * the per-connection runtime, emits the {@link OpenConnection} once open, and errors when the
 * connection ends, with `ConnectTimeoutError`, `HeartbeatTimeoutError` or
 * `ConnectionClosedError` (it never completes: whether an end is retried is for the caller to
 * decide). Unsubscribing closes the socket with `closeFrame()` (or aborts the handshake); events
 * of the socket after that are ignored. The dialing half of `ws`'s `initAsClient`; the rest is
 * the runtime both roles share.
 */
export function openConnection(config: AttemptConfig, attempt: number): Observable<OpenConnection> {
  return new Observable<OpenConnection>((subscriber) => {
    const { scheduler } = config;
    let active = true; // false once this attempt has ended or been unsubscribed
    let runtime: ConnectionRuntime | undefined;
    const ended = (error: ConnectionClosedError): void => {
      active = false;
      stopTimer();
      config.onLost(error);
      subscriber.error(error);
    };
    const fail = (error: ConnectionClosedError): void => {
      if (!active) return;
      if (runtime) return runtime.fail(error); // it reports the end, with the socket terminated
      ended(error);
    };
    let connectTimer =
      config.connectTimeout === Infinity
        ? undefined
        : scheduler.schedule(() => fail(new ConnectTimeoutError(config.connectTimeout)), config.connectTimeout);
    const stopTimer = (): void => {
      connectTimer?.unsubscribe();
      connectTimer = undefined; // not kept for the connection's life
    };

    const create = (url: string, options: WsOptions | undefined): void => {
      if (!active) return;
      let socket;
      try {
        socket = new config.WebSocket(url, config.protocols, options as never);
      } catch (error) {
        // A constructor refuses its arguments synchronously (ws and browsers: a SyntaxError for a
        // bad URL or subprotocol; Node's http: a TypeError for a bad header): every attempt would.
        if (!isArgumentError(error)) throw error;
        const fatal = new ConfigurationError('WebSocket', `The WebSocket constructor threw ${error.name}: ${error.message}`, { cause: error });
        return fail(new ConnectionClosedError({ code: 1006, reason: fatal.message, wasClean: false }, { cause: fatal }));
      }
      runtime = runConnection(socket, config, {
        open: (conn) => {
          stopTimer();
          subscriber.next(conn);
        },
        end: ended,
      });
    };

    resolveUrl(config.url)
      .then(async (url) => {
        const { wsOptions } = config;
        const options = typeof wsOptions === 'function' ? await wsOptions(attempt) : wsOptions;
        create(url, options);
      })
      .catch((error: unknown) => fail(new ConnectionClosedError({ code: 1006, reason: describe(error), wasClean: false }, { cause: error })));

    return () => {
      if (!active) return;
      active = false;
      stopTimer();
      runtime?.stop(...config.closeFrame());
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
