import type { WireData } from '../core/codec.js';
import type { StoreBatch } from '../core/resumable.js';

/**
 * A session as a {@link SessionStore} keeps it: enough for another node to take it over.
 *
 * @example
 * ```ts
 * const broker = redisBroker({ url: 'redis://127.0.0.1:6379' });
 * const taken: StoredSession | undefined = await broker.sessions?.claim('0f6e…', 120_000);
 * if (taken) console.log(`${taken.outgoing.length} messages to replay; the client's last delivered: ${taken.received}`);
 * ```
 */
export interface StoredSession {
  /** The last reliable message from the client that was delivered. */
  readonly received: number;
  /** The last reliable message to the client that was numbered. */
  readonly sent: number;
  /** The messages to the client not yet acknowledged, in order. */
  readonly outgoing: ReadonlyArray<{ readonly seq: number; readonly data: WireData }>;
}

/**
 * Where sessions live when they must outlive their node (`listen({ session: { store: 'broker' } })`
 * with a broker that has one, e.g. `redisBroker()`): each node writes a session's progress —
 * every reliable message to the client before it is written to the socket; every reliable
 * message from the client, once delivered, together with what its handler sent, before it is
 * acknowledged — so a client whose node died resumes on another with nothing lost or duplicated. Keys expire `ttl` ms after their last write; a node
 * refreshes those of its connected sessions (`touch`). A store speaks for one node; a session
 * belongs to one node at a time (`claim` moves it to this one, and a node's writes to a session it
 * no longer holds fail).
 *
 * @example
 * ```ts
 * // The Redis broker has one; with it, a client whose node died resumes on another.
 * const broker = redisBroker({ url: 'redis://127.0.0.1:6379' });
 * const store: SessionStore | undefined = broker.sessions;
 * const server = listen({ port: 8080, broker, session: { store: 'broker' } });
 * ```
 */
export interface SessionStore {
  /** A new session of this node's. */
  create(id: string, ttl: number): Promise<void>;
  /** Takes session `id` over for this node: its state, or undefined if it is unknown (never made, expired, ended). */
  claim(id: string, ttl: number): Promise<StoredSession | undefined>;
  /**
   * Writes, all or nothing: reliable messages to the client (before they go to the socket), and
   * that message `received` from the client was delivered (with what its handler sent).
   */
  write(id: string, batch: StoreBatch, ttl: number): Promise<void>;
  /** The client has every message up to `seq`: they may go. */
  acknowledged(id: string, seq: number): Promise<void>;
  /** Keeps these sessions from expiring (they are connected). */
  touch(ids: readonly string[], ttl: number): Promise<void>;
  /** Ends session `id` if this node still holds it; resolves with whether it did (false: it moved to another node). */
  end(id: string): Promise<boolean>;
}
