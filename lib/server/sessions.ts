import { randomUUID } from 'node:crypto';
import type { Subscription, SchedulerLike } from 'rxjs';
import type { WebSocket } from 'ws';
import { describe } from '../core/errors.js';
import { SessionProtocolError } from '../core/session-errors.js';
import { parseFrame, SESSION_PROTOCOL, type Hello } from '../core/session-frames.js';

/** Milliseconds a session connection may take to say hello before it is closed with 1002. */
export const HELLO_TIMEOUT = 10_000;

/**
 * The server's sessions: which peer holds each session id, and the connections that have not said
 * hello yet (each bounded by {@link HELLO_TIMEOUT}, closed at shutdown).
 */
export class SessionRegistry<P> {
  readonly #sessions = new Map<string, P>();
  readonly #pending = new Map<WebSocket, Subscription>();
  readonly #scheduler: SchedulerLike;

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
  }

  /** The subprotocol to select: the session's when offered, else the first other one (`ws`'s default), else none. */
  static select(protocols: Set<string>, sessions: boolean): string | false {
    if (sessions && protocols.has(SESSION_PROTOCOL)) return SESSION_PROTOCOL;
    for (const protocol of protocols) if (protocol !== SESSION_PROTOCOL) return protocol;
    return false;
  }

  /** A new session id: random, unguessable. */
  newId(): string {
    return randomUUID();
  }

  get(id: string | null): P | undefined {
    return id === null ? undefined : this.#sessions.get(id);
  }

  add(id: string, peer: P): void {
    this.#sessions.set(id, peer);
  }

  delete(id: string, peer: P): void {
    if (this.#sessions.get(id) === peer) this.#sessions.delete(id);
  }

  /**
   * Waits for `ws`'s hello; a frame that is not one, none in time, or one `onHello` refuses by
   * throwing `SessionProtocolError`, closes it with 1002 (ended
   * by `closeTimeout`; `track` gets its end, for a shutdown to wait for).
   */
  awaitHello(ws: WebSocket, closeTimeout: number, track: (closed: Promise<unknown>) => void, onHello: (hello: Hello) => void): void {
    const ignore = (): void => undefined; // a protocol error: its 'close' follows
    const refuse = (reason: string): void => {
      ws.on('error', ignore);
      track(new Promise((resolve) => ws.once('close', resolve)));
      const timer = this.#scheduler.schedule(() => ws.terminate(), closeTimeout);
      ws.once('close', () => timer.unsubscribe());
      ws.close(1002, reason.slice(0, 120));
    };
    const done = (): void => {
      this.#pending.get(ws)?.unsubscribe();
      this.#pending.delete(ws);
      ws.off('message', first);
      ws.off('close', done);
      ws.off('error', ignore);
    };
    const first = (data: Buffer, isBinary: boolean): void => {
      done();
      let hello: Hello;
      try {
        const frame = parseFrame(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString());
        if (frame.kind !== 'hello') throw new Error(`expected a hello, got a ${frame.kind} frame`);
        hello = frame.hello;
      } catch (error) {
        return refuse(describe(error));
      }
      try {
        onHello(hello);
      } catch (error) {
        if (!(error instanceof SessionProtocolError)) throw error;
        refuse(describe(error)); // a hello that cannot be honoured (its ack is beyond what was sent)
      }
    };
    ws.on('message', first);
    ws.on('close', done);
    ws.on('error', ignore);
    this.#pending.set(ws, this.#scheduler.schedule(() => {
      done();
      refuse('no hello in time');
    }, HELLO_TIMEOUT));
  }

  /** Shutdown: every connection still without a hello is terminated. */
  closePending(): void {
    for (const ws of [...this.#pending.keys()]) {
      this.#pending.get(ws)?.unsubscribe();
      this.#pending.delete(ws);
      ws.terminate();
    }
  }
}
