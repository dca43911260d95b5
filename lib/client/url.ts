import { ConfigurationError } from '../core/errors.js';

/**
 * Checks a URL and returns it as a ws: or wss: string; http: and https: are mapped, anything
 * else throws a TypeError naming the URL.
 */
export function normalizeUrl(url: unknown): string {
  let parsed: URL;
  if (url instanceof URL) parsed = url;
  else if (typeof url === 'string') {
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`Expected a ws:, wss:, http: or https: URL, got \`${url}\` (not a valid URL)`);
    }
  } else {
    throw new TypeError(`Expected the URL to be a string, a URL or a function, got ${url === null ? 'null' : typeof url}`);
  }
  const protocol = { 'ws:': 'ws:', 'wss:': 'wss:', 'http:': 'ws:', 'https:': 'wss:' }[parsed.protocol];
  if (!protocol) {
    throw new TypeError(`Expected a ws:, wss:, http: or https: URL, got \`${parsed.href}\` (protocol ${parsed.protocol})`);
  }
  // For these schemes the URL parser skips any number of slashes (and backslashes) after the
  // colon, so `ws:///feed` parses with the host `feed`: an empty authority must be caught in the
  // text. A URL object has already been parsed; only its hostname can tell.
  if (typeof url === 'string' ? !AUTHORITY.test(url.trim()) : parsed.hostname === '') {
    throw new TypeError(`Expected a ws:, wss:, http: or https: URL with a host, got \`${typeof url === 'string' ? url : parsed.href}\` (no host)`);
  }
  if (parsed.hash) throw new TypeError(`Expected a URL without a fragment, got \`${parsed.href}\``);
  if (protocol === parsed.protocol) return parsed.href;
  const copy = new URL(parsed.href);
  copy.protocol = protocol;
  return copy.href;
}

/** The scheme, exactly two slashes, and a first character of the authority that is no slash. */
const AUTHORITY = /^[a-z][a-z0-9+.-]*:[/\\]{2}[^/\\]/i;

/**
 * Resolves the URL for one attempt, calling a URL function; rejects if it throws or is invalid.
 * What retrying cannot fix rejects with a {@link ConfigurationError}: a URL function's unusable
 * result, or its synchronous TypeError or SyntaxError (a bug in the function). A rejection of the
 * function's promise passes through unchanged, whatever its type: `fetch` rejects with a
 * TypeError on a network failure, and a token service's error page fails `JSON.parse` with a
 * SyntaxError, both worth a retry.
 */
export async function resolveUrl(source: UrlSource): Promise<string> {
  if (typeof source !== 'function') return normalizeUrl(source);
  let result: string | URL | Promise<string | URL>;
  try {
    result = source();
  } catch (error) {
    if (error instanceof TypeError || error instanceof SyntaxError) {
      throw new ConfigurationError('url', `The URL function threw ${error.name}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  const url = await result;
  try {
    return normalizeUrl(url);
  } catch (error) {
    throw new ConfigurationError('url', `The URL function returned an unusable URL: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Where to connect: a URL, or a function called before every attempt (for fresh tokens).
 *
 * @example
 * ```ts
 * const url: UrlSource = async () => {
 *   const token = await (await fetch('https://example.com/ws-token')).text();
 *   return `wss://example.com/feed?token=${encodeURIComponent(token)}`;
 * };
 * const socket = connect(url); // every reconnect fetches a fresh token
 * ```
 */
export type UrlSource = string | URL | (() => string | URL | Promise<string | URL>);

