import { backoffDelay } from '../../lib/index.js';

// backoffDelay(k) is the delay before retry k (k >= 1):
// min(maxDelay, initialDelay * factor^(k - 1)), and with jitter a uniform pick in [0, that].

describe('backoffDelay without jitter', () => {
  test('doubles from initialDelay: retries 1..6 with the defaults (1000, x2, cap 30000)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((k) => backoffDelay(k, { jitter: false }));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  test('follows initialDelay * factor^(k - 1) for a custom factor', () => {
    const delays = [1, 2, 3, 4].map((k) => backoffDelay(k, { initialDelay: 10, factor: 3, maxDelay: 1e6, jitter: false }));
    expect(delays).toEqual([10, 30, 90, 270]);
  });

  test('a non-integer factor grows geometrically', () => {
    const delays = [1, 2, 3].map((k) => backoffDelay(k, { initialDelay: 100, factor: 1.5, maxDelay: 1e6, jitter: false }));
    expect(delays).toEqual([100, 150, 225]);
  });

  test('caps at maxDelay exactly, from the first retry that would exceed it', () => {
    const options = { initialDelay: 100, maxDelay: 500, jitter: false };
    expect([1, 2, 3, 4, 5].map((k) => backoffDelay(k, options))).toEqual([100, 200, 400, 500, 500]);
  });

  test('a cap equal to initialDelay makes every delay the same', () => {
    const options = { initialDelay: 250, maxDelay: 250, jitter: false };
    expect([1, 2, 10].map((k) => backoffDelay(k, options))).toEqual([250, 250, 250]);
  });

  test('factor 1 is a constant delay', () => {
    const options = { initialDelay: 70, factor: 1, jitter: false };
    expect([1, 2, 3, 50].map((k) => backoffDelay(k, options))).toEqual([70, 70, 70, 70]);
  });

  test('initialDelay 0 means every retry is immediate', () => {
    expect([1, 2, 3].map((k) => backoffDelay(k, { initialDelay: 0, jitter: false }))).toEqual([0, 0, 0]);
  });

  test('stays at maxDelay for a retry count large enough to overflow factor^(k - 1)', () => {
    // 2^2000 is Infinity in doubles: the cap must still apply, never Infinity or NaN.
    expect(backoffDelay(2000, { initialDelay: 1, maxDelay: 4000, jitter: false })).toBe(4000);
  });

  // Regression, fixed (lib/backoff.ts, the `capped` line): 0 * Infinity is NaN, and Math.min(maxDelay, NaN) is
  // NaN. With `initialDelay: 0` and unlimited attempts, retry 1026 and later get a NaN delay; a
  // VirtualTimeScheduler drops a non-finite delay (the retry never happens) and setTimeout turns
  // it into 1 ms. Expected 0.
  test('initialDelay 0 stays 0 when factor^(k - 1) overflows to Infinity', () => {
    expect(backoffDelay(1100, { initialDelay: 0, jitter: false })).toBe(0);
  });

  test('retry 0 or below is treated as the first retry (never below initialDelay)', () => {
    expect(backoffDelay(0, { initialDelay: 100, jitter: false })).toBe(100);
    expect(backoffDelay(-3, { initialDelay: 100, jitter: false })).toBe(100);
  });

  test('is pure: the same arguments give the same delay and the options object is not touched', () => {
    const options = Object.freeze({ initialDelay: 40, factor: 2, maxDelay: 1000, jitter: false });
    expect(backoffDelay(3, options)).toBe(160);
    expect(backoffDelay(3, options)).toBe(160);
    expect(options).toEqual({ initialDelay: 40, factor: 2, maxDelay: 1000, jitter: false });
  });
});

describe('backoffDelay with full jitter', () => {
  test('is on by default: the computed delay is scaled by the random source', () => {
    expect(backoffDelay(3, { initialDelay: 100, random: () => 0.5 })).toBe(200);
  });

  test('random 0 gives 0: the lower bound of [0, delay]', () => {
    expect([1, 2, 3, 10].map((k) => backoffDelay(k, { initialDelay: 100, maxDelay: 800, random: () => 0 }))).toEqual([0, 0, 0, 0]);
  });

  test('a random just under 1 gives just under the capped delay: the upper bound', () => {
    const r = 1 - Number.EPSILON;
    const delays = [1, 2, 3, 4, 5].map((k) => backoffDelay(k, { initialDelay: 100, maxDelay: 800, random: () => r }));
    expect(delays).toEqual([100 * r, 200 * r, 400 * r, 800 * r, 800 * r]);
    for (const [i, cap] of [100, 200, 400, 800, 800].entries()) expect(delays[i]).toBeLessThan(cap);
  });

  test('jitter is applied after the cap (uniform in [0, maxDelay], not in [0, uncapped])', () => {
    expect(backoffDelay(20, { initialDelay: 100, maxDelay: 1000, random: () => 0.25 })).toBe(250);
  });

  test('calls the random source exactly once per delay, and not at all with jitter off', () => {
    const random = jest.fn(() => 0.5);
    backoffDelay(2, { random });
    expect(random).toHaveBeenCalledTimes(1);
    random.mockClear();
    backoffDelay(2, { random, jitter: false });
    expect(random).not.toHaveBeenCalled();
  });

  test('every pick of a sequence of randoms lies in [0, capped delay]', () => {
    const picks = [0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999999];
    for (let k = 1; k <= 8; k++) {
      const cap = Math.min(1500, 100 * 2 ** (k - 1));
      for (const p of picks) {
        const delay = backoffDelay(k, { initialDelay: 100, maxDelay: 1500, random: () => p });
        expect(delay).toBe(p * cap);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(cap);
      }
    }
  });

  test('with Math.random (the default source) stays within [0, capped delay]', () => {
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(4, { initialDelay: 10, maxDelay: 50 });
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(50);
    }
  });
});
