import type { Codec, WireData } from './codec.js';
import { asError } from './errors.js';
import type { Resumable } from './resumable.js';
import { volatileFrame, type Delivery } from './session-frames.js';
import { Writer } from './writer.js';
import type { WriterConfig, WriterOwner } from './writer-config.js';
import type { SendOptions } from '../client/rx-socket.js';
import { checkDelivery } from './session-options.js';
import { checkDelay, checkKeys, checkOptionsObject } from './validate.js';

/**
 * An {@link Outbox}'s settings, its writer's included: one object for many (a server's peers,
 * clients made alike).
 *
 * @example
 * const config: OutboxConfig<Msg> = {
 *   size: 1000, overflow: 'drop-oldest', highWaterMark: 65536, scheduler: asyncScheduler,
 *   codec, delivery: 'volatile', timeout: 10_000, noSession: () => 'no session here',
 * };
 */
export interface OutboxConfig<Out> extends WriterConfig {
  readonly codec: Codec<unknown, Out>;
  /** The class of a send that names none. */
  readonly delivery: Delivery;
  /** The buffer's timeout: a send's default. */
  readonly timeout: number;
  /** What a reliable send without a session is told (a TypeError's message), made when needed. */
  readonly noSession: () => string;
}

/** What an outbox tells its end (the client's socket, a server peer), and asks it. */
export interface OutboxOwner<Out> extends WriterOwner<Out> {
  /** Once true, every send is dropped with `'closed'`. */
  readonly ended: boolean;
  /** A message given to `outgoing.next()` could not be serialized. */
  outgoingFailed(error: Error): void;
}

/**
 * The send path of one end, role-free (the client's socket and each server peer): checks a
 * send's options, serializes, and routes by delivery class — a reliable message to the session's
 * retention (its promise is the receipt), any other to the writer, framed as volatile in a
 * session. Nothing here throws: a bad option or a serializer's throw rejects the promise.
 *
 * It is its connection's {@link Writer} too, one object per connection rather than two (a server
 * holds thousands): the writer's methods write what this one has serialized and routed.
 */
export class Outbox<Out> extends Writer<Out, OutboxConfig<Out>, OutboxOwner<Out>> {
  /** With a session: its state (reliable messages go to its retention), set once it exists. */
  #session: Resumable<Out> | undefined;

  /** A session's state, made with this outbox as its writer. */
  useSession(session: Resumable<Out>): void {
    this.#session = session;
  }

  /** `send()`: resolves when written (volatile) or acknowledged (reliable); rejects with `MessageDroppedError`. */
  send(message: Out, options?: SendOptions): Promise<void> {
    const session = this.#session;
    const settings = this.config;
    let timeout = settings.timeout;
    let delivery = settings.delivery;
    // After the end, every send() rejects with 'closed', whatever its arguments.
    if (options !== undefined && !this.owner.ended) {
      try {
        validateSendOptions(options);
        if (options.delivery === 'reliable' && !session) throw new TypeError(settings.noSession());
      } catch (error) {
        return Promise.reject(error);
      }
      timeout = options.timeout ?? timeout;
      delivery = options.delivery ?? delivery;
    }
    if (this.owner.ended) return this.refuse(message, 'closed');
    let data: WireData;
    try {
      data = settings.codec.encode(message);
    } catch (error) {
      return Promise.reject(error);
    }
    if (session && delivery === 'reliable') return session.send(message, data, timeout, true) as Promise<void>;
    return this.submit(message, session ? volatileFrame(data) : data, timeout);
  }

  /** `request()`'s path: volatile, `onWritten` called when it is written. */
  submitRequest(message: Out, timeout: number, onWritten: () => void): Promise<void> {
    if (this.owner.ended) return this.refuse(message, 'closed');
    let data: WireData;
    try {
      data = this.encode(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submit(message, data, timeout, onWritten);
  }

  /** `outgoing.next()`: no promise; a serializer's throw goes to errors$ (through the owner), a drop to dropped$. */
  next(message: Out): void {
    let data: WireData;
    try {
      data = this.config.codec.encode(message);
    } catch (error) {
      return this.owner.outgoingFailed(asError(error));
    }
    this.offerEncoded(message, data);
  }

  /**
   * A message already serialized (once, for a broadcast), in the default class; no promise.
   * Without a session it goes out as `encoded` if given (the same text, already a frame for the transport).
   */
  offerEncoded(message: Out, data: WireData, encoded?: WireData): void {
    const session = this.#session;
    const { timeout } = this.config;
    if (!session) return this.offer(message, encoded ?? data, timeout);
    // After the end, the closed writer drops it with 'closed'.
    if (this.config.delivery === 'reliable' && !this.owner.ended) void session.send(message, data, timeout, false);
    else this.offer(message, volatileFrame(data), timeout);
  }

  /** Serializes `message` as it goes on the wire outside the classes (handshake, heartbeat, channel): volatile in a session. */
  encode(message: Out): WireData {
    const data = this.config.codec.encode(message);
    return this.#session ? volatileFrame(data) : data;
  }

  /** Reliable messages unacknowledged or waiting for room (0 without a session). */
  get unacknowledged(): number {
    return this.#session?.retention.outstanding ?? 0;
  }
}

/** Validates the options of one `send()`: an object with at most `timeout` and `delivery`. */
function validateSendOptions(options: unknown): asserts options is SendOptions {
  checkOptionsObject('options', options);
  checkKeys('', options, ['timeout', 'delivery']);
  checkDelay('timeout', options.timeout, { infinity: true });
  checkDelivery(options.delivery);
}
