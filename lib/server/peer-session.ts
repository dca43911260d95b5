import type { SchedulerLike, Subscription } from 'rxjs';
import type { OpenConnection } from '../core/connection.js';
import type { DropReason } from '../core/errors.js';
import { Resumable } from '../core/resumable.js';
import { parseFrame, welcomeFrame } from '../core/session-frames.js';
import type { ResolvedSession } from '../core/session-options.js';
import type { Writer } from '../core/writer.js';
import type { SessionStore } from './session-store.js';

const noop = (): void => {};

/** What a peer's session needs from its server. */
export interface PeerSessionConfig<Out> {
  readonly session: ResolvedSession;
  readonly resumeWindow: number;
  readonly scheduler: SchedulerLike;
  readonly waitLimit: number;
  readonly writer: Writer<Out>;
  readonly onDrop: (message: Out, reason: DropReason, promised: boolean) => void;
  /** With a session store: where the session is written ahead, as which node, and how failures are told. */
  readonly store?: {
    readonly api: SessionStore;
    /** Delivers an incoming message once it is stored. */
    readonly deliver: (payload: string | Uint8Array) => void;
    /** A store operation failed: the session's guarantee holds on this node only until it works again. */
    readonly failed: (error: unknown, what: string) => void;
  };
}

/**
 * The server's end of one resumable session, held by its {@link Peer}: the role-free state, the
 * welcome written on each connection, and the `resumeWindow` the session waits for its client.
 */
export class PeerSession<Out> {
  readonly state: Resumable<Out>;
  readonly #config: PeerSessionConfig<Out>;
  #expiry: Subscription | undefined;
  readonly #id: string;
  #released: Promise<boolean> | undefined;

  constructor(id: string, config: PeerSessionConfig<Out>) {
    this.#config = config;
    this.#id = id;
    const { store, resumeWindow: ttl } = config;
    const safely = (operation: Promise<unknown>, what: string): Promise<void> => operation.then(noop, (error: unknown) => store?.failed(error, what));
    this.state = new Resumable<Out>({
      session: config.session,
      waitLimit: config.waitLimit,
      scheduler: config.scheduler,
      writer: config.writer,
      onDrop: config.onDrop,
      store: store && {
        write: (batch) => safely(store.api.write(id, batch, ttl), batch.received === undefined ? `message ${batch.sent[0]?.seq} to the client` : `message ${batch.received} from the client`),
        acknowledged: (seq) => void safely(store.api.acknowledged(id, seq), 'an acknowledgement'),
        deliver: store.deliver,
      },
    });
    this.state.id = id;
  }

  /** Ends the session in the store, if this node still holds it: resolves with whether it did (no store: true). */
  release(): Promise<boolean> {
    const { store } = this.#config;
    if (!store) return Promise.resolve(true);
    return (this.#released ??= store.api.end(this.#id).catch((error: unknown) => {
      store.failed(error, 'the end of the session');
      return true;
    }));
  }

  /**
   * A connection of this session opened: the welcome goes first (is it resumed, what the server
   * has), then the unacknowledged messages the client does not have (`clientAck`) again.
   */
  welcome(conn: OpenConnection, resumed: boolean, clientAck: number): void {
    this.#expiry?.unsubscribe();
    this.#expiry = undefined;
    conn.transport.send(welcomeFrame({ id: this.state.id as string, resumed, ack: this.state.received }));
    this.state.attach(conn, clientAck);
  }

  /** An incoming frame: the payload to decode, or undefined. Throws `SessionProtocolError`. */
  receive(data: string | Uint8Array): string | Uint8Array | undefined {
    return this.state.receive(parseFrame(data));
  }

  /** The connection ended: the session waits `resumeWindow` for its client, then `expire` runs. */
  detached(expire: () => void): void {
    this.state.detach();
    this.#expiry = this.#config.scheduler.schedule(expire, this.#config.resumeWindow);
  }

  /** The session is over: unacknowledged messages are dropped with `reason`. */
  end(reason: DropReason): void {
    this.#expiry?.unsubscribe();
    this.#expiry = undefined;
    this.state.end(reason);
  }
}
