import { createHash } from 'node:crypto';

/**
 * The server half of the WebSocket opening handshake (RFC 6455 §4.2), done by hand so that a raw
 * peer controls every byte after it.
 */

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * An HTTP upgrade request as the raw peer read it.
 *
 * @example
 * ```ts
 * const { path, headers } = conn.request;
 * expect(headers['sec-websocket-protocol']).toBe('chat');
 * ```
 */
export interface UpgradeRequest {
  /** Request target, e.g. `/chat?x=1`. */
  readonly path: string;
  /** Header fields with lower-cased names; repeated fields joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
 *
 * @example
 * ```ts
 * acceptKey('dGhlIHNhbXBsZSBub25jZQ=='); // 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' (RFC 6455's sample)
 * ```
 */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/**
 * Splits a buffer at the end of the HTTP head. Returns `undefined` while the head is incomplete.
 *
 * @example
 * ```ts
 * const parsed = parseUpgradeRequest(buffered);
 * if (parsed) reader.push(parsed.rest);
 * ```
 */
export function parseUpgradeRequest(bytes: Buffer): { request: UpgradeRequest; rest: Buffer } | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [requestLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const path = requestLine.split(' ')[1] ?? '/';
  return { request: { path, headers }, rest: bytes.subarray(end + 4) };
}

/**
 * The `101 Switching Protocols` response for a request, or a `400` when it has no key.
 *
 * @example
 * ```ts
 * socket.write(upgradeResponse(request, 'chat', {}));
 * ```
 */
export function upgradeResponse(
  request: UpgradeRequest,
  protocol: string | undefined,
  extraHeaders: Readonly<Record<string, string>>,
): string {
  const key = request.headers['sec-websocket-key'];
  if (key === undefined) return 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(key)}`,
  ];
  if (protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  for (const [name, value] of Object.entries(extraHeaders)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
