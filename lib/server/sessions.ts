import { randomUUID } from 'node:crypto';
import type { Subscription, SchedulerLike } from 'rxjs';
import type { WebSocket } from 'ws';
import { describe } from '../core/errors.js';
import { parseFrame, SESSION_PROTOCOL, type Hello } from '../core/session-frames.js';
import type { SessionStore, StoredSession } from './session-store.js';

const noop = (): void => {};

/** Milliseconds a session connection may take to say hello before it is closed with 1002. */
export const HELLO_TIMEOUT = 10_000;

/** What the registry needs of a peer. */
export interface SessionPeer {
  readonly ended: boolean;
  readonly connected: boolean;
  readonly sessionId: string | undefined;
  readonly closed: Promise<unknown>;
  resume(ws: WebSocket, tcp: never, clientAck: number): string | undefined;
}

/**
 * The server's sessions: which peer holds each session id, the connections that have not said
 * hello yet (each bounded by {@link HELLO_TIMEOUT}, closed at shutdown), and with a session store,
 * the sessions taken over from other nodes and the refresh of the connected ones' expiry.
 */
export class SessionRegistry<P extends SessionPeer> {
  readonly #sessions = new Map<string, P>();
  readonly #pending = new Map<WebSocket, Subscription>();
  /** Sessions being taken over from the store, until the store answered. */
  readonly #claims = new Map<string, Promise<void>>();
  readonly #scheduler: SchedulerLike;
  #touch: Subscription | undefined;

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
  }

  /** The subprotocol to select: the session's when offered, else the first other one (`ws`'s default), else none. */
  static select(protocols: Set<string>, sessions: boolean): string | false {
    if (sessions && protocols.has(SESSION_PROTOCOL)) return SESSION_PROTOCOL;
    for (const protocol of protocols) if (protocol !== SESSION_PROTOCOL) return protocol;
    return false;
  }

  get(id: string | null): P | undefined {
    return id === null ? undefined : this.#sessions.get(id);
  }

  /**
   * Waits for `ws`'s hello; a frame that is not one, none in time, or one `onHello` refuses (it
   * returns why) closes it with 1002 (ended by `closeTimeout`; `track` gets its end, for a
   * shutdown to wait for).
   */
  awaitHello(ws: WebSocket, closeTimeout: number, track: (closed: Promise<unknown>) => void, onHello: (hello: Hello) => Promise<string | undefined>): void {
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
      // The 'error' listener stays: the peer's runtime adds its own, and until then an error must not throw.
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
      void onHello(hello).then((refused) => refused !== undefined && refuse(refused));
    };
    ws.on('message', first);
    ws.on('close', done);
    ws.on('error', ignore);
    this.#pending.set(ws, this.#scheduler.schedule(() => {
      done();
      refuse('no hello in time');
    }, HELLO_TIMEOUT));
  }

  /**
   * A session connection: after its hello, `make` makes a peer for a new session, or for one taken
   * over from `store` (another node held it); a session of this node's is resumed on its peer.
   * `make` returns undefined when the server no longer accepts (then `ws` is terminated).
   */
  accept(
    ws: WebSocket,
    tcp: unknown,
    config: { closeTimeout: number; track: (closed: Promise<unknown>) => void; store: SessionStore | undefined; ttl: number; failed: (error: unknown) => void },
    make: (session: { id: string; restored?: StoredSession; clientAck: number }) => P | undefined,
  ): void {
    const { store, ttl } = config;
    this.awaitHello(ws, config.closeTimeout, config.track, async (hello) => {
      // One claim at a time per session: a client that reconnects again while the store answers
      // resumes the peer the first claim made, rather than making a second.
      if (hello.id !== null) await this.#claims.get(hello.id);
      const existing = this.get(hello.id);
      if (existing && !existing.ended) return existing.resume(ws, tcp as never, hello.ack);
      let restored: StoredSession | undefined;
      if (store && hello.id !== null) {
        const claimed = store.claim(hello.id, ttl).catch((error: unknown) => void config.failed(error));
        const settled = claimed.then(noop);
        this.#claims.set(hello.id, settled);
        restored = await claimed;
        if (this.#claims.get(hello.id) === settled) this.#claims.delete(hello.id);
      }
      if (ws.readyState !== ws.OPEN) return undefined; // gone while the store answered
      if (restored && hello.ack > restored.sent) return `hello.ack ${hello.ack} is beyond the last message sent (${restored.sent})`;
      const id = restored ? (hello.id as string) : randomUUID();
      if (!restored) void store?.create(id, ttl).catch(config.failed);
      const peer = make({ id, clientAck: restored ? hello.ack : 0, restored }); // a new session: its ack means nothing
      if (!peer) return void ws.terminate();
      this.#sessions.set(id, peer);
      void peer.closed.then(() => this.#sessions.get(id) === peer && this.#sessions.delete(id));
      return undefined;
    });
    if (store && !this.#touch) this.#startTouch(store, ttl, config.failed);
  }

  /** Keeps the connected sessions' keys alive in the store: every third of `ttl`, one touch of them all. */
  #startTouch(store: SessionStore, ttl: number, failed: (error: unknown) => void): void {
    const round = (): void => {
      const ids = [...this.#sessions.values()].filter((peer) => peer.connected && !peer.ended).map((peer) => peer.sessionId as string);
      if (ids.length > 0) void store.touch(ids, ttl).catch(failed);
      this.#touch = this.#scheduler.schedule(round, Math.max(1, Math.floor(ttl / 3)));
    };
    this.#touch = this.#scheduler.schedule(round, Math.max(1, Math.floor(ttl / 3)));
  }

  /** Shutdown: every connection still without a hello is terminated; the touches stop. */
  closePending(): void {
    this.#touch?.unsubscribe();
    for (const ws of [...this.#pending.keys()]) {
      this.#pending.get(ws)?.unsubscribe();
      this.#pending.delete(ws);
      ws.terminate();
    }
  }
}
