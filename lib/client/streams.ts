import { Subject } from 'rxjs';
import { describe, type DropReason } from '../core/errors.js';
import type { Reporter } from '../core/report.js';
import type { DroppedMessage } from './rx-socket.js';

/**
 * The socket's public streams behind `messages$`, `errors$` and `dropped$`, and what reports to
 * the logger when nobody observes them. Shared by the facade and the session.
 */
export class SocketStreams<In, Out> {
  readonly incoming = new Subject<In>();
  readonly errors = new Subject<Error>();
  readonly drops = new Subject<DroppedMessage<Out>>();
  readonly report: Reporter;

  constructor(report: Reporter) {
    this.report = report;
  }

  /** An error for errors$; a warning too when nobody observes errors$. */
  error(error: Error, kind: string, what: string): void {
    if (!this.errors.observed) this.report.warn(kind, `${what}: ${error.message} (observe errors$ to handle this)`, { error });
    this.errors.next(error);
  }

  /** A drop for dropped$; a warning too when neither dropped$ nor a send() promise reports it. */
  dropped(message: Out, reason: DropReason, cause: unknown, promised: boolean): void {
    if (!promised && !this.drops.observed) this.report.warn('drop', `a message was dropped (${reason}) (observe dropped$ to handle this)`, { message, reason });
    this.drops.next(cause === undefined ? { payload: message, message, reason } : { payload: message, message, reason, cause });
  }

  /** The socket ended for good: `error` when a close was not retried, none after `close()`. */
  ended(error?: unknown): void {
    if (error === undefined) return this.incoming.complete();
    if (!this.incoming.observed) this.report.warn('fail', `the socket closed for good: ${describe(error)}`, { error });
    this.incoming.error(error);
  }

  /** errors$ and dropped$ complete. */
  completed(): void {
    this.errors.complete();
    this.drops.complete();
  }
}
