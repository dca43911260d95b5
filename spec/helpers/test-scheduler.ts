import { TestScheduler, type RunHelpers } from 'rxjs/testing';

/**
 * run() with a frame limit: a timer loop that never ends (a retry or expiry that should have
 * been cancelled) fails the test on its assertions instead of hanging it.
 */
class BoundedTestScheduler extends TestScheduler {
  override run<T>(callback: (helpers: RunHelpers) => T): T {
    return super.run((helpers) => {
      this.maxFrames = 100_000;
      return callback(helpers);
    });
  }
}

/** A TestScheduler for the virtual-time specs: bounded run(), deep-equal assertions. */
export function newScheduler(): TestScheduler {
  return new BoundedTestScheduler((actual, expected) => expect(actual).toEqual(expected));
}
