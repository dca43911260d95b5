import type { Observable, Observer } from 'rxjs';
import type { ChannelOptions } from '../core/channel.js';
import type { CloseInfo, DropReason } from '../core/errors.js';
import type { IterateOptions, MessageIterator } from '../core/iterate.js';
import type { RequestOptions } from '../core/request.js';
import type { Delivery } from '../core/session-frames.js';

/**
 * Where the connection is: `'idle'` (nothing open, nothing wanted), `'connecting'` (the first
 * attempt after idle), `'reconnecting'` (from a retried failure through the backoff wait and the
 * later attempts), `'open'`, `'closing'` (`close()` was called: nothing more is sent, the socket
 * is closing), `'closed'` (terminal).
 *
 * @example
 * ```ts
 * const label: Record<ConnectionStatus, string> = {
 *   idle: 'Idle', connecting: 'Connecting…', reconnecting: 'Reconnecting…', open: 'Live', closing: 'Closing…', closed: 'Offline',
 * };
 * socket.state$.subscribe(({ status }) => console.log(label[status]));
 * ```
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'reconnecting' | 'open' | 'closing' | 'closed';

/**
 * A snapshot of the connection, as `state$` emits it.
 *
 * @example
 * ```ts
 * socket.state$.subscribe(({ status, attempt }) => console.log(status, attempt));
 * ```
 */
export interface ConnectionState {
  readonly status: ConnectionStatus;
  /** The attempt in progress or waited for (1 = first); 0 when idle, and after `resetAfter` ms open. */
  readonly attempt: number;
  /** How the previous connection or attempt ended; at `'closed'` after `close()`, that close. */
  readonly lastClose?: CloseInfo;
  /**
   * With resumable sessions, while open: the session, and whether this connection resumed it
   * (`false` on the first connection, and after a session was lost: `SessionLostError` says so).
   */
  readonly session?: { readonly id: string; readonly resumed: boolean };
}

/**
 * A message dropped before it was written, as `dropped$` reports it.
 *
 * @example
 * ```ts
 * socket.dropped$.subscribe(({ message, reason }: DroppedMessage<Message>) => console.warn(`dropped (${reason})`, message));
 * ```
 */
export interface DroppedMessage<Out> {
  /** The message as given to `send()` or `outgoing.next()` (the same name as `MessageDroppedError.payload`). */
  readonly payload: Out;
  /** @deprecated The same as `payload`; kept for 0.1 code. */
  readonly message: Out;
  readonly reason: DropReason;
  /** With reason `'error'`: what the socket's `send` threw. */
  readonly cause?: unknown;
}

/**
 * Options of one `send()`.
 *
 * @example
 * ```ts
 * const urgent: SendOptions = { timeout: 500 };
 * await socket.send({ type: 'cancel', orderId: 7 }, urgent); // dropped with 'timeout' if not written within 500 ms
 * ```
 */
export interface SendOptions {
  /**
   * Milliseconds this message may wait before it is dropped with `'timeout'` (>= 0 and
   * <= 2147483647, or `Infinity`: no limit), counted from this call and across reconnects.
   * @default buffer.timeout (10000)
   */
  timeout?: number;
  /**
   * With a resumable session: `'reliable'` (the promise resolves when the server acknowledged the
   * message, a delivery receipt; `timeout` bounds only the wait for room in the retention) or
   * `'volatile'` (as without a session). Without a session only `'volatile'` is allowed.
   * @default session.delivery ('reliable'), or 'volatile' without a session
   */
  delivery?: Delivery;
}

/**
 * A WebSocket connection as streams. Lazy and ref-counted: it opens when `messages$` gets a
 * subscriber (or a message is sent) and closes when neither holds it; it reconnects by itself.
 *
 * @example
 * ```ts
 * const socket = connect<{ price: number }, { subscribe: string }>('wss://example.com/feed');
 * socket.messages$.subscribe((msg) => console.log(msg.price));
 * await socket.send({ subscribe: 'BTC' });
 * for await (const msg of socket) if (msg.price > 100) break;
 * await socket.close();
 * ```
 */
export interface RxSocket<In, Out> extends AsyncIterable<In> {
  /**
   * Incoming messages, shared by all subscribers; a subscriber holds the connection open.
   * Completes only because `close()` was called; errors with `ConnectionClosedError` on a close
   * that is not retried, or `RetriesExhaustedError`.
   */
  readonly messages$: Observable<In>;
  /** The current {@link ConnectionState}, replayed to each subscriber; completes after `'closed'`. */
  readonly state$: Observable<ConnectionState>;
  /**
   * One entry per connection or attempt that ended and will be retried, and one `DecodeError` per
   * message that failed to decode. Completes when the socket is closed.
   */
  readonly errors$: Observable<Error>;
  /** Every message dropped before it was written, with the reason. Completes when closed. */
  readonly dropped$: Observable<DroppedMessage<Out>>;
  /**
   * An Observer feeding the same path as `send()`: `source$.subscribe(socket.outgoing)`. Its
   * `complete()` and `error()` never close the socket; an error goes to `errors$`.
   */
  readonly outgoing: Observer<Out>;
  /** The current state. */
  readonly state: ConnectionState;
  /** Messages waiting in the buffer, not yet written. */
  readonly buffered: number;
  /**
   * Sends a message: written at once when the socket is open and not backed up, else buffered
   * (bounded, expiring). Resolves when the message was handed to the open socket (not a delivery
   * receipt); rejects with `MessageDroppedError` if it is dropped first, or with the error of
   * `serialize`. Never throws.
   */
  send(message: Out, options?: SendOptions): Promise<void>;
  /**
   * Closes for good with `code` and `reason` (at most 123 UTF-8 bytes); a code the socket cannot
   * send is a RangeError. A standard `WebSocket` sends 1000 and 3000–4999; `ws` (Node) also
   * 1001 (going away), 1002, 1003 and 1007–1014. Waiting messages are dropped with `'closed'`. Every call returns the same
   * promise; it resolves once the socket is closed (or terminated after `closeTimeout`) and every
   * stream has completed.
   */
  close(code?: number, reason?: string): Promise<void>;
  /**
   * A ref-counted server-side subscription: `subscribe()` is written when the first subscriber
   * arrives and again after every reconnect (before the buffer flushes), `unsubscribe()` when the
   * last leaves (only while open); emits the messages `filter` accepts. Holds the connection.
   */
  channel(options: ChannelOptions<In, Out>): Channel<In>;
  /**
   * Sends `message` (through the buffer, like `send()`) and resolves with the first incoming
   * message `match` accepts; rejects with `RequestTimeoutError`, with `ConnectionClosedError` if
   * the connection it was written on closes first (never resent), or with the close error when
   * the socket closes for good. Holds the connection while pending.
   */
  request(message: Out, options: RequestOptions<In>): Promise<In>;
  /**
   * A bounded async iterator over incoming messages (what `for await (const m of socket)` uses,
   * with the `iteration` option's bounds): it holds the connection while iterated; `break` lets
   * go at once, also while it waits for a message.
   */
  iterate(options?: IterateOptions<In>): MessageIterator<In>;
  /**
   * Resolves once the socket is open (at once if it is), holding the connection meanwhile.
   * Rejects with the error that ends the socket for good (`RetriesExhaustedError`,
   * `ConnectionClosedError`), or with `ConnectTimeoutError` when it is not open within `timeout`
   * ms (default `Infinity`): a script's way to fail fast and loud when the server is down.
   */
  opened(options?: { timeout?: number }): Promise<void>;
  /**
   * Drops the current connection (closing it with 1000) and dials again at once, skipping any
   * backoff wait; `state$` goes to `'connecting'`, attempt 1. Does nothing while idle or closed.
   */
  reconnect(): void;
  /** Counters and gauges of this socket, read on demand. */
  readonly metrics: SocketMetrics;
}

/**
 * A channel's messages: an Observable, and iterable with `for await` (bounded as the socket's
 * `iteration` option says; `break` leaves the channel).
 *
 * @example
 * ```ts
 * const btc: Channel<Message> = socket.channel({ subscribe: () => ({ op: 'sub', pair: 'BTC' }), filter: (m) => m.pair === 'BTC' });
 * for await (const tick of btc) console.log(tick);
 * ```
 */
export interface Channel<In> extends Observable<In>, AsyncIterable<In> {}

/**
 * What `socket.metrics` reports.
 *
 * @example
 * ```ts
 * const { reconnects, rtt, buffered, bufferedBytes } = socket.metrics;
 * console.log(`reconnected ${reconnects}×, rtt ${rtt ?? '?'} ms, ${buffered} waiting (${bufferedBytes} B)`);
 * ```
 */
export interface SocketMetrics {
  /** Times the connection opened again after a retried loss. */
  readonly reconnects: number;
  /** The round trip of the last answered heartbeat ping, in milliseconds; undefined before one. */
  readonly rtt: number | undefined;
  /** Messages waiting in the buffer. */
  readonly buffered: number;
  /** Their size: UTF-8 bytes of text messages plus bytes of binary ones. */
  readonly bufferedBytes: number;
  /** With a session: reliable messages sent and not yet acknowledged by the server (those waiting for room included). */
  readonly unacknowledged: number;
}
