import type { DroppedMessage } from '../client/rx-socket.js';
import { describe, type DropReason } from './errors.js';
import { Multicast } from './multicast.js';
import type { Reporter } from './report.js';

/**
 * A connection's public streams: it is the incoming stream behind `messages$` itself, and it
 * keeps `errors$` and `dropped$`, and what reports to the logger when nobody observes them. The
 * client's `messages$` ({@link HeldMessages}) and each server peer's inbox extend it: one object
 * per connection for the three streams. `errors$` and `dropped$` are made on first subscription:
 * most sockets never have one, and an idle connection is lighter without.
 *
 * @example
 * const streams = new HeldMessages<string, string>(createReporter(false)); // a client's
 * streams.subscribe((message) => console.log(message));
 * streams.next('hello'); // logs 'hello'
 * streams.dropped('late', 'timeout', undefined, false); // on dropped$ (a warning if nobody observes it)
 */
export abstract class SocketStreams<In, Out> extends Multicast<In> {
  /** Where warnings go: the socket's logger (a server's, for all its peers). */
  abstract readonly report: Reporter;
  #errors: Multicast<Error> | undefined;
  #drops: Multicast<DroppedMessage<Out>> | undefined;
  #completed = false;

  /** A server peer's id, for its warnings (`peer 7: …`, `observe peer.errors$`); none for a client's socket. */
  protected get peerId(): string | undefined {
    return undefined;
  }

  get errors(): Multicast<Error> {
    return (this.#errors ??= this.#made());
  }

  get drops(): Multicast<DroppedMessage<Out>> {
    return (this.#drops ??= this.#made());
  }

  /** An error for errors$; a warning too when nobody observes errors$. */
  reportError(error: Error, kind: string, what: string): void {
    const errors = this.#errors;
    if (!errors?.observed) this.report.warn(kind, `${this.#label()}${what}: ${error.message} (observe ${this.#owner()}errors$ to handle this)`, { error });
    errors?.next(error);
  }

  /** A drop for dropped$; a warning too when neither dropped$ nor a send() promise reports it. */
  dropped(message: Out, reason: DropReason, cause: unknown, promised: boolean): void {
    const drops = this.#drops;
    if (!promised && !drops?.observed) this.report.warn('drop', `${this.#label()}a message was dropped (${reason}) (observe ${this.#owner()}dropped$ to handle this)`, { message, reason });
    drops?.next(cause === undefined ? { payload: message, message, reason } : { payload: message, message, reason, cause });
  }

  /** The socket ended for good: `error` when a close was not retried, none after `close()`. */
  ended(error?: unknown): void {
    if (error === undefined) return this.complete();
    if (!this.observed) this.report.warn('fail', `the socket closed for good: ${describe(error)}`, { error });
    this.error(error);
  }

  /** errors$ and dropped$ complete (and are complete for a subscriber who comes later). */
  completed(): void {
    this.#completed = true;
    this.#errors?.complete();
    this.#drops?.complete();
  }

  // Made when a warning is: a server holds thousands of peers, and a string each would stay.
  #label(): string {
    const peer = this.peerId;
    return peer === undefined ? '' : `peer ${peer}: `;
  }

  #owner(): string {
    return this.peerId === undefined ? '' : 'peer.';
  }

  #made<T>(): Multicast<T> {
    const stream = new Multicast<T>();
    if (this.#completed) stream.complete();
    return stream;
  }
}
