import { Subscription, type Observable, type SchedulerLike } from 'rxjs';
import { closedByClient, ConnectTimeoutError } from '../core/errors.js';
import { checkDelay, checkKeys, checkOptionsObject } from '../core/validate.js';
import type { ConnectionState } from './rx-socket.js';

/** What {@link whenOpened} watches. */
interface Watched {
  readonly state: ConnectionState;
  readonly state$: Observable<ConnectionState>;
  readonly messages$: Observable<unknown>;
}

/**
 * `socket.opened({ timeout })`: resolves once the socket is open (at once if it is), holding the
 * connection meanwhile through a `messages$` subscription; rejects with the error that ends the
 * socket, the client's own close, or `ConnectTimeoutError` after `timeout` ms. Leaves nothing
 * subscribed or scheduled once settled.
 */
export function whenOpened(socket: Watched, scheduler: SchedulerLike, options: { timeout?: number }): Promise<void> {
  try {
    checkOptionsObject('options', options);
    checkKeys('', options, ['timeout']);
    checkDelay('timeout', options.timeout, { infinity: true });
  } catch (error) {
    return Promise.reject(error);
  }
  if (socket.state.status === 'open') return Promise.resolve();
  const { timeout = Infinity } = options;
  return new Promise<void>((resolve, reject) => {
    const waiting = new Subscription();
    const settle = (settler: () => void): void => {
      waiting.unsubscribe();
      settler();
    };
    waiting.add(
      socket.messages$.subscribe({
        error: (error: unknown) => settle(() => reject(error)),
        complete: () => settle(() => reject(closedByClient())),
      }),
    );
    if (waiting.closed) return;
    waiting.add(socket.state$.subscribe((state) => state.status === 'open' && settle(resolve)));
    if (timeout !== Infinity && !waiting.closed) {
      waiting.add(scheduler.schedule(() => settle(() => reject(new ConnectTimeoutError(timeout))), timeout));
    }
  });
}
