import { isIPv4 } from 'node:net';
import { InvalidOptionError, NotLoopbackError } from './errors.js';
import { checkInteger } from './validate.js';

/**
 * Where a fault proxy forwards to: a loopback host and a port, plus the path its `url()` uses.
 *
 * @example
 * ```ts
 * const target: ResolvedTarget = { host: '127.0.0.1', port: 8080, path: '/' };
 * ```
 */
export interface ResolvedTarget {
  readonly host: string;
  readonly port: number;
  /** Path and query of a URL target (`/` for an object target), used as `url()`'s default. */
  readonly path: string;
}

/**
 * True for `localhost`, `::1` and any IPv4 address in 127.0.0.0/8.
 *
 * @example
 * ```ts
 * isLoopback('127.0.0.2'); // true
 * isLoopback('10.0.0.1'); // false
 * ```
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIPv4(bare) && bare.startsWith('127.');
}

/**
 * Throws {@link NotLoopbackError} unless `host` is a loopback host; returns it without brackets.
 *
 * @example
 * ```ts
 * const host = requireLoopback('[::1]'); // '::1'
 * ```
 */
export function requireLoopback(host: string): string {
  if (!isLoopback(host)) throw new NotLoopbackError(host);
  return host.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Turns a `ws://host:port/path` URL or a `{ host?, port }` object into a checked target.
 *
 * @example
 * ```ts
 * resolveTarget('ws://127.0.0.1:9000/chat'); // { host: '127.0.0.1', port: 9000, path: '/chat' }
 * resolveTarget({ port: 9000 }); // { host: '127.0.0.1', port: 9000, path: '/' }
 * ```
 */
export function resolveTarget(target: string | { readonly host?: string; readonly port: number }): ResolvedTarget {
  if (typeof target === 'string') {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new InvalidOptionError('target', 'a ws:// URL or { host?, port }', target);
    }
    const secure = url.protocol === 'wss:' || url.protocol === 'https:';
    const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
    return { host: requireLoopback(url.hostname), port, path: `${url.pathname}${url.search}` };
  }
  if (typeof target !== 'object' || target === null) {
    throw new InvalidOptionError('target', 'a ws:// URL or { host?, port }', target);
  }
  const port = checkInteger('target.port', target.port, 1, 65535);
  return { host: requireLoopback(target.host ?? '127.0.0.1'), port, path: '/' };
}
