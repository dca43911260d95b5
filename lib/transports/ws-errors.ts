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

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
