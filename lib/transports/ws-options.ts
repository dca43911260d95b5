import { checkKeys, checkObject, HTTP_TOKEN, invalid, show } from '../core/validate.js';

/**
 * Options passed to `ws`'s constructor in Node (see `ws`'s `WsOptions`): `headers`, `ca`,
 * `rejectUnauthorized`, `maxPayload`, `agent`, `perMessageDeflate`, ... Ignored by browsers.
 *
 * @example
 * ```ts
 * const wsOptions: WsOptions = { headers: { Authorization: `Bearer ${process.env.API_TOKEN}` }, maxPayload: 1024 * 1024 };
 * const socket = connect('wss://example.com/feed', { wsOptions });
 * ```
 */
export interface WsOptions {
  /**
   * Extra HTTP headers of the upgrade request (e.g. `Authorization`, `Cookie`).
   * @default undefined
   */
  headers?: Record<string, string>;
  /**
   * Largest incoming message `ws` accepts, in bytes; a bigger one closes the connection with 1009.
   * @default 104857600 (100 MiB, `ws`'s default)
   */
  maxPayload?: number;
  /**
   * Offer the permessage-deflate extension (`true`, or `ws`'s extension options).
   * @default true (`ws`'s default)
   */
  perMessageDeflate?: boolean | object;
  /**
   * Reject a server whose TLS certificate does not verify against `ca`.
   * @default true (Node's TLS default)
   */
  rejectUnauthorized?: boolean;
  /**
   * Certificate authorities to trust for `wss:`, replacing Node's bundled roots.
   * @default undefined (Node's bundled root certificates)
   */
  ca?: unknown;
  /**
   * An `http.Agent` / `https.Agent` for the upgrade request, e.g. for a proxy.
   * @default undefined (no agent)
   */
  agent?: unknown;
  [option: string]: unknown;
}

/**
 * Options `ws` takes itself, and those it passes on to `http.request` and `tls.connect`: a key of
 * `wsOptions` that is a near miss of one of these is a typo (`header`, `MaxPayload`).
 */
const WS_OPTION_KEYS = [
  // ws
  'allowSynchronousEvents', 'autoPong', 'createConnection', 'finishRequest', 'followRedirects', 'generateMask',
  'handshakeTimeout', 'headers', 'maxPayload', 'maxRedirects', 'origin', 'perMessageDeflate', 'protocolVersion',
  'skipUTF8Validation',
  // http.request
  'agent', 'auth', 'family', 'hints', 'insecureHTTPParser', 'joinDuplicateHeaders', 'localAddress', 'localPort',
  'lookup', 'maxHeaderSize', 'setHost', 'signal', 'socketPath', 'timeout', 'uniqueHeaders',
  // tls.connect
  'ALPNProtocols', 'ca', 'cert', 'checkServerIdentity', 'ciphers', 'crl', 'dhparam', 'ecdhCurve', 'honorCipherOrder',
  'key', 'maxVersion', 'minVersion', 'passphrase', 'pfx', 'privateKeyEngine', 'privateKeyIdentifier',
  'rejectUnauthorized', 'secureContext', 'secureOptions', 'secureProtocol', 'servername', 'session', 'sigalgs',
  'enableTrace', 'requestOCSP', 'pskCallback',
] as const;

/** What Node accepts in a header value: tab, visible ASCII, space, obs-text (no CR, LF, NUL). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;


/** Static `wsOptions`: near-miss keys, and headers Node would refuse (at every attempt). */
export function checkWsOptions(w: Record<string, unknown>): void {
  checkKeys('wsOptions.', w, WS_OPTION_KEYS, true);
  if (!checkObject('wsOptions.headers', w.headers, false) || w.headers === undefined) return;
  for (const [name, value] of Object.entries(w.headers as Record<string, unknown>)) {
    if (!HTTP_TOKEN.test(name)) throw new TypeError(`Expected \`wsOptions.headers\` to have header names that are HTTP tokens, got ${show(name)}`);
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      invalid(`wsOptions.headers[${JSON.stringify(name)}]`, 'a header value (a string without CR, LF or other control characters)', value);
    }
  }
}

