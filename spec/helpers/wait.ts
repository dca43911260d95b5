import { firstValueFrom, filter, timeout, type Observable } from 'rxjs';

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

/**
 * Polls `check` on a short interval until it returns a truthy value; rejects after `within` ms
 * with `what` in the message. For conditions that no event announces (counts at a server).
 */
export async function waitFor<T>(check: () => T | undefined | false, what: string, within = 5000): Promise<T> {
  const deadline = Date.now() + within;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${within} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The first value of `source$` that passes `predicate`, within `within` ms. */
export function next<T>(source$: Observable<T>, predicate: (value: T) => boolean = () => true, within = 5000): Promise<T> {
  return firstValueFrom(source$.pipe(filter(predicate), timeout({ first: within })));
}
