import type { UrlSource } from './options.js';

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
  if (parsed.hash) throw new TypeError(`Expected a URL without a fragment, got \`${parsed.href}\``);
  if (protocol === parsed.protocol) return parsed.href;
  const copy = new URL(parsed.href);
  copy.protocol = protocol;
  return copy.href;
}

/** Resolves the URL for one attempt, calling a URL function; rejects if it throws or is invalid. */
export async function resolveUrl(source: UrlSource): Promise<string> {
  return normalizeUrl(typeof source === 'function' ? await source() : source);
}
