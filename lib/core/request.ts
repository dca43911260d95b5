import { Observable, Subscription, type SchedulerLike } from 'rxjs';
import { closedByClient, ConnectionClosedError, MessageDroppedError } from './errors.js';
import { checkDelay, checkFunction, checkKeys, checkOptionsObject } from './validate.js';

/**
 * Options of {@link RxSocket.request}.
 *
 * @example
 * ```ts
 * const options: RequestOptions<Message> = { match: (reply) => reply.id === 42, timeout: 3_000 };
 * const balance = await socket.request({ id: 42, method: 'getBalance' }, options);
 * ```
 */
export interface RequestOptions<In> {
  /** Which incoming message answers this request; the first match resolves it. */
  match: (message: In) => boolean;
  /**
   * Milliseconds to wait for the answer, counted from the call (> 0 and <= 2147483647, or
   * `Infinity` for no timeout); the request message's own buffer timeout is the same.
   * @default 10000
   */
  timeout?: number;
}

/**
 * No answer arrived within the request's `timeout`.
 *
 * @example
 * ```ts
 * socket.request(msg, { match: matchId(7), timeout: 1000 }).catch((e) => e instanceof RequestTimeoutError && retry());
 * ```
 */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  /** The timeout that passed, in milliseconds. */
  readonly timeout: number;

  constructor(timeout: number, options?: { cause?: unknown }) {
    super(`No answer within ${timeout} ms`, options);
    this.timeout = timeout;
  }
}

/**
 * A matcher for the common `{ id, ... }` shape: accepts messages whose `id` equals `id`.
 *
 * @example
 * ```ts
 * const answer = await socket.request({ id: 7, method: 'ping' }, { match: matchId(7) });
 * ```
 */
export function matchId(id: unknown): (message: unknown) => boolean {
  return (message) => typeof message === 'object' && message !== null && (message as { id?: unknown }).id === id;
}

/** What a request needs of the socket. */
export interface RequestHost<In, Out> {
  /** Incoming messages; subscribing holds the connection. */
  readonly messages$: Observable<In>;
  /** Connection ends, each with the serial of the connection and how it ended. */
  readonly connectionLost$: Observable<{ serial: number; error: ConnectionClosedError }>;
  /** Queues `message` like `send()`; `written(serial)` is called synchronously at the write. */
  write(message: Out, timeout: number, written: (serial: number) => void): Promise<void>;
  readonly scheduler: SchedulerLike;
}

/** A request's defaults, documented on {@link RequestOptions}. */
export const REQUEST_DEFAULTS = { timeout: 10000 } as const;

/**
 * Sends `message` and resolves with the first incoming message `match` accepts. Rejects with
 * {@link RequestTimeoutError}, with the drop error if the message is dropped, with
 * `ConnectionClosedError` if the connection it was written on closes first (no automatic resend),
 * or with the close error when the socket closes for good. Leaves no timer or subscription.
 */
export function request<In, Out>(host: RequestHost<In, Out>, message: Out, options: RequestOptions<In>): Promise<In> {
  try {
    validateRequestOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const { match, timeout = REQUEST_DEFAULTS.timeout } = options;
  return new Promise<In>((resolve, reject) => {
    const subscription = new Subscription();
    let writtenOn: number | undefined;
    const settle = (settler: () => void): void => {
      if (subscription.closed) return;
      subscription.unsubscribe();
      settler();
    };
    subscription.add(
      host.messages$.subscribe({
        next: (incoming) => {
          let matched: boolean;
          try {
            matched = match(incoming);
          } catch (error) {
            return settle(() => reject(error));
          }
          if (matched) settle(() => resolve(incoming));
        },
        error: (error: unknown) => settle(() => reject(error)),
        complete: () => settle(() => reject(closedByClient())),
      }),
    );
    subscription.add(
      host.connectionLost$.subscribe(({ serial, error }) => serial === writtenOn && settle(() => reject(error))),
    );
    if (timeout !== Infinity) subscription.add(host.scheduler.schedule(() => settle(() => reject(new RequestTimeoutError(timeout))), timeout));
    if (subscription.closed) return;
    // The message's wait in the buffer ends at the request's deadline, on a timer of its own: when
    // that timer fires first, the request has timed out all the same.
    host
      .write(message, timeout, (serial) => (writtenOn = serial))
      .catch((error: unknown) => settle(() => reject(isTimeoutDrop(error) ? new RequestTimeoutError(timeout, { cause: error }) : error)));
  });
}

/** Whether `error` is the drop of a message whose buffer timeout passed. */
function isTimeoutDrop(error: unknown): boolean {
  return error instanceof MessageDroppedError && error.reason === 'timeout';
}

/** Validates the options of one request: an object with a `match` function and at most `timeout`. */
function validateRequestOptions(options: unknown): void {
  checkOptionsObject('options', options);
  checkKeys('', options, ['match', 'timeout']);
  checkFunction('match', options.match, true);
  checkDelay('timeout', options.timeout, { positive: true, infinity: true });
}
