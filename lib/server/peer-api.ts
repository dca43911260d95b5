import type { Observable, SchedulerLike } from 'rxjs';
import type { ConnectionConfig } from '../core/connection.js';
import type { OutboxConfig } from '../core/outbox.js';
import type { Codec } from '../core/codec.js';
import type { Reporter } from '../core/report.js';
import type { ResolvedSession } from '../core/session-options.js';
import type { DroppedMessage, SendOptions } from '../client/rx-socket.js';
import type { PeerClose, PeerRequest, SlowConsumerPolicy } from './options.js';
import type { ServerPeer } from './peer.js';
import type { SessionStore } from './session-store.js';

/**
 * One accepted client, spoken to like the client side speaks to its server: its own single
 * writer and bounded queue (the core's `Writer`), its own connection runtime, its own streams.
 *
 * @example
 * ```ts
 * server.connections$.subscribe((peer) => {
 *   peer.messages$.subscribe((msg) => void peer.send({ echo: msg }));
 *   peer.closed.then(({ code, initiator }) => console.log(peer.id, 'left', code, initiator));
 * });
 * ```
 */
export interface Peer<In = unknown, Out = unknown> {
  /** Unique within the server: `1`, `2`, … in accept order. */
  readonly id: string;
  readonly request: PeerRequest;
  /**
   * Incoming messages, decoded. What arrives before the first subscription is held (up to
   * `holdLimit`) and given to that subscriber first. Completes when the connection ends, whatever
   * the cause (`closed` says how).
   */
  readonly messages$: Observable<In>;
  /** Messages that did not decode (`DecodeError`), a rate or hold limit that closed the peer. Completes at the end. */
  readonly errors$: Observable<Error>;
  /** Every message dropped before it was written, with the reason. Completes at the end. */
  readonly dropped$: Observable<DroppedMessage<Out>>;
  /** Resolves once the connection has ended, with how and by whom. */
  readonly closed: Promise<PeerClose>;
  /** Messages waiting in this peer's queue. */
  readonly buffered: number;
  /** The topics this peer has joined. */
  readonly topics: ReadonlySet<string>;
  /** With a resumable session: its id (the peer is the session, across the client's reconnects). */
  readonly sessionId: string | undefined;
  /** Whether the client is connected now (a session's peer outlives its connections within `resumeWindow`). */
  readonly connected: boolean;
  /** With a session: reliable messages sent and not yet acknowledged by the client (those waiting for room included). */
  readonly unacknowledged: number;
  /**
   * Sends a message through this peer's single writer: written at once when its socket takes it,
   * else queued (bounded). Resolves when handed to the socket; rejects with `MessageDroppedError`
   * (never throws). In a session, a reliable message (the default there) resolves at the client's
   * receipt instead, and waits in the retention while the client is away.
   */
  send(message: Out, options?: SendOptions): Promise<void>;
  /** Closes with `code` (default 1000) and `reason`; every call returns the first call's `closed`. */
  close(code?: number, reason?: string): Promise<PeerClose>;
  /** Joins `topic`: `server.publish(topic, …)` reaches this peer until it leaves or closes. */
  join(topic: string): void;
  leave(topic: string): void;
}

/** What a peer needs from its server. */
export interface PeerContext<In, Out> {
  readonly codec: Codec<In, Out>;
  readonly scheduler: SchedulerLike;
  readonly buffer: { size: number; bytes: number; timeout: number };
  readonly slowConsumer: SlowConsumerPolicy;
  readonly closeTimeout: number;
  /** Every peer's send and writer settings: one object for peers without a session, one for those with (their default delivery). */
  readonly sends: { readonly volatile: OutboxConfig<Out>; readonly session: OutboxConfig<Out> };
  /** Every peer's connection runtime settings: one object. */
  readonly connections: ConnectionConfig;
  readonly holdLimit: number;
  readonly inboundRate: false | { perSecond: number; burst: number };
  readonly report: Reporter;
  /** With sessions: their options, how long a session waits for its client, and where it is written ahead (if anywhere). */
  readonly session: (ResolvedSession & { resumeWindow: number; store: { api: SessionStore } | undefined }) | undefined;
  /** Topic membership lives with the server: it publishes. */
  joined(peer: ServerPeer<In, Out>, topic: string): void;
  left(peer: ServerPeer<In, Out>, topic: string): void;
  /** The peer ended (before its `closed` settles): the server forgets it. */
  gone(peer: ServerPeer<In, Out>): void;
  /** Who waits for a peer's queue to empty (`ServerPeer.drained`, a shutdown's flush). */
  readonly drains: Map<ServerPeer<In, Out>, Set<() => void>>;
  /** Background closes, to wait for at shutdown. */
  track(closing: Promise<unknown>): void;
}
