import { Scope } from './scope';

/**
 * An auto-dispose registry, as graphql-ws's tests have: everything a test creates registers its
 * teardown in `testScope`, and `afterEach` runs them all (newest first, all of them even if one
 * fails), so a failing test leaks nothing.
 */
export const testScope = new Scope();

export function onDispose(teardown: () => unknown): void {
  testScope.defer(teardown);
}

/** Registers `teardown(resource)` for `afterEach` and returns `resource`. */
export function track<T>(resource: T, teardown: (resource: T) => unknown): T {
  return testScope.add(resource, teardown);
}

afterEach(() => testScope.dispose());
