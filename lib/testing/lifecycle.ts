import type { Server } from 'node:net';
import { DisposedError } from './errors.js';

/**
 * Lifecycle helpers shared by the kit's servers: handing arrivals to waiters until disposal, and
 * closing a server until its handle is really gone.
 */

/**
 * A hand-off queue: items that arrive before anyone asks wait in order; callers that ask before
 * an item arrives wait in order. Lets `waitForConnection()` return the first unclaimed client whether
 * it connected before or after the call.
 *
 * @internal
 * @example
 * ```ts
 * const arrivals = new HandOff<WebSocket>('test server');
 * wss.on('connection', (ws) => arrivals.put(ws));
 * const first = await arrivals.take();
 * ```
 */
export class HandOff<T> {
  private readonly items: T[] = [];
  private readonly takers: Array<{ resolve(item: T): void; reject(error: Error): void }> = [];
  private disposed = false;

  /** @param resource - named in the {@link DisposedError} of takers still waiting at `dispose()`. */
  constructor(private readonly resource: string) {}

  /** Hands `item` to the oldest waiting taker, or keeps it for the next one. */
  put(item: T): void {
    const taker = this.takers.shift();
    if (taker === undefined) this.items.push(item);
    else taker.resolve(item);
  }

  /** The oldest unclaimed item, now or when it arrives. */
  take(): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    if (this.disposed) return Promise.reject(new DisposedError(this.resource));
    return new Promise((resolve, reject) => this.takers.push({ resolve, reject }));
  }

  /** Rejects every waiting taker; later takes reject at once unless items remain. */
  dispose(): void {
    this.disposed = true;
    for (const taker of this.takers.splice(0)) taker.reject(new DisposedError(this.resource));
  }
}

/**
 * Closes `server` (an `http.Server` too) and resolves once its handle has been released. Open
 * connections must be destroyed by the caller, or this waits for them.
 *
 * @internal
 * @example
 * ```ts
 * for (const socket of sockets) socket.destroy();
 * await closeServer(server);
 * ```
 */
export async function closeServer(server: Server): Promise<void> {
  // `close()` calls back on the next tick, while libuv releases the listening handle only in the
  // loop's close phase: a leak check run right after the callback would still see it.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await released();
}

/**
 * Resolves after the close phase of the current event-loop iteration has run: a first
 * `setImmediate` may run before it in the same iteration, a second one always runs after.
 *
 * @internal
 * @example
 * ```ts
 * socket.destroy();
 * await released();
 * ```
 */
export async function released(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
