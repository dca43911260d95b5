/**
 * An auto-dispose registry, as graphql-ws's tests have: everything a test creates registers its
 * teardown here, and `afterEach` runs them all (in reverse order), so a failing test leaks nothing.
 */
const disposers: Array<() => unknown> = [];

export function onDispose(dispose: () => unknown): void {
  disposers.push(dispose);
}

/** Registers `resource.dispose()` / `resource.close()` and returns the resource. */
export function disposable<T extends { dispose(): unknown } | { close(): unknown }>(resource: T): T {
  onDispose(() => ('dispose' in resource ? resource.dispose() : resource.close()));
  return resource;
}

afterEach(async () => {
  const pending = disposers.splice(0).reverse();
  for (const dispose of pending) await dispose();
});
