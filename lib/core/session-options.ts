import { checkDelay, checkKeys, checkNumber, checkObject, invalid } from './validate.js';
import type { Delivery } from './session-frames.js';

/**
 * Bounds of a session's retention: the reliable messages sent and not yet acknowledged.
 *
 * @example
 * ```ts
 * // Orders are small and few: a tight bound, so a long outage pushes back on the producer early.
 * const retain: RetainOptions = { size: 200, bytes: 256 * 1024 };
 * const socket = connect('wss://example.com/orders', { session: { retain } });
 * ```
 */
export interface RetainOptions {
  /**
   * Unacknowledged reliable messages one session may hold (integer >= 1). A reliable `send()`
   * beyond it waits for an acknowledgement to make room (until its `timeout`). With
   * acknowledgements at most every `ackInterval`, it bounds one-way reliable throughput at about
   * `size / ackInterval`: the default lets a flood of small messages run at full speed.
   * @default 65536
   */
  size?: number;
  /**
   * Bytes they may add up to (>= 1, `Infinity` allowed); one message larger than this is refused
   * with `'overflow'`.
   * @default 8388608 (8 MiB)
   */
  bytes?: number;
}

/** The retention's defaults. */
export const RETAIN_DEFAULTS = { size: 65_536, bytes: 8 * 1024 * 1024 } as const;

/**
 * Options of a resumable session (`session` of `connect()`; the server's add `resumeWindow`).
 *
 * @example
 * ```ts
 * const session: SessionOptions = { delivery: 'volatile', retain: { size: 500 }, ackInterval: 50 };
 * const socket = connect<Message, Message>('wss://example.com/orders', { session });
 * await socket.send({ type: 'order', id: 7 }, { delivery: 'reliable' }); // resolves at the server's receipt
 * ```
 */
export interface SessionOptions {
  /**
   * The delivery class of a `send()` that does not name one (and of `outgoing.next()`).
   * @default 'reliable'
   */
  delivery?: Delivery;
  /** Bounds of the unacknowledged reliable messages. */
  retain?: RetainOptions;
  /**
   * Milliseconds between two acknowledgement frames, at least (>= 1): an acknowledgement rides on a
   * reliable message going the other way when there is one, else goes out alone, at most this often.
   * @default 100
   */
  ackInterval?: number;
}

/** The session defaults (both ends). */
export const SESSION_DEFAULTS = { delivery: 'reliable', retain: RETAIN_DEFAULTS, ackInterval: 100 } as const;

/** A session's options with every default applied. */
export interface ResolvedSession {
  readonly delivery: Delivery;
  readonly retain: { readonly size: number; readonly bytes: number };
  readonly ackInterval: number;
}

const SESSION_KEYS = ['delivery', 'retain', 'ackInterval'] as const;
const RETAIN_KEYS = ['size', 'bytes'] as const;

/** Validates `session` (`true`, `false`, or {@link SessionOptions}); `extraKeys` are the role's own, checked by the caller. */
export function validateSession(value: unknown, extraKeys: readonly string[] = []): void {
  if (value === undefined || typeof value === 'boolean') return;
  if (!checkObject('session', value, false) || value === undefined) return;
  const s = value as Record<string, unknown>;
  checkKeys('session.', s, [...SESSION_KEYS, ...extraKeys]);
  if (s.delivery !== undefined && s.delivery !== 'reliable' && s.delivery !== 'volatile') invalid('session.delivery', "'reliable' or 'volatile'", s.delivery);
  checkDelay('session.ackInterval', s.ackInterval, { positive: true });
  if (checkObject('session.retain', s.retain, false) && s.retain) {
    const r = s.retain as Record<string, unknown>;
    checkKeys('session.retain.', r, RETAIN_KEYS);
    checkNumber('session.retain.size', r.size, { min: 1, integer: true });
    checkNumber('session.retain.bytes', r.bytes, { min: 1, infinity: true });
  }
}

/** The session's options with defaults, or undefined when sessions are off. */
export function resolveSession(value: boolean | SessionOptions | undefined): ResolvedSession | undefined {
  if (!value) return undefined;
  const { delivery = SESSION_DEFAULTS.delivery, retain = {}, ackInterval = SESSION_DEFAULTS.ackInterval } = value === true ? {} : value;
  return { delivery, retain: { size: retain.size ?? RETAIN_DEFAULTS.size, bytes: retain.bytes ?? RETAIN_DEFAULTS.bytes }, ackInterval };
}

/** Validates the options of one `send()`: at most `timeout` and `delivery`. */
export function checkDelivery(value: unknown): void {
  if (value !== undefined && value !== 'reliable' && value !== 'volatile') invalid('delivery', "'reliable' or 'volatile'", value);
}
