import { Observable, share } from 'rxjs';
import { checkFunction, checkKeys, checkOptionsObject } from './validate.js';

/**
 * One server-side subscription multiplexed over the socket, as {@link RxSocket.channel} takes it.
 * Checked when `channel()` is called: `subscribe` and `filter` are required functions, the others
 * functions if given, and an unknown key is a TypeError.
 *
 * @example
 * ```ts
 * const ticker$ = socket.channel({
 *   subscribe: () => ({ event: 'subscribe', pair: 'XBT/USD' }),
 *   unsubscribe: () => ({ event: 'unsubscribe', pair: 'XBT/USD' }),
 *   filter: (msg) => msg.pair === 'XBT/USD',
 * });
 * ```
 */
export interface ChannelOptions<In, Out> {
  /**
   * The message that starts the subscription at the server. Called and written when the first
   * subscriber arrives (if the socket is open) and again on every (re)connect, after the
   * handshake and before the buffer flushes. Never buffered.
   */
  subscribe: () => Out;
  /**
   * The message that ends it, written when the last subscriber leaves — only while the socket is
   * open (otherwise the server has already forgotten), and not after the server ended the channel.
   * @default undefined (nothing is sent)
   */
  unsubscribe?: () => Out;
  /** Which incoming messages belong to this channel and are emitted. */
  filter: (message: In) => boolean;
  /**
   * A server message that completes the channel (not emitted).
   * @default undefined
   */
  isComplete?: (message: In) => boolean;
  /**
   * A server message that errors the channel with a {@link ChannelError} carrying it.
   * @default undefined
   */
  isError?: (message: In) => boolean;
  /**
   * @deprecated Renamed {@link ChannelOptions.isComplete} (it is a predicate, not a callback).
   * Giving both is a TypeError.
   */
  complete?: (message: In) => boolean;
  /**
   * @deprecated Renamed {@link ChannelOptions.isError} (it is a predicate, not a callback).
   * Giving both is a TypeError.
   */
  error?: (message: In) => boolean;
}

/**
 * The server ended a channel with an error message (`ChannelOptions.error` matched it).
 *
 * @example
 * ```ts
 * channel$.subscribe({ error: (e) => e instanceof ChannelError && console.warn(e.payload) });
 * ```
 */
export class ChannelError<In = unknown> extends Error {
  override name = 'ChannelError';
  /** The server's message. */
  readonly payload: In;

  constructor(payload: In) {
    super('The server ended the channel with an error');
    this.payload = payload;
  }
}

/** What a channel needs of the socket. */
export interface ChannelHost<In, Out> {
  /** Incoming messages; subscribing holds the connection. */
  readonly messages$: Observable<In>;
  /** Registers a live channel, whose `subscribe()` is written on every open. Returns the deregistration. */
  addChannel(subscribe: () => Out): () => void;
  /** If the socket is open, writes `make()` at once (bypassing the buffer); else does nothing. */
  writeNow(make: () => Out): void;
}

/**
 * Builds a ref-counted channel: one server-side subscription while it has subscribers, sent again
 * after every reconnect.
 */
export function createChannel<In, Out>(host: ChannelHost<In, Out>, options: ChannelOptions<In, Out>): Observable<In> {
  validateChannelOptions(options);
  const { subscribe, unsubscribe, filter } = options;
  const complete = options.isComplete ?? options.complete;
  const error = options.isError ?? options.error;
  return new Observable<In>((subscriber) => {
    let endedByServer = false;
    const removeChannel = host.addChannel(subscribe);
    host.writeNow(subscribe);
    const subscription = host.messages$.subscribe({
      next: (message) => {
        let verdict: 'complete' | 'error' | boolean;
        try {
          verdict = complete?.(message) ? 'complete' : error?.(message) ? 'error' : filter(message);
        } catch (thrown) {
          // A throwing matcher ends this channel, not the socket.
          return subscriber.error(thrown);
        }
        if (verdict === 'complete' || verdict === 'error') {
          endedByServer = true;
          if (verdict === 'complete') subscriber.complete();
          else subscriber.error(new ChannelError(message));
        } else if (verdict) subscriber.next(message);
      },
      error: (e: unknown) => subscriber.error(e),
      complete: () => subscriber.complete(),
    });
    return () => {
      removeChannel();
      if (!endedByServer && unsubscribe) host.writeNow(unsubscribe);
      subscription.unsubscribe();
    };
  }).pipe(share());
}

/** Validates a channel's options when `channel()` is called, not at the first message. */
function validateChannelOptions(options: unknown): void {
  checkOptionsObject('options', options);
  // The deprecated aliases are accepted but not offered in messages.
  const { complete: _complete, error: _error, ...current } = options;
  checkKeys('', current, ['subscribe', 'unsubscribe', 'filter', 'isComplete', 'isError']);
  checkFunction('subscribe', options.subscribe, true);
  checkFunction('filter', options.filter, true);
  checkFunction('unsubscribe', options.unsubscribe);
  for (const [name, old] of [['isComplete', 'complete'], ['isError', 'error']] as const) {
    checkFunction(name, options[name]);
    checkFunction(old, options[old]);
    if (options[name] !== undefined && options[old] !== undefined) {
      throw new TypeError(`Give \`${name}\` or its deprecated alias \`${old}\`, not both`);
    }
  }
}
