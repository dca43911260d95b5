import { InvalidOptionError } from './errors.js';

/**
 * Small guards shared by the testing kit's factories. Each throws an {@link InvalidOptionError}
 * naming the option, so the failing line of a test reads as a sentence.
 */

/**
 * Asserts that `value` is an integer within `[min, max]`.
 *
 * @example
 * ```ts
 * const port = checkInteger('target.port', options.port, 1, 65535);
 * ```
 */
export function checkInteger(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const rule = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new InvalidOptionError(option, rule, value);
  }
  return value;
}

/**
 * Asserts that `value` is a finite number `>= min` (or `> min` when `exclusive`).
 *
 * @example
 * ```ts
 * const ms = checkNumber('ms', fault.ms, 0);
 * ```
 */
export function checkNumber(option: string, value: unknown, min: number, exclusive = false): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (exclusive ? value > min : value >= min);
  if (!ok) throw new InvalidOptionError(option, `a finite number ${exclusive ? '>' : '>='} ${min}`, value);
  return value;
}

/**
 * Asserts that `value` is one of `choices`.
 *
 * @example
 * ```ts
 * const how = checkOneOf('then', fault.then, ['fin', 'rst'] as const);
 * ```
 */
export function checkOneOf<T extends string>(option: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new InvalidOptionError(option, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}
