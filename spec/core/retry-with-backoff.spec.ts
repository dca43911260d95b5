import { config, defer, Observable, type Subscription } from 'rxjs';
import { retryWithBackoff, RetriesExhaustedError, type RetryInfo } from '../../lib/index.js';
import { newScheduler } from '../helpers/test-scheduler.js';

// retryWithBackoff in virtual time. Delays with jitter off: retry k waits
// min(maxDelay, initialDelay * factor^(k - 1)) after the failure that caused it.

const boom = new Error('boom');

/** Matches a RetriesExhaustedError by class and fields, for marble assertions. */
function exhausted(attempts: number, cause: unknown): unknown {
  return expect.objectContaining({
    constructor: RetriesExhaustedError,
    name: 'RetriesExhaustedError',
    attempts,
    cause,
    message: `Gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${cause instanceof Error ? cause.message : String(cause)}`,
  });
}

describe('retryWithBackoff: resubscription times (jitter off)', () => {
  test('resubscribes after 10, 20, 40, 80 ms: exactly initialDelay * 2^(k - 1) after each failure', () => {
    // No scheduler option: asyncScheduler, which run() drives in virtual time.
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--#', undefined, boom);
      // failures at 2, 14, 36, 78; resubscriptions at 2+10, 14+20, 36+40; unsubscribed at 100
      const sub = '^' + '-'.repeat(99) + '!';
      expectObservable(source.pipe(retryWithBackoff({ initialDelay: 10, jitter: false, resetAfter: Infinity })), sub).toBe('');
      expectSubscriptions(source.subscriptions).toBe([
        '^-!',
        '------------^-!',
        '----------------------------------^-!',
        '----------------------------------------------------------------------------^-!',
      ]);
    });
  });

  test('uses the scheduler option for every delay', () => {
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectSubscriptions, expectObservable }) => {
      const source = cold('-#', undefined, boom);
      const result = source.pipe(retryWithBackoff({ initialDelay: 5, factor: 3, maxAttempts: 3, jitter: false, scheduler }));
      // fail at 1 → +5 → 6, fail at 7 → +15 → 22, fail at 23: third attempt spent
      expectObservable(result).toBe('-----------------------#', undefined, exhausted(3, boom));
      expectSubscriptions(source.subscriptions).toBe(['^!', '------^!', '----------------------^!']);
    });
  });

  test('values of every attempt pass through in order, at their times', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b#', undefined, boom);
      const result = source.pipe(retryWithBackoff({ initialDelay: 2, maxAttempts: 2, jitter: false, resetAfter: Infinity }));
      // attempt 1: a@0 b@2 error@3; retry at 5: a@5 b@7 error@8 → exhausted
      expectObservable(result).toBe('a-b--a-b#', undefined, exhausted(2, boom));
      expectSubscriptions(source.subscriptions).toBe(['^--!', '-----^--!']);
    });
  });

  test('the delays are capped at maxDelay', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('#', undefined, boom);
      const result = source.pipe(retryWithBackoff({ initialDelay: 4, maxDelay: 10, maxAttempts: 5, jitter: false }));
      // waits 4, 8, 10, 10: attempts at 0, 4, 12, 22, 32
      expectObservable(result).toBe('--------------------------------#', undefined, exhausted(5, boom));
      expectSubscriptions(source.subscriptions).toBe([
        '(^!)',
        '----(^!)',
        '------------(^!)',
        '----------------------(^!)',
        '--------------------------------(^!)',
      ]);
    });
  });

  test('with jitter, each delay is random() * the capped delay, from the injected source', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('#', undefined, boom);
      const picks = [0.5, 0.25, 0];
      const random = jest.fn(() => picks.shift() as number);
      const result = source.pipe(retryWithBackoff({ initialDelay: 40, maxAttempts: 4, random }));
      // 0.5*40 = 20, 0.25*80 = 20, 0*160 = 0: attempts at 0, 20, 40, 40
      expectObservable(result).toBe('----------------------------------------#', undefined, exhausted(4, boom));
      expectSubscriptions(source.subscriptions).toBe([
        '(^!)',
        '--------------------(^!)',
        '----------------------------------------(^!)',
        '----------------------------------------(^!)',
      ]);
    });
  });

  test('a source that completes ends the result with complete, no retry', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-|');
      expectObservable(source.pipe(retryWithBackoff({ initialDelay: 1, jitter: false }))).toBe('-a-|');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });
});

describe('retryWithBackoff: maxAttempts', () => {
  test('maxAttempts: 1 never retries: RetriesExhaustedError(1) at the first failure', () => {
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--#', undefined, boom);
      expectObservable(source.pipe(retryWithBackoff({ maxAttempts: 1, jitter: false }))).toBe('--#', undefined, exhausted(1, boom));
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  test('maxAttempts: 3 means 3 subscriptions in all; the error carries attempts and the last cause', () => {
    const causes = [new Error('first'), new Error('second'), new Error('third')];
    let caught: unknown;
    const subscriptions: number[] = [];
    newScheduler().run(({ expectObservable, flush }) => {
      const failing = (): Observable<never> => {
        let n = 0;
        return defer(() => new Observable<never>((s) => s.error(causes[n++])));
      };
      // attempts at 0, 1 (+1), 3 (+2): the third failure is the last
      expectObservable(failing().pipe(retryWithBackoff({ initialDelay: 1, maxAttempts: 3, jitter: false }))).toBe(
        '---#',
        undefined,
        exhausted(3, causes[2]),
      );
      let n = 0;
      defer(() => new Observable<never>((s) => (subscriptions.push(n), s.error(causes[n++]))))
        .pipe(retryWithBackoff({ initialDelay: 1, maxAttempts: 3, jitter: false }))
        .subscribe({ error: (e: unknown) => (caught = e) });
      flush();
    });
    expect(subscriptions).toEqual([0, 1, 2]);
    expect(caught).toBeInstanceOf(RetriesExhaustedError);
    expect(caught).toBeInstanceOf(Error);
    const error = caught as RetriesExhaustedError;
    expect(error.name).toBe('RetriesExhaustedError');
    expect(error.attempts).toBe(3);
    expect(error.cause).toBe(causes[2]);
    expect(error.message).toBe('Gave up after 3 attempts: third');
  });

  test('a non-Error cause is described with String()', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const source = cold('#', undefined, 'socket gone');
      expectObservable(source.pipe(retryWithBackoff({ maxAttempts: 1 }))).toBe('#', undefined, exhausted(1, 'socket gone'));
    });
  });
});

describe('retryWithBackoff: shouldRetry', () => {
  test('false passes the original error through unchanged, at once, with no retry', () => {
    const fatal = new Error('fatal');
    const shouldRetry = jest.fn(() => false);
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-#', { a: 1 }, fatal);
      expectObservable(source.pipe(retryWithBackoff({ shouldRetry, initialDelay: 1 }))).toBe('-a-#', { a: 1 }, fatal);
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    expect(shouldRetry.mock.calls).toEqual([[fatal]]);
  });

  test('is asked once per failure with that failure, and decides per error', () => {
    const errors = [new Error('retry me'), new Error('retry me too'), new Error('stop')];
    const seen: unknown[] = [];
    newScheduler().run(({ expectObservable, flush }) => {
      let n = 0;
      const source = defer(() => new Observable<never>((s) => s.error(errors[n++])));
      const shouldRetry = (error: unknown): boolean => {
        seen.push(error);
        return (error as Error).message !== 'stop';
      };
      expectObservable(source.pipe(retryWithBackoff({ shouldRetry, initialDelay: 2, jitter: false }))).toBe('------#', undefined, errors[2]);
      flush();
      expect(n).toBe(3);
    });
    expect(seen).toEqual(errors);
  });

  test('a fatal error on the last allowed attempt passes through rather than RetriesExhaustedError', () => {
    const fatal = new Error('fatal');
    newScheduler().run(({ cold, expectObservable }) => {
      const source = cold('#', undefined, fatal);
      expectObservable(source.pipe(retryWithBackoff({ maxAttempts: 1, shouldRetry: () => false }))).toBe('#', undefined, fatal);
    });
  });

  // Regression, fixed (lib/reconnect.ts, the source's `error` handler): a throwing `shouldRetry` (or `onRetry`)
  // throws inside the inner subscriber's error callback. RxJS reports it as an unhandled error
  // and the result neither retries nor errors: it hangs, and in connect() the connection is dead
  // with no error on messages$. RxJS's own operators send a throwing callback's error downstream.
  // Expected: the result errors with the thrown error.
  test('a shouldRetry that throws errors the result with what it threw', () => {
    const thrown = new Error('predicate failed');
    const unhandled: unknown[] = [];
    const outcome: unknown[] = [];
    config.onUnhandledError = (error) => void unhandled.push(error);
    try {
      newScheduler().run(({ cold, flush }) => {
        const shouldRetry = (): boolean => {
          throw thrown;
        };
        cold('--#', undefined, boom)
          .pipe(retryWithBackoff({ shouldRetry, initialDelay: 1 }))
          .subscribe({ error: (error: unknown) => void outcome.push(error), complete: () => void outcome.push('complete') });
        flush();
      });
    } finally {
      config.onUnhandledError = null;
    }
    expect({ outcome, unhandled }).toEqual({ outcome: [thrown], unhandled: [] });
  });
});

describe('retryWithBackoff: resetAfter', () => {
  test('a source that emitted and stayed up resetAfter ms starts the count again (delays restart at initialDelay)', () => {
    const onReset = jest.fn();
    newScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      // attempt 1 fails at once (fail #1, wait 10), attempt 2 emits at 10 and stays up until 30:
      // resetAfter 15 passed at 25, so its failure is #1 again → wait 10, not 20.
      // Then attempt 3 fails at 40 (#2 since the reset, wait 20) and attempt 4 starts at 60:
      // without the reset, that failure would have been the third and exhausted maxAttempts 3.
      const source = cold('#', undefined, boom);
      const up = cold('a-------------------#', undefined, boom);
      const last = cold('-');
      let n = 0;
      const sources = [source, up, source, last];
      const result = defer(() => sources[n++] as typeof source).pipe(
        retryWithBackoff({ initialDelay: 10, maxAttempts: 3, resetAfter: 15, jitter: false, onReset }),
      );
      expectObservable(result, '^' + '-'.repeat(69) + '!').toBe('----------a');
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '----------------------------------------(^!)']);
      expectSubscriptions(up.subscriptions).toBe('----------^-------------------!');
      expectSubscriptions(last.subscriptions).toBe('------------------------------------------------------------^---------!');
      flush();
      expect(n).toBe(4);
    });
    expect(onReset).toHaveBeenCalledTimes(1);
  });

  test('a drop before resetAfter counts as a failed attempt (delays keep growing, attempts run out)', () => {
    const onReset = jest.fn();
    newScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a----#', undefined, boom); // emits, then fails 5 ms later: under resetAfter 6
      const result = source.pipe(retryWithBackoff({ initialDelay: 10, maxAttempts: 3, resetAfter: 6, jitter: false, onReset }));
      // fail at 5 (+10) → 15; fail at 20 (+20) → 40; fail at 45: exhausted
      expectObservable(result).toBe('a--------------a------------------------a----#', undefined, exhausted(3, boom));
      expectSubscriptions(source.subscriptions).toBe([
        '^----!',
        '---------------^----!',
        '----------------------------------------^----!',
      ]);
    });
    expect(onReset).not.toHaveBeenCalled();
  });

  test('the reset timer starts at the first value, not at subscription', () => {
    const onReset = jest.fn();
    const times: number[] = [];
    const scheduler = newScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-----a---b----');
      expectObservable(
        source.pipe(retryWithBackoff({ resetAfter: 7, onReset: () => (onReset(), times.push(scheduler.now())) })),
        '^-------------!',
      ).toBe('-----a---b----');
    });
    expect(onReset).toHaveBeenCalledTimes(1);
    expect(times).toEqual([12]);
  });

  test('resetAfter: Infinity never resets', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a' + '-'.repeat(99) + '#', undefined, boom);
      const result = source.pipe(retryWithBackoff({ initialDelay: 1, maxAttempts: 2, resetAfter: Infinity, jitter: false }));
      // up 100 ms each time, never reset: the second failure exhausts
      expectObservable(result).toBe('a' + '-'.repeat(100) + 'a' + '-'.repeat(99) + '#', undefined, exhausted(2, boom));
    });
  });

  test('a source that errors or completes cancels its pending reset', () => {
    newScheduler().run(({ cold, expectObservable, flush }) => {
      const onReset = jest.fn();
      expectObservable(cold('a-|').pipe(retryWithBackoff({ resetAfter: 5, onReset }))).toBe('a-|');
      expectObservable(cold('a-#', undefined, boom).pipe(retryWithBackoff({ resetAfter: 5, onReset, maxAttempts: 1 }))).toBe(
        'a-#',
        undefined,
        exhausted(1, boom),
      );
      flush();
      expect(onReset).not.toHaveBeenCalled();
    });
  });
});

describe('retryWithBackoff: onRetry', () => {
  test('reports each scheduled retry with the error, the number of the next attempt and the delay, before the delay starts', () => {
    const calls: Array<RetryInfo & { at: number }> = [];
    const scheduler = newScheduler();
    const errors = [new Error('e1'), new Error('e2'), new Error('e3')];
    scheduler.run(({ expectObservable }) => {
      let n = 0;
      const source = defer(() => new Observable<never>((s) => s.error(errors[n++])));
      const onRetry = (info: RetryInfo): void => void calls.push({ ...info, at: scheduler.now() });
      expectObservable(source.pipe(retryWithBackoff({ initialDelay: 3, maxAttempts: 3, jitter: false, onRetry }))).toBe(
        '---------#',
        undefined,
        exhausted(3, errors[2]),
      );
    });
    expect(calls).toEqual([
      { error: errors[0], attempt: 2, delay: 3, at: 0 },
      { error: errors[1], attempt: 3, delay: 6, at: 3 },
    ]);
  });

  test('reports the jittered delay that is actually waited', () => {
    const calls: RetryInfo[] = [];
    newScheduler().run(({ cold, expectSubscriptions, expectObservable }) => {
      const source = cold('#', undefined, boom);
      const result = source.pipe(retryWithBackoff({ initialDelay: 100, maxAttempts: 2, random: () => 0.25, onRetry: (i) => void calls.push(i) }));
      expectObservable(result).toBe('-------------------------#', undefined, exhausted(2, boom));
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '-------------------------(^!)']);
    });
    expect(calls).toEqual([{ error: boom, attempt: 2, delay: 25 }]);
  });

  test('is not called for an error that is not retried, nor for the exhausting failure', () => {
    const onRetry = jest.fn();
    newScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('#', undefined, boom).pipe(retryWithBackoff({ shouldRetry: () => false, onRetry }))).toBe('#', undefined, boom);
      expectObservable(cold('#', undefined, boom).pipe(retryWithBackoff({ maxAttempts: 1, onRetry }))).toBe('#', undefined, exhausted(1, boom));
    });
    expect(onRetry).not.toHaveBeenCalled();
  });
});

describe('retryWithBackoff: unsubscribe', () => {
  test('unsubscribing during the delay cancels the retry and leaves no scheduled action', () => {
    const scheduler = newScheduler();
    const pending: number[][] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const source = cold('--#', undefined, boom);
      // fails at 2; the retry would be at 102; unsubscribe at 50
      const result = source.pipe(retryWithBackoff({ initialDelay: 100, jitter: false }));
      expectObservable(result, '^-------------------------------------------------!').toBe('');
      scheduler.schedule(() => void pending.push(scheduler.actions.map((a) => a.delay)), 20);
      scheduler.schedule(() => void pending.push(scheduler.actions.map((a) => a.delay)), 51);
      flush();
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
    // at 20: the retry (102), the unsubscription (50) and the second probe (51) wait;
    // at 51: nothing — the retry was removed from the scheduler, not merely skipped later
    expect(pending).toEqual([[50, 51, 102], []]);
  });

  test('unsubscribing while the source is up unsubscribes it and cancels the reset timer', () => {
    const scheduler = newScheduler();
    const onReset = jest.fn();
    let after: number[] = [];
    scheduler.run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const source = cold('a---------');
      expectObservable(source.pipe(retryWithBackoff({ resetAfter: 100, onReset })), '^----!').toBe('a----');
      scheduler.schedule(() => void (after = scheduler.actions.map((a) => a.delay)), 6);
      flush();
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
    expect(after).toEqual([]);
    expect(onReset).not.toHaveBeenCalled();
  });

  test('unsubscribing from onRetry schedules nothing', () => {
    const scheduler = newScheduler();
    let subscription: Subscription | undefined;
    let resubscribed = 0;
    scheduler.run(({ flush }) => {
      let n = 0;
      const source = defer(() => {
        if (n++ > 0) resubscribed++;
        return new Observable<never>((s) => {
          scheduler.schedule(() => s.error(boom), 1);
        });
      });
      subscription = source
        .pipe(retryWithBackoff({ initialDelay: 5, jitter: false, onRetry: () => subscription?.unsubscribe() }))
        .subscribe();
      flush();
      expect(scheduler.actions).toEqual([]);
    });
    expect(resubscribed).toBe(0);
    expect(subscription?.closed).toBe(true);
  });
});

describe('retryWithBackoff: validation at creation', () => {
  const cases: Array<[string, Record<string, unknown>, ErrorConstructor, string]> = [
    ['initialDelay', { initialDelay: -1 }, RangeError, 'Expected `initialDelay` to be a number >= 0, got `-1` (number)'],
    ['initialDelay', { initialDelay: '5' }, TypeError, 'Expected `initialDelay` to be a number >= 0, got `5` (string)'],
    ['initialDelay', { initialDelay: NaN }, TypeError, 'Expected `initialDelay` to be a number >= 0, got `NaN` (number)'],
    ['maxDelay', { maxDelay: -1 }, RangeError, 'Expected `maxDelay` to be a number >= 0, got `-1` (number)'],
    ['maxDelay', { maxDelay: Infinity }, RangeError, 'Expected `maxDelay` to be a number >= 0, got `Infinity` (number)'],
    [
      'maxDelay below initialDelay',
      { initialDelay: 100, maxDelay: 50 },
      RangeError,
      'Expected `maxDelay` to be a number >= `initialDelay` (100), got `50` (number)',
    ],
    ['factor', { factor: 0 }, RangeError, 'Expected `factor` to be a number >= 1, got `0` (number)'],
    ['factor', { factor: 0.5 }, RangeError, 'Expected `factor` to be a number >= 1, got `0.5` (number)'],
    ['factor', { factor: null }, TypeError, 'Expected `factor` to be a number >= 1, got `null` (null)'],
    ['maxAttempts', { maxAttempts: 0 }, RangeError, 'Expected `maxAttempts` to be an integer >= 1 (or Infinity), got `0` (number)'],
    ['maxAttempts', { maxAttempts: 2.5 }, RangeError, 'Expected `maxAttempts` to be an integer >= 1 (or Infinity), got `2.5` (number)'],
    ['maxAttempts', { maxAttempts: -Infinity }, RangeError, 'Expected `maxAttempts` to be an integer >= 1 (or Infinity), got `-Infinity` (number)'],
    ['resetAfter', { resetAfter: -5 }, RangeError, 'Expected `resetAfter` to be a number >= 0 (or Infinity), got `-5` (number)'],
    ['jitter', { jitter: 'yes' }, TypeError, 'Expected `jitter` to be a boolean, got `yes` (string)'],
    ['jitter', { jitter: 1 }, TypeError, 'Expected `jitter` to be a boolean, got `1` (number)'],
    ['random', { random: 0.5 }, TypeError, 'Expected `random` to be a function, got `0.5` (number)'],
    ['shouldRetry', { shouldRetry: true }, TypeError, 'Expected `shouldRetry` to be a function, got `true` (boolean)'],
  ];

  test.each(cases)('%s: %p throws %p', (_name, options, Kind, message) => {
    const create = (): unknown => retryWithBackoff(options as never);
    expect(create).toThrow(Kind);
    expect(create).toThrow(new Kind(message));
    try {
      create();
    } catch (error) {
      expect((error as Error).constructor).toBe(Kind);
      expect((error as Error).message).toBe(message);
    }
  });

  test('boundary values are accepted', () => {
    expect(() => retryWithBackoff({ initialDelay: 0, maxDelay: 0, factor: 1, maxAttempts: 1, resetAfter: 0 })).not.toThrow();
    expect(() => retryWithBackoff({ maxAttempts: Infinity, resetAfter: Infinity, jitter: false, random: () => 0 })).not.toThrow();
    expect(() => retryWithBackoff()).not.toThrow();
  });
});
