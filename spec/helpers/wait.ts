import { firstValueFrom, filter, timeout, type Observable } from 'rxjs';

/**
 * The suite's one wait, one sleep and one deferred. Free of Jest, so the reliability scenarios
 * (which also run outside Jest, in `spec/reliability/measure.ts`) share them.
 */

/** A promise with its settlers exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const waiters = new Set<() => void>();

/** Re-evaluates every pending {@link waitFor} now: recorders call it when they record something. */
export function poke(): void {
  for (const waiter of [...waiters]) waiter();
}

/** How often a pending {@link waitFor} re-evaluates its check without a poke. */
const POLL_MS = 5;

/**
 * Resolves with the first truthy value of `check`, evaluated now, at every {@link poke} and every
 * few ms (for state nobody records, such as `socket.state` or counts at a server), and once more
 * at the deadline; rejects after `within` ms naming `what`, or as soon as `check` throws.
 */
export function waitFor<T>(check: () => T | undefined | null | false, what: string, within = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(deadline);
      clearInterval(poll);
      waiters.delete(waiter);
    };
    const waiter = (): void => {
      let value: T | undefined | null | false;
      try {
        value = check();
      } catch (error) {
        done();
        return reject(error);
      }
      if (!value) return;
      done();
      resolve(value);
    };
    const deadline = setTimeout(() => {
      waiter(); // a last look: the condition may have come true since the last poll
      if (!waiters.has(waiter)) return;
      done();
      reject(new Error(`Timed out after ${within} ms waiting for ${what}`));
    }, within);
    const poll = setInterval(waiter, POLL_MS);
    waiters.add(waiter);
    waiter();
  });
}

/**
 * Resolves after `ms` of real time. Only to prove that something does NOT happen within a window
 * (where no FIFO barrier can prove it), or to pace a load; never to wait for something an event
 * announces.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The first value of `source$` that passes `predicate`, within `within` ms. */
export function next<T>(source$: Observable<T>, predicate: (value: T) => boolean = () => true, within = 5000): Promise<T> {
  return firstValueFrom(source$.pipe(filter(predicate), timeout({ first: within })));
}
