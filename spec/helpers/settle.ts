/**
 * Looking at a promise's outcome without hanging the test on it. Free of Jest, so the reliability
 * kit (which also runs outside Jest, in `measure.ts`) shares it.
 */

const PENDING = Symbol('pending');

/** Whether `promise` has settled by now, inspected without waiting for anything else. */
export async function settledNow(promise: Promise<unknown>): Promise<'fulfilled' | 'rejected' | 'pending'> {
  return Promise.race([promise, Promise.resolve(PENDING)]).then(
    (value) => (value === PENDING ? 'pending' : 'fulfilled'),
    () => 'rejected',
  );
}

/** Resolves with the promise's outcome, or rejects naming `what` if it has not settled in `within` ms. */
export async function settleWithin<T>(promise: Promise<T>, what: string, within = 5000): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${within} ms`)), within);
  });
  try {
    const [result] = await Promise.race([Promise.allSettled([promise]), late]);
    return result as PromiseSettledResult<T>;
  } finally {
    clearTimeout(timer);
  }
}
