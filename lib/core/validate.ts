// The checks every option goes through, with p-queue style messages:
// ``Expected `buffer.size` to be an integer >= 0, got `-1` (number)``.

/**
 * The longest delay a timer can have, in milliseconds (2^31 - 1): Node (and browsers) run a longer
 * one after 1 ms. Finite durations above it are rejected; `Infinity`, where allowed, means no timer.
 */
export const MAX_DELAY = 2147483647;

/** Throws a TypeError or RangeError whose message names the option, the expectation and the value. */
export function invalid(name: string, expected: string, value: unknown, Kind: ErrorConstructor = TypeError): never {
  throw new Kind(`Expected \`${name}\` to be ${expected}, got ${show(value)}`);
}

/** A value as messages show it: `` `value` (type) ``, strings escaped, objects by their class. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `\`${JSON.stringify(value).slice(1, -1)}\` (string)`;
  if (typeof value === 'function') return '`function` (function)';
  if (value === null) return '`null` (null)';
  if (typeof value === 'object') return `\`${Object.prototype.toString.call(value).slice(8, -1)}\` (object)`;
  return `\`${String(value)}\` (${typeof value})`;
}

/**
 * Validates a number option: `min` inclusive unless `exclusive`; `integer`; at most `max` (named in
 * the message only when exceeded); `Infinity` only if allowed.
 */
export function checkNumber(
  name: string,
  value: unknown,
  { min, exclusive = false, integer = false, infinity = false, max }: { min: number; exclusive?: boolean; integer?: boolean; infinity?: boolean; max?: number },
): void {
  if (value === undefined) return;
  const kind = integer ? 'an integer' : 'a number';
  const orInfinity = infinity ? ' (or Infinity)' : '';
  const expected = `${kind} ${exclusive ? '>' : '>='} ${min}${orInfinity}`;
  if (typeof value !== 'number' || Number.isNaN(value)) invalid(name, expected, value);
  if (value === Infinity && infinity) return;
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) invalid(name, expected, value, RangeError);
  if (exclusive ? value <= min : value < min) invalid(name, expected, value, RangeError);
  if (max !== undefined && value > max) {
    invalid(name, `${kind} ${exclusive ? '>' : '>='} ${min} and <= ${max}${orInfinity}`, value, RangeError);
  }
}

/** Validates a duration in milliseconds: a timer's delay, so at most {@link MAX_DELAY}. */
export function checkDelay(name: string, value: unknown, { positive = false, infinity = false }: { positive?: boolean; infinity?: boolean } = {}): void {
  checkNumber(name, value, { min: 0, exclusive: positive, infinity, max: MAX_DELAY });
}

export function checkScheduler(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'object' || value === null || typeof (value as { schedule?: unknown }).schedule !== 'function')) {
    invalid(name, 'an RxJS scheduler', value);
  }
}

/** Validates a function option; `undefined` passes unless `required`. */
export function checkFunction(name: string, value: unknown, required = false): void {
  if ((required || value !== undefined) && typeof value !== 'function') invalid(name, 'a function', value);
}

export function checkObject(name: string, value: unknown, allowFalse: boolean): value is Record<string, unknown> | undefined {
  if (value === undefined || (allowFalse && value === false)) return value === undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid(name, allowFalse ? 'an object or false' : 'an object', value);
  }
  return true;
}

/** Validates that `value` is a plain options object (not null, an array or a function). */
export function checkOptionsObject(name: string, value: unknown): asserts value is Record<string, unknown> {
  checkObject(name, value, false);
  if (value === undefined) invalid(name, 'an object', value);
}

/**
 * Rejects keys of `options` that are not in `known`, suggesting the nearest known key for a near
 * miss. `prefix` names the object in messages (`'buffer.'`). With `nearMissesOnly`, only near
 * misses are rejected: an open-ended object (`wsOptions`, which `ws` passes on to `http` and `tls`).
 */
export function checkKeys(prefix: string, options: Record<string, unknown>, known: readonly string[], nearMissesOnly = false): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const suggestion = nearest(key, known);
    if (suggestion !== undefined) throw new TypeError(`Unknown option \`${prefix}${key}\`: did you mean \`${prefix}${suggestion}\`?`);
    if (!nearMissesOnly) {
      throw new TypeError(`Unknown option \`${prefix}${key}\` (the options are ${known.map((k) => `\`${prefix}${k}\``).join(', ')})`);
    }
  }
}

/** The known name `key` is a near miss of: equal but for case, or within a small edit distance. */
function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    if (name.toLowerCase() === key.toLowerCase()) return name;
    // Short names are near everything: `ca` is 2 edits from any 2-letter key.
    const allowed = name.length <= 3 ? 0 : name.length <= 5 ? 1 : 2;
    const distance = editDistance(key, name);
    if (distance <= allowed && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const above = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      row[j] = d;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}


/** RFC 7230 3.2.6: an HTTP token. RFC 6455 4.1: a subprotocol is one, as `ws` and browsers check; so is a header name. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;
