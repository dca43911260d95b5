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

/** Checks `close(code, reason)`'s arguments: a RangeError names the codes `rule` allows, or the reason's size. */
export function checkCloseArguments(code: unknown, reason: unknown, rule: CloseCodeRule): void {
  if (!isSendableCloseCode(code, rule)) {
    throw new RangeError(`Expected \`code\` to be ${sendableCloseCodes(rule)}, got \`${String(code)}\` (${typeof code})`);
  }
  if (typeof reason !== 'string' || new TextEncoder().encode(reason).length > 123) {
    throw new RangeError(`Expected \`reason\` to be a string of at most 123 UTF-8 bytes, got ${typeof reason === 'string' ? `${new TextEncoder().encode(reason).length} bytes` : typeof reason}`);
  }
}
