/**
 * Options of {@link backoffDelay} (and of the `reconnect` option, which adds to them).
 *
 * @example
 * ```ts
 * const backoff: BackoffOptions = { initialDelay: 250, maxDelay: 5_000, factor: 3 };
 * [1, 2, 3, 4].map((retry) => backoffDelay(retry, { ...backoff, jitter: false })); // [250, 750, 2250, 5000]
 * ```
 */
export interface BackoffOptions {
  /**
   * Delay before the first retry, in milliseconds (>= 0 and <= 2147483647).
   * @default 1000
   */
  initialDelay?: number;
  /**
   * Cap on any delay, in milliseconds (>= `initialDelay` and <= 2147483647).
   * @default 30000
   */
  maxDelay?: number;
  /**
   * Growth factor between retries (>= 1).
   * @default 2
   */
  factor?: number;
  /**
   * Full jitter: pick the delay uniformly in [0, computed delay], which spreads reconnecting
   * clients so a restarted server is not hit by all of them at once.
   * @default true
   */
  jitter?: boolean;
  /**
   * Random source in [0, 1), for reproducible tests.
   * @default Math.random
   */
  random?: () => number;
}

/** The backoff's defaults, documented on {@link BackoffOptions}. */
export const BACKOFF_DEFAULTS = { initialDelay: 1000, maxDelay: 30000, factor: 2, jitter: true } as const;

/**
 * The delay before retry `retry` (1 = the first retry, that is the second attempt), in
 * milliseconds: `min(maxDelay, initialDelay * factor^(retry - 1))`, and with `jitter` a uniform
 * pick in [0, that]. A pure function of its arguments and the random source.
 *
 * @example
 * ```ts
 * backoffDelay(3, { initialDelay: 100, jitter: false }); // 400
 * backoffDelay(3, { initialDelay: 100, random: () => 0.5 }); // 200
 * ```
 */
export function backoffDelay(retry: number, options: BackoffOptions = {}): number {
  const {
    initialDelay = BACKOFF_DEFAULTS.initialDelay,
    maxDelay = BACKOFF_DEFAULTS.maxDelay,
    factor = BACKOFF_DEFAULTS.factor,
    jitter = BACKOFF_DEFAULTS.jitter,
    random = Math.random,
  } = options;
  const exponent = Math.max(0, retry - 1);
  // 0 * Infinity is NaN once factor^exponent overflows: a zero initial delay stays zero.
  const capped = initialDelay === 0 ? 0 : Math.min(maxDelay, initialDelay * Math.pow(factor, exponent));
  return jitter ? random() * capped : capped;
}
