import type { IncomingHttpHeaders } from 'node:http';

/** Values that differ from client to client: not worth a place in the table. */
const UNIQUE = new Set(['sec-websocket-key', 'cookie', 'authorization']);
/** Bounds the table: when full it starts again (a server's clients send a few values over and over). */
const LIMIT = 512;
const LONGEST = 256;
const table = new Map<string, string>();

/**
 * Makes `headers`' values the same strings as those of earlier requests that sent the same: a
 * peer keeps its request's headers (`peer.request`) as long as it lives, and most of them
 * (`host`, `upgrade`, `connection`, `sec-websocket-version`, `sec-websocket-extensions`,
 * `user-agent`, `origin`) are equal across a server's clients. HTTP's parser makes a new string
 * for each: about 170 bytes per peer of copies, for a plain `ws` client. Changes no value.
 *
 * @example
 * internHeaders(request.headers); // request.headers.host is now the string the previous request's was
 */
export function internHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  for (const name in headers) {
    const value = headers[name];
    if (typeof value !== 'string' || value.length > LONGEST || UNIQUE.has(name)) continue;
    const kept = table.get(value);
    if (kept !== undefined) {
      headers[name] = kept;
      continue;
    }
    if (table.size >= LIMIT) table.clear();
    table.set(value, value);
  }
  return headers;
}
