import type { Codec, WireData } from './codec.js';
import { asError } from './errors.js';
import type { Resumable } from './resumable.js';
import { volatileFrame, type Delivery } from './session-frames.js';
import type { SocketStreams } from './streams.js';
import type { Writer } from './writer.js';
import type { SendOptions } from '../client/rx-socket.js';
import { checkDelivery } from './session-options.js';
import { checkDelay, checkKeys, checkOptionsObject } from './validate.js';

/**
 * An {@link Outbox}'s settings: one object for many (a server's peers, clients made alike).
 *
 * @example
 * const settings: OutboxSettings<Msg> = { codec, delivery: 'volatile', timeout: 10_000, noSession: () => 'no session here' };
 */
export interface OutboxSettings<Out> {
  readonly codec: Codec<unknown, Out>;
  /** The class of a send that names none. */
  readonly delivery: Delivery;
  /** The buffer's timeout: a send's default. */
  readonly timeout: number;
  /** What a reliable send without a session is told (a TypeError's message), made when needed. */
  readonly noSession: () => string;
}

/**
 * The send path of one end, role-free (the client's socket and each server peer): checks a
 * send's options, serializes, and routes by delivery class — a reliable message to the session's
 * retention (its promise is the receipt), any other to the writer, framed as volatile in a
 * session. Nothing here throws: a bad option or a serializer's throw rejects the promise.
 */
export class Outbox<Out> {
  readonly #settings: OutboxSettings<Out>;
  readonly #writer: Writer<Out>;
  /** With a session: its state (reliable messages go to its retention). */
  readonly #session: Resumable<Out> | undefined;
  readonly #streams: SocketStreams<unknown, Out>;
  /** Its end (the client's lifecycle, the server's peer): once `ended`, every send is dropped with `'closed'`. */
  readonly #owner: { readonly ended: boolean };

  constructor(settings: OutboxSettings<Out>, writer: Writer<Out>, session: Resumable<Out> | undefined, streams: SocketStreams<unknown, Out>, owner: { readonly ended: boolean }) {
    this.#settings = settings;
    this.#writer = writer;
    this.#session = session;
    this.#streams = streams;
    this.#owner = owner;
  }

  /** The writer it sends through. */
  get writer(): Writer<Out> {
    return this.#writer;
  }

  /** `send()`: resolves when written (volatile) or acknowledged (reliable); rejects with `MessageDroppedError`. */
  send(message: Out, options?: SendOptions): Promise<void> {
    const session = this.#session;
    const writer = this.#writer;
    const settings = this.#settings;
    let timeout = settings.timeout;
    let delivery = settings.delivery;
    // After the end, every send() rejects with 'closed', whatever its arguments.
    if (options !== undefined && !this.#owner.ended) {
      try {
        validateSendOptions(options);
        if (options.delivery === 'reliable' && !session) throw new TypeError(settings.noSession());
      } catch (error) {
        return Promise.reject(error);
      }
      timeout = options.timeout ?? timeout;
      delivery = options.delivery ?? delivery;
    }
    if (this.#owner.ended) return writer.refuse(message, 'closed');
    let data: WireData;
    try {
      data = this.#settings.codec.encode(message);
    } catch (error) {
      return Promise.reject(error);
    }
    if (session && delivery === 'reliable') return session.send(message, data, timeout, true) as Promise<void>;
    return writer.submit(message, session ? volatileFrame(data) : data, timeout);
  }

  /** `request()`'s path: volatile, `onWritten` called when it is written. */
  submit(message: Out, timeout: number, onWritten: () => void): Promise<void> {
    if (this.#owner.ended) return this.#writer.refuse(message, 'closed');
    let data: WireData;
    try {
      data = this.encode(message);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writer.submit(message, data, timeout, onWritten);
  }

  /** `outgoing.next()`: no promise; a serializer's throw goes to errors$, a drop to dropped$. */
  offer(message: Out): void {
    let data: WireData;
    try {
      data = this.#settings.codec.encode(message);
    } catch (error) {
      return this.#streams.reportError(asError(error), 'serialize', 'outgoing.next(): the message could not be serialized');
    }
    this.offerEncoded(message, data);
  }

  /**
   * A message already serialized (once, for a broadcast), in the default class; no promise.
   * Without a session it goes out as `encoded` if given (the same text, already a frame for the transport).
   */
  offerEncoded(message: Out, data: WireData, encoded?: WireData): void {
    const session = this.#session;
    const writer = this.#writer;
    const { timeout } = this.#settings;
    if (!session) return writer.offer(message, encoded ?? data, timeout);
    // After the end, the closed writer drops it with 'closed'.
    if (this.#settings.delivery === 'reliable' && !this.#owner.ended) void session.send(message, data, timeout, false);
    else writer.offer(message, volatileFrame(data), timeout);
  }

  /** Serializes `message` as it goes on the wire outside the classes (handshake, heartbeat, channel): volatile in a session. */
  encode(message: Out): WireData {
    const data = this.#settings.codec.encode(message);
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
