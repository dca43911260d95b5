import type { CloseInfo } from './errors.js';

/**
 * The default reconnect table: whether a connection that ended with `close` is retried.
 *
 * Retried: 1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014 and 3000–4999 (application codes), which
 * covers network failures, connect and heartbeat timeouts (all 1006). Fatal: 1002, 1003, 1007,
 * 1008, 1009, 1010, 1015 and every other code in 1000–2999, so a server that sends bad frames or
 * refuses the client by policy does not cause an endless reconnect loop.
 *
 * @example
 * ```ts
 * isRetriableClose({ code: 1012, reason: 'restart', wasClean: true }); // true
 * isRetriableClose({ code: 1008, reason: 'policy', wasClean: true }); // false
 * ```
 */
export function isRetriableClose(close: CloseInfo): boolean {
  const { code } = close;
  if (code >= 3000 && code <= 4999) return true;
  return RETRIED_CODES.has(code);
}

const RETRIED_CODES = new Set([1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014]);

/**
 * The close code for a protocol error that `ws` detected in the server's frames. `ws` reports
 * such a close as 1006 (it closed the connection itself), so the error's public `code` is mapped:
 * invalid UTF-8 → 1007, a message over `maxPayload` → 1009, any other `WS_ERR_*` → 1002.
 * Returns `undefined` for errors that are not protocol errors.
 */
export function closeCodeOfProtocolError(error: unknown): number | undefined {
  const code = errorCode(error);
  if (code === undefined || !code.startsWith('WS_ERR_')) return undefined;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 1009;
  return 1002;
}

/**
 * TLS errors that retrying cannot fix (an untrusted or mismatched certificate): fatal by default,
 * so a misconfigured `wss://` endpoint does not spin a retry loop.
 */
export function isTlsCertificateError(error: unknown): boolean {
  const code = errorCode(error);
  if (code === undefined) return false;
  return CERT_ERROR_CODES.has(code) || code.startsWith('ERR_TLS_CERT') || code.includes('CERT_');
}

const CERT_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_CA',
]);

/**
 * Which close codes `close()` may send. `'standard'`: what the WHATWG `WebSocket.close()` accepts
 * (browsers, Deno, Node's global WebSocket): 1000 or 3000–4999. `'rfc6455'`: what `ws` puts on the wire,
 * every code RFC 6455 lets an endpoint send: also 1001 (going away: a process that shuts down),
 * 1002, 1003 and 1007–1014. Never 1004, 1005, 1006 or 1015, which are reserved.
 */
export type CloseCodeRule = 'standard' | 'rfc6455';

/** Whether `code` may be sent under `rule` (see {@link CloseCodeRule}). */
export function isSendableCloseCode(code: unknown, rule: CloseCodeRule = 'standard'): code is number {
  if (typeof code !== 'number' || !Number.isInteger(code)) return false;
  if (code === 1000 || (code >= 3000 && code <= 4999)) return true;
  return rule === 'rfc6455' && code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

/** The codes of a rule, in words, for error messages. */
export function sendableCloseCodes(rule: CloseCodeRule): string {
  return rule === 'rfc6455' ? '1000–1003, 1007–1014 or an integer in 3000–4999' : '1000 or an integer in 3000–4999';
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
