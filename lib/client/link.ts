import type { SchedulerLike } from 'rxjs';
import type { Codec } from '../core/codec.js';
import type { OpenConnection } from '../core/connection.js';
import { runHandshake, type HandshakeFunction, type HandshakeRun } from '../core/handshake.js';
import { receive, type AppPong, type ReceiveTarget } from '../core/receive.js';
import type { SocketStreams } from '../core/streams.js';
import type { ClientResume } from './resume.js';

/**
 * The connection in use, as the session sees it: which one is open (and its serial), which one
 * is in its handshake, and where each of its incoming frames goes — to the handshake while one
 * runs, to `messages$` after; an application-level pong to the connection being checked.
 */
export class Link<In, Out> implements ReceiveTarget<In> {
  readonly #codec: Codec<In, Out>;
  readonly #appPong: AppPong<In>;
  readonly #streams: SocketStreams<In, Out>;
  readonly #resume: ClientResume<Out> | undefined;
  #conn: OpenConnection | undefined;
  /** With an application-level heartbeat: the connection whose pongs count (in its handshake too). */
  #pongTarget: OpenConnection | undefined;
  #handshake: HandshakeRun<In> | undefined;
  #serial = 0;
  /** Whether a message is being delivered to `messages$`, and what waits for its end. */
  #delivering = false;
  #afterDelivery: Array<() => void> | undefined;

  constructor(codec: Codec<In, Out>, appPong: AppPong<In>, streams: SocketStreams<In, Out>, resume: ClientResume<Out> | undefined) {
    this.#resume = resume;
    this.#codec = codec;
    this.#appPong = appPong;
    this.#streams = streams;
  }

  /** The open connection, if any. */
  get conn(): OpenConnection | undefined {
    return this.#conn;
  }

  /** The serial of the current (or last) open connection: 1 for the first. */
  get serial(): number {
    return this.#serial;
  }

  /** An incoming frame (the hot path); in a session, its frame is read first (a throw: a protocol error). */
  receive(data: string | Uint8Array): void {
    const payload = this.#resume ? this.#resume.receive(data) : data;
    if (payload !== undefined) receive(payload, this.#codec, this.#appPong, this);
  }

  pong(): void {
    this.#pongTarget?.pong();
  }

  deliver(message: In): void {
    const handshake = this.#handshake;
    if (handshake) return handshake.deliver(message);
    if (this.#delivering) return this.#streams.next(message);
    this.#delivering = true;
    try {
      this.#streams.next(message);
    } finally {
      this.#delivering = false;
      const after = this.#afterDelivery;
      this.#afterDelivery = undefined;
      if (after) for (const run of after) run();
    }
  }

  /**
   * Runs `fn` now, or once the message being delivered has reached every `messages$` observer:
   * a `close()` from one observer then ends the connection for the others (a pending request
   * among them) after they saw the message, not halfway through its delivery.
   */
  afterDelivery(fn: () => void): void {
    if (this.#delivering) (this.#afterDelivery ??= []).push(fn);
    else fn();
  }

  receiveFailed(error: Error, kind: string, what: string): void {
    this.#streams.reportError(error, kind, what);
  }

  /** Runs `handshake` on `conn`, which is not open yet; `send` writes on it at once. */
  handshake(conn: OpenConnection, handshake: HandshakeFunction<In, Out>, send: (message: Out) => void, scheduler: SchedulerLike): Promise<unknown> {
    this.#pongTarget = conn;
    const run = runHandshake<In, Out>(handshake, send, scheduler);
    this.#handshake = run;
    return run.result;
  }

  /** `conn` is open: returns the messages that arrived after its handshake decided, in order. */
  open(conn: OpenConnection): In[] | undefined {
    this.#conn = conn;
    this.#pongTarget = conn;
    this.#serial++;
    const afterHandshake = this.#handshake?.finish();
    this.#handshake = undefined;
    return afterHandshake;
  }

  /** The connection is gone (or its attempt is): returns the one that was open, if any. */
  drop(): OpenConnection | undefined {
    this.#handshake?.finish();
    this.#handshake = undefined;
    const conn = this.#conn;
    this.#conn = undefined;
    this.#pongTarget = undefined;
    return conn;
  }
}
