import type { SchedulerLike } from 'rxjs';
import type { ConnectionConfig, ConnectionEvents, OpenConnection } from '../core/connection.js';
import type { ConnectionClosedError, DropReason } from '../core/errors.js';
import type { OutgoingEntry } from '../core/outgoing-entry.js';
import type { Listen } from '../core/transport.js';
import { listenToAccepted } from '../transports/ws-accepted.js';
import type { PeerContext } from './peer-api.js';

/** What a peer's connections and writer report to it (its methods for {@link PeerLink} and its writer). */
export interface LinkedPeer {
  /** Connection `attachment` opened (its welcome first, in a session). */
  linkOpened(attachment: number, conn: OpenConnection, resumed: boolean, clientAck: number): void;
  linkEnded(attachment: number, error: ConnectionClosedError): void;
  linkMessage(data: string | Uint8Array): void;
  linkPong(): void;
  writerDropped(entry: OutgoingEntry<unknown>, reason: DropReason, cause: unknown): void;
  writerQueued(occupied: boolean): void;
}

// Classes with their settings as getters on the prototype: a server holds thousands of peers, and
// an object of closures per peer (and per connection) is what an idle one would hold otherwise.

/** One connection of a peer: the runtime's config and events, told apart from a replaced one by `attachment`. */
export class PeerLink implements ConnectionConfig, ConnectionEvents {
  readonly #peer: LinkedPeer;
  readonly #context: PeerContext<unknown, unknown>;
  readonly #attachment: number;
  readonly #resumed: boolean;
  readonly #clientAck: number;

  constructor(peer: LinkedPeer, context: PeerContext<unknown, unknown>, attachment: number, resumed: boolean, clientAck: number) {
    this.#peer = peer;
    this.#context = context;
    this.#attachment = attachment;
    this.#resumed = resumed;
    this.#clientAck = clientAck;
  }

  get listen(): Listen {
    return listenToAccepted;
  }

  get scheduler(): SchedulerLike {
    return this.#context.scheduler;
  }

  get closeTimeout(): number {
    return this.#context.closeTimeout;
  }

  /** None per connection: the server's shared timer pings every peer. */
  get heartbeat(): false {
    return false;
  }

  get handshake(): undefined {
    return undefined;
  }

  onMessage(data: string | Uint8Array): void {
    this.#peer.linkMessage(data);
  }

  onClosing(closing: Promise<unknown>): void {
    this.#context.track(closing);
  }

  onPong(): void {
    this.#peer.linkPong();
  }

  open(conn: OpenConnection): void {
    this.#peer.linkOpened(this.#attachment, conn, this.#resumed, this.#clientAck);
  }

  end(error: ConnectionClosedError): void {
    this.#peer.linkEnded(this.#attachment, error);
  }
}
