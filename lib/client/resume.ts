import type { OpenConnection } from '../core/connection.js';
import { closeInfo, ConnectionClosedError, describe, type DropReason } from '../core/errors.js';
import { Resumable } from '../core/resumable.js';
import { SessionLostError, SessionProtocolError, SessionUnsupportedError } from '../core/session-errors.js';
import { helloFrame, parseFrame, SESSION_PROTOCOL, type Welcome } from '../core/session-frames.js';
import type { ResolvedSession } from '../core/session-options.js';
import type { SocketStreams } from '../core/streams.js';
import type { Writer } from '../core/writer.js';
import type { SchedulerLike } from 'rxjs';

/** What the client's session end needs. */
export interface ResumeConfig<Out> {
  readonly session: ResolvedSession;
  readonly writer: Writer<Out>;
  readonly scheduler: SchedulerLike;
  /** Reliable sends that may wait for room (the buffer's size). */
  readonly waitLimit: number;
  readonly streams: SocketStreams<unknown, Out>;
  /** Reliable messages are outstanding: the connection is held meanwhile. */
  readonly onOccupied: (occupied: boolean) => void;
}

/**
 * The client's end of a resumable session: on each connection it checks that the server took
 * the session subprotocol, says which session it resumes and what it has received (hello), and
 * reads the server's answer (welcome): receipts for what the server has, a replay of the rest,
 * or a lost session reported with every unacknowledged message rejected.
 */
export class ClientResume<Out> {
  readonly state: Resumable<Out>;
  readonly #config: ResumeConfig<Out>;
  /** Waiting for the welcome on the connection in its handshake. */
  #welcome: ((welcome: Welcome) => void) | undefined;
  #info: { id: string; resumed: boolean } | undefined;

  constructor(config: ResumeConfig<Out>) {
    this.#config = config;
    const { streams } = config;
    this.state = new Resumable<Out>({
      session: config.session,
      waitLimit: config.waitLimit,
      scheduler: config.scheduler,
      writer: config.writer,
      onOccupied: config.onOccupied,
      onDrop: (message, reason, promised) => streams.dropped(message, reason, undefined, promised),
    });
  }

  /** The session of the open connection, for `state$`. */
  get info(): { id: string; resumed: boolean } | undefined {
    return this.#info;
  }

  /** The subprotocols to offer: the application's, then the session's. */
  protocols(protocols: string | string[] | undefined): string[] {
    return [...(protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : protocols), SESSION_PROTOCOL];
  }

  /**
   * The first step of every connection's handshake: resolves once the session is resumed or a new
   * one began; rejects (fatally) if the server did not take the subprotocol.
   */
  start(conn: OpenConnection): Promise<void> {
    if (conn.protocol !== SESSION_PROTOCOL) return Promise.reject(new SessionUnsupportedError(conn.protocol));
    const { state } = this;
    return new Promise<void>((resolve) => {
      this.#welcome = (welcome) => {
        this.#welcome = undefined;
        this.#welcomed(welcome);
        state.attach(conn, welcome.ack);
        resolve();
      };
      conn.transport.send(helloFrame({ v: 1, id: state.id ?? null, ack: state.received }));
    });
  }

  /**
   * An incoming frame: the payload of a data frame for the codec, or undefined. Throws
   * {@link SessionProtocolError} (or SessionUnsupportedError, for a server that does not speak it).
   */
  receive(data: string | Uint8Array): string | Uint8Array | undefined {
    const welcome = this.#welcome;
    if (welcome) {
      let frame;
      try {
        frame = parseFrame(data);
      } catch {
        frame = undefined;
      }
      if (frame?.kind !== 'welcome') throw new SessionUnsupportedError(SESSION_PROTOCOL + ' (but did not answer the hello with a welcome)');
      welcome(frame.welcome);
      return undefined;
    }
    return this.state.receive(parseFrame(data));
  }

  /** The connection ended: the session waits for the next one. */
  detach(): void {
    this.#welcome = undefined;
    this.state.detach();
  }

  /** The session is over (closed for good, or the connection went idle): what is unacknowledged is dropped with `reason`. */
  end(reason: DropReason): void {
    this.#info = undefined;
    this.state.end(reason);
  }

  #welcomed(welcome: Welcome): void {
    const { state } = this;
    const previous = state.id;
    if (previous !== undefined && (!welcome.resumed || welcome.id !== previous)) {
      // Every message end() rejects with 'session-lost': those waiting for room in the retention too.
      const lost = state.retention.outstanding;
      this.#config.streams.reportError(
        new SessionLostError(previous, welcome.id, lost, 'the server does not know it: it restarted, or the resumeWindow passed'),
        'session',
        'the session could not be resumed',
      );
      state.end('session-lost');
    } else if (previous === undefined && welcome.resumed) {
      throw new SessionProtocolError('the server resumed a session the client did not ask for');
    }
    state.id = welcome.id;
    this.#info = { id: welcome.id, resumed: previous !== undefined && welcome.resumed && welcome.id === previous };
  }
}

/** `ws` refuses an upgrade whose server chose no subprotocol of ours: for a session client, that says the server has no sessions. */
export function sessionRefusal(error: unknown): unknown {
  if (!(error instanceof ConnectionClosedError) || !/^Server sent (no|an invalid) subprotocol/.test(describe(error.cause))) return error;
  return new ConnectionClosedError(closeInfo(error), { cause: new SessionUnsupportedError('') });
}
