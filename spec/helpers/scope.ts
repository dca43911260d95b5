/**
 * The suite's one dispose registry. Free of Jest, so the reliability scenarios (which also run
 * outside Jest, in `spec/reliability/measure.ts`) use it directly; `dispose.ts` runs one per test
 * in `afterEach`.
 */

/** Teardowns run newest first; `dispose()` runs them all even if one fails, then throws the first failure. */
export class Scope {
  private readonly teardowns: Array<() => unknown> = [];

  /** Registers `teardown(resource)` and returns `resource`. */
  add<T>(resource: T, teardown: (resource: T) => unknown): T {
    this.teardowns.push(() => teardown(resource));
    return resource;
  }

  defer(teardown: () => unknown): void {
    this.teardowns.push(teardown);
  }

  async dispose(): Promise<void> {
    let failure: unknown;
    for (const teardown of this.teardowns.splice(0).reverse()) {
      try {
        await teardown();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
