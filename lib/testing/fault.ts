import { InvalidOptionError } from './errors.js';
import { checkInteger, checkNumber, checkOneOf } from './validate.js';

/**
 * The vocabulary of a {@link FaultProxy}: which way a fault applies and what it does. The names
 * follow toxiproxy's toxics so a test reads the same as its toxiproxy counterpart would.
 */

/**
 * Which way bytes flow: `up` is client → server, `down` is server → client, `both` sets the two.
 *
 * @example
 * ```ts
 * proxy.set('down', { kind: 'delay', ms: 200 });
 * ```
 */
export type Direction = 'up' | 'down' | 'both';

/**
 * What a proxy does with the bytes of one direction. Every kind applies at once to live links and
 * to links opened later.
 *
 * - `pass`: forward as they come, with TCP backpressure.
 * - `blackhole`: keep both sockets open and swallow every byte, FIN and reset: a zombie link.
 * - `stall`: stop reading the source socket, so TCP backpressure builds up to the sender;
 *   switching to a forwarding kind delivers what was held, in order (`blackhole` swallows it).
 * - `delay`: hold each chunk `ms` (+ a random `0..jitterMs`); order is kept.
 * - `throttle`: deliver at most `bytesPerSec`, in pieces of about 20 ms worth.
 * - `slice`: cut chunks into `bytes`-sized pieces written `gapMs` apart.
 * - `limit`: forward `bytes` more bytes (counted from when the fault is set, or from the link's
 *   start for a new link), then end the whole link with a FIN or a reset.
 *
 * @example
 * ```ts
 * proxy.set('both', { kind: 'blackhole' });
 * proxy.set('up', { kind: 'limit', bytes: 100, then: 'rst' });
 * ```
 */
export type Fault =
  | { readonly kind: 'pass' }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'stall' }
  | {
      readonly kind: 'delay';
      /** Base delay of every chunk, in ms, >= 0. */
      readonly ms: number;
      /** Extra random delay, uniform in `0..jitterMs` ms, >= 0. @default 0 */
      readonly jitterMs?: number;
    }
  | {
      readonly kind: 'throttle';
      /** Throughput ceiling in bytes per second, > 0. */
      readonly bytesPerSec: number;
    }
  | {
      readonly kind: 'slice';
      /** Size of each piece in bytes, an integer >= 1. */
      readonly bytes: number;
      /** Pause between two pieces, in ms, >= 0. @default 1 */
      readonly gapMs?: number;
    }
  | {
      readonly kind: 'limit';
      /** Bytes still forwarded before the link ends, an integer >= 0. */
      readonly bytes: number;
      /** How the link ends: `fin` (orderly end of both sockets) or `rst` (reset). @default 'fin' */
      readonly then?: 'fin' | 'rst';
    };

/**
 * The name of a {@link Fault}.
 *
 * @example
 * ```ts
 * const kind: FaultKind = 'stall';
 * ```
 */
export type FaultKind = Fault['kind'];

/**
 * How a proxy treats new TCP connections: `pass` links them to the target, `refuse` resets them
 * at once, `hang` accepts them and then never connects upstream nor forwards a byte (a handshake
 * that never completes).
 *
 * @example
 * ```ts
 * proxy.accept('hang');
 * ```
 */
export type AcceptMode = 'pass' | 'refuse' | 'hang';

/**
 * A fault with its defaults filled in, as the proxy's pipes use it.
 *
 * @example
 * ```ts
 * const fault: NormalizedFault = normalizeFault({ kind: 'slice', bytes: 8 }); // gapMs: 1
 * ```
 */
export type NormalizedFault =
  | { readonly kind: 'pass' | 'blackhole' | 'stall' }
  | { readonly kind: 'delay'; readonly ms: number; readonly jitterMs: number }
  | { readonly kind: 'throttle'; readonly bytesPerSec: number }
  | { readonly kind: 'slice'; readonly bytes: number; readonly gapMs: number }
  | { readonly kind: 'limit'; readonly bytes: number; readonly then: 'fin' | 'rst' };

const KINDS: readonly FaultKind[] = ['pass', 'blackhole', 'stall', 'delay', 'throttle', 'slice', 'limit'];

/**
 * Checks a fault given by a test and fills in its defaults; throws {@link InvalidOptionError}
 * with the offending field.
 *
 * @example
 * ```ts
 * normalizeFault({ kind: 'delay', ms: 50 }); // { kind: 'delay', ms: 50, jitterMs: 0 }
 * ```
 */
export function normalizeFault(fault: Fault): NormalizedFault {
  if (typeof fault !== 'object' || fault === null) {
    throw new InvalidOptionError('fault', 'an object with a `kind`', fault);
  }
  const kind = checkOneOf('kind', fault.kind, KINDS);
  switch (fault.kind) {
    case 'delay':
      return { kind: 'delay', ms: checkNumber('ms', fault.ms, 0), jitterMs: checkNumber('jitterMs', fault.jitterMs ?? 0, 0) };
    case 'throttle':
      return { kind: 'throttle', bytesPerSec: checkNumber('bytesPerSec', fault.bytesPerSec, 0, true) };
    case 'slice':
      return { kind: 'slice', bytes: checkInteger('bytes', fault.bytes, 1), gapMs: checkNumber('gapMs', fault.gapMs ?? 1, 0) };
    case 'limit':
      return {
        kind: 'limit',
        bytes: checkInteger('bytes', fault.bytes, 0),
        then: checkOneOf('then', fault.then ?? 'fin', ['fin', 'rst'] as const),
      };
    default:
      return { kind: kind as 'pass' | 'blackhole' | 'stall' };
  }
}

/**
 * Checks a {@link Direction} given by a test.
 *
 * @example
 * ```ts
 * checkDirection('sideways'); // throws InvalidOptionError
 * ```
 */
export function checkDirection(direction: unknown): Direction {
  return checkOneOf('direction', direction, ['up', 'down', 'both'] as const);
}
