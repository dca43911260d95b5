import { closeInfo, ConfigurationError, type CloseInfo, type ConnectionClosedError } from '../core/errors.js';
import { SessionUnsupportedError } from '../core/session-errors.js';
import type { ReconnectOptions } from './options.js';

/**
 * The default reconnect table: whether a connection that ended with `close` is retried.
 *
 * Retried: 1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014 and 3000–4999 (application codes), which
 * covers network failures, connect and heartbeat timeouts (all 1006). Fatal: 1002, 1003, 1007,
 * 1008, 1009, 1010, 1015 and every other code in 1000–2999, so a server that sends bad frames or
 * refuses the client by policy does not cause an endless reconnect loop. An upgrade refused with
 * HTTP 401 or 403 (`status`) is fatal too: a bad or expired token would be retried forever
 * (`shouldReconnect` can opt back in, e.g. with a URL function that fetches a fresh token).
 *
 * @example
 * ```ts
 * isRetriableClose({ code: 1012, reason: 'restart', wasClean: true }); // true
 * isRetriableClose({ code: 1008, reason: 'policy', wasClean: true }); // false
 * isRetriableClose({ code: 1006, reason: '', wasClean: false, status: 401 }); // false
 * ```
 */
export function isRetriableClose(close: CloseInfo): boolean {
  const { code, status } = close;
  if (status === 401 || status === 403) return false;
  if (code >= 3000 && code <= 4999) return true;
  return RETRIED_CODES.has(code);
}

const RETRIED_CODES = new Set([1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014]);

/**
 * Whether the socket retries after `close`: the application's `shouldReconnect` if given, else
 * never for a cause retrying cannot fix (a configuration error, a server without sessions, a
 * fatal cause of the platform's), else the table of {@link isRetriableClose}.
 */
export function shouldRetry(close: ConnectionClosedError, shouldReconnect: ReconnectOptions['shouldReconnect'], isFatalCause: (cause: unknown) => boolean): boolean {
  if (shouldReconnect) return shouldReconnect(closeInfo(close));
  if (close.cause instanceof ConfigurationError || close.cause instanceof SessionUnsupportedError) return false;
  return !isFatalCause(close.cause) && isRetriableClose(close);
}
