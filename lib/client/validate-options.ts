import { validateIterateOptions } from '../core/iterate.js';
import { validateReconnect } from '../core/retry-with-backoff.js';
import { validateSession } from '../core/session-options.js';
import { checkDelay, checkFunction, checkKeys, checkNumber, checkObject, checkScheduler, HTTP_TOKEN, invalid } from '../core/validate.js';

const CONNECT_KEYS = [
  'WebSocket', 'protocols', 'wsOptions', 'serialize', 'deserialize', 'connectTimeout', 'reconnect', 'heartbeat',
  'closeTimeout', 'lazyCloseTimeout', 'buffer', 'highWaterMark', 'handshake', 'scheduler', 'iteration', 'logger', 'pageEvents', 'session',
] as const;
const RECONNECT_KEYS = ['initialDelay', 'maxDelay', 'factor', 'jitter', 'random', 'maxAttempts', 'resetAfter', 'shouldReconnect'] as const;
const HEARTBEAT_KEYS = ['interval', 'timeout', 'message', 'isPong'] as const;
const BUFFER_KEYS = ['size', 'timeout', 'overflow'] as const;

function checkProtocols(value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string' && !(Array.isArray(value) && value.every((p) => typeof p === 'string'))) {
    invalid('protocols', 'a string or an array of strings', value);
  }
  const list: string[] = typeof value === 'string' ? [value] : value;
  const seen = new Set<string>();
  list.forEach((protocol, i) => {
    if (!HTTP_TOKEN.test(protocol)) invalid(typeof value === 'string' ? 'protocols' : `protocols[${i}]`, 'a subprotocol (an HTTP token, RFC 6455 4.1)', protocol);
    if (seen.has(protocol)) throw new TypeError(`Expected \`protocols\` to have no duplicates, got \`${protocol}\` twice`);
    seen.add(protocol);
  });
}

/**
 * Validates every option of `connect()`, throwing on the first that is wrong. The contents of a
 * static `wsOptions` object are checked by `checkWsOptions`, which only the Node build passes (the
 * browser build ignores `wsOptions` and does not carry `ws`'s option table).
 */
export function validateOptions(options: unknown, checkWsOptions?: (wsOptions: Record<string, unknown>) => void): void {
  if (!checkObject('options', options, false) || options === undefined) return;
  const o = options as Record<string, unknown>;
  checkKeys('', o, CONNECT_KEYS);
  checkFunction('WebSocket', o.WebSocket);
  checkProtocols(o.protocols);
  if (o.wsOptions !== undefined && typeof o.wsOptions !== 'function') {
    if (typeof o.wsOptions !== 'object' || o.wsOptions === null || Array.isArray(o.wsOptions)) {
      invalid('wsOptions', 'an object or a function', o.wsOptions);
    }
    checkWsOptions?.(o.wsOptions as Record<string, unknown>);
  }
  checkFunction('serialize', o.serialize);
  checkFunction('deserialize', o.deserialize);
  checkFunction('handshake', o.handshake);
  checkDelay('connectTimeout', o.connectTimeout, { positive: true, infinity: true });
  checkDelay('closeTimeout', o.closeTimeout);
  checkDelay('lazyCloseTimeout', o.lazyCloseTimeout, { infinity: true });
  checkNumber('highWaterMark', o.highWaterMark, { min: 0 });
  checkScheduler('scheduler', o.scheduler);
  if (checkObject('reconnect', o.reconnect, true) && o.reconnect) {
    checkKeys('reconnect.', o.reconnect as Record<string, unknown>, RECONNECT_KEYS);
    validateReconnect(o.reconnect as Record<string, unknown>, 'reconnect.');
  }
  if (checkObject('heartbeat', o.heartbeat, true) && o.heartbeat) {
    const h = o.heartbeat as Record<string, unknown>;
    checkKeys('heartbeat.', h, HEARTBEAT_KEYS);
    checkDelay('heartbeat.interval', h.interval, { positive: true });
    checkDelay('heartbeat.timeout', h.timeout, { positive: true });
    checkFunction('heartbeat.message', h.message);
    checkFunction('heartbeat.isPong', h.isPong);
  }
  if (o.logger !== undefined && o.logger !== false) checkFunction('logger', o.logger);
  if (o.pageEvents !== undefined && typeof o.pageEvents !== 'boolean') invalid('pageEvents', 'a boolean', o.pageEvents);
  validateSession(o.session);
  if (checkObject('iteration', o.iteration, false) && o.iteration) validateIterateOptions(o.iteration as Record<string, unknown>, 'iteration.');
  if (checkObject('buffer', o.buffer, false) && o.buffer) {
    const b = o.buffer as Record<string, unknown>;
    checkKeys('buffer.', b, BUFFER_KEYS);
    checkNumber('buffer.size', b.size, { min: 0, integer: true, infinity: true });
    checkDelay('buffer.timeout', b.timeout, { infinity: true });
    if (b.overflow !== undefined && b.overflow !== 'drop-newest' && b.overflow !== 'drop-oldest') {
      invalid('buffer.overflow', "'drop-newest' or 'drop-oldest'", b.overflow);
    }
  }
}
