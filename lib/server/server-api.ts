import type { Observable } from 'rxjs';
import type { BrokerUnavailableError } from '../core/errors.js';
import type { ShutdownReport } from './options.js';
import type { Peer } from './peer-api.js';

/**
 * A WebSocket server whose every accepted client is a {@link Peer} with its own single writer and
 * bounded queue, and whose broadcasts and topic publishes are serialized once.
 *
 * @example
 * ```ts
 * const server = listen<Message, Message>({ port: 0 });
 * await server.ready;
 * server.connections$.subscribe((peer) => peer.messages$.subscribe((msg) => void peer.send(msg)));
 * ```
 */
export interface Server<In = unknown, Out = unknown> {
  /** Resolves once the server listens (attached: at once). Rejects if it cannot (the port is taken). */
  readonly ready: Promise<void>;
  /** `ws://host:port/path`, once `ready`. */
  readonly url: string;
  /** The port listened on (attached: the HTTP server's), once `ready`. */
  readonly port: number;
  /** Every accepted client, emitted when its upgrade completes. Completes when the server closes. */
  readonly connections$: Observable<Peer<In, Out>>;
  /** The live peers. */
  readonly peers: ReadonlySet<Peer<In, Out>>;
  /**
   * Serializes `message` once and queues it on every live peer's own writer (`except` one peer,
   * or only those `filter` accepts). Never waits for a slow peer; returns how many it was queued on.
   * With a `broker`, also relays it to every other node (a failure goes to `relayErrors$`); a
   * broadcast with a `filter` stays on this node (a predicate cannot travel).
   */
  broadcast(message: Out, options?: { except?: Peer<In, Out>; filter?: (peer: Peer<In, Out>) => boolean }): number;
  /**
   * Serializes `message` once and queues it on every peer that joined `topic`; returns how many
   * (on this node). With a `broker`, also relays it to every other node, whose peers in `topic`
   * get it in this node's publish order; a failure goes to `relayErrors$`.
   */
  publish(topic: string, message: Out): number;
  /**
   * With a `broker`: every publish or broadcast that could not be relayed to the other nodes
   * (this node's peers got it). Without a subscriber, each goes to the `logger`. Never errors;
   * completes when the server has closed. Without a broker: nothing, and completes at close.
   */
  readonly relayErrors$: Observable<BrokerUnavailableError>;
  /**
   * Shuts down, idempotently: refuses new upgrades (503), lets each peer's queue flush, closes
   * every peer with `code`/`reason`, terminates those not closed within `timeout` ms, stops
   * listening (attached: only removes its upgrade handler).
   */
  close(options?: { code?: number; reason?: string; timeout?: number }): Promise<ShutdownReport>;
}
