import type { Observable } from 'rxjs';
import { checkCloseArguments } from '../core/close-codes.js';
import type { WireData } from '../core/codec.js';
import { runConnection, type ConnectionEvents, type LiveConnection } from '../core/connection.js';
import { asError, ConnectionClosedError, HeartbeatTimeoutError, closeInfo, type DropReason } from '../core/errors.js';
import type { OutgoingEntry } from '../core/outgoing-entry.js';
import { Outbox, type OutboxOwner } from '../core/outbox.js';
import type { DroppedMessage, SendOptions } from '../client/rx-socket.js';
import type { TcpSocket } from '../transports/ws.js';
import { acceptedOn, type AcceptedSocket } from '../transports/ws-accepted.js';
import type { PeerClose, PeerRequest } from './options.js';
import type { Peer, PeerContext } from './peer-api.js';
import { PeerSession } from './peer-session.js';
import { SessionProtocolError } from '../core/session-errors.js';
import type { StoredSession } from './session-store.js';
import { PeerInbox, type InboxOwner } from './inbox.js';

const NO_TOPICS: ReadonlySet<string> = new Set();

/** A peer as its server drives it. */
export class ServerPeer<In, Out> implements Peer<In, Out>, ConnectionEvents, OutboxOwner<Out>, InboxOwner {
  readonly id: string;
  readonly request: PeerRequest;
  readonly closed: Promise<PeerClose>;
  /** A ping is out and its pong not back: the server's heartbeat terminates the peer at its deadline. */
  awaitingPong = false;
  readonly #context: PeerContext<In, Out>;
  // Made on first use: an idle peer holds no more than it must (a server holds thousands).
  #topics: Set<string> | undefined;
  /** The current connection (a replaced one's end is ignored); none while a session waits for its client. */
  #conn: LiveConnection | undefined;
  /** With a resumable session. */
  readonly #session: PeerSession<Out> | undefined;
  /** Its send path and its single writer. */
  readonly #outbox: Outbox<Out>;
  /** Its receive side and its streams. */
  readonly #inbox: PeerInbox<In, Out>;
  #initiator: PeerClose['initiator'] = 'client';
  /** Resolves `closed`; undefined once the peer ended. */
  #resolveClosed: ((close: PeerClose) => void) | undefined;

  /**
   * A peer on its first connection; with `session`, a new session's, or (`restored`) one taken
   * over from another node through the session store, resumed from `clientAck`.
   */
  constructor(
    id: string,
    ws: AcceptedSocket,
    tcp: TcpSocket,
    request: PeerRequest,
    context: PeerContext<In, Out>,
    session?: { id: string; restored?: StoredSession; clientAck?: number },
  ) {
    this.id = id;
    this.request = request;
    this.#context = context;
    this.closed = new Promise<PeerClose>((resolve) => (this.#resolveClosed = resolve));
    this.#inbox = new PeerInbox<In, Out>(context, this);
    const { buffer } = context;
    const options = context.session;
    const outbox = (this.#outbox = new Outbox<Out>(options && session ? context.sends.session : context.sends.volatile, this));
    const store = options?.store;
    if (options && session) {
      this.#session = new PeerSession<Out>(session.id, {
        ...(store && {
          store: {
            ...store,
            deliver: (payload) => void (this.ended || this.#inbox.payload(payload)),
            failed: (error, what) => this.#inbox.reportError(asError(error), 'store', `the session store failed (${what}): this session now holds on this node only`),
          },
        }),
        session: options,
        resumeWindow: options.resumeWindow,
        scheduler: context.scheduler,
        waitLimit: buffer.size,
        writer: outbox,
        onDrop: (message, reason, promised) => this.#inbox.dropped(message, reason, undefined, promised),
      });
    }
    if (this.#session) outbox.useSession(this.#session.state);
    const restored = session?.restored;
    if (restored) this.#session?.state.restore(restored.received, restored.sent, restored.outgoing);
    this.#attach(ws, tcp, restored !== undefined, session?.clientAck ?? 0);
  }

  /**
   * The client resumed this peer's session on a new connection (replacing one the server still
   * thought open). Returns why not if its hello acknowledges more than was sent.
   */
  resume(ws: AcceptedSocket, tcp: TcpSocket, clientAck: number): string | undefined {
    const sent = (this.#session as PeerSession<Out>).state.retention.lastSeq;
    if (clientAck > sent) return `hello.ack ${clientAck} is beyond the last message sent (${sent})`;
    const old = this.#conn;
    if (old) {
      this.#detach();
      old.fail(new ConnectionClosedError({ code: 1006, reason: 'replaced by a resumed connection', wasClean: false }));
    }
    this.#attach(ws, tcp, true, clientAck);
    return undefined;
  }

  /** Runs a connection for this peer; in a session, its welcome goes first. */
  #attach(ws: AcceptedSocket, tcp: TcpSocket, resumed: boolean, clientAck: number): void {
    acceptedOn(ws, tcp);
    // The socket is open: the runtime reports it (connectionOpened) before it returns.
    const conn = runConnection(ws as never, this.#context.connections, this);
    if (conn !== this.#conn) return; // it ended at once
    this.#session?.welcome(conn, resumed, clientAck);
    this.#outbox.attach(conn);
  }

  // ConnectionEvents and OutboxOwner: what this peer's connections and outbox report. Not part
  // of the Peer API.

  connectionOpened(conn: LiveConnection): void {
    this.#conn = conn;
    this.awaitingPong = false;
  }

  connectionEnded(error: ConnectionClosedError, conn: LiveConnection): void {
    if (conn === this.#conn) this.#connectionEnded(error);
  }

  connectionMessage(data: string | Uint8Array): void {
    if (!this.ended) this.#inbox.receive(data, this.#session as PeerSession<unknown> | undefined);
  }

  connectionPong(): void {
    this.awaitingPong = false;
  }

  writerDropped(entry: OutgoingEntry<Out>, reason: DropReason, cause: unknown): void {
    this.#inbox.dropped(entry.message, reason, cause, entry.promised);
    if (reason === 'overflow' && this.#context.slowConsumer === 'close' && this.#initiator !== 'server') void this.close(1013, 'slow consumer');
  }

  outgoingFailed(error: Error): void {
    this.#inbox.reportError(error, 'serialize', 'a message could not be serialized');
  }

  writerQueued(occupied: boolean): void {
    if (!occupied) this.#queueEmptied();
  }

  /**
   * A connection ended. Without a session, or closed for good (by the server, or cleanly by the
   * client with 1000/1001), the peer ends; else its session waits `resumeWindow` for the client.
   */
  #connectionEnded(error: ConnectionClosedError): void {
    const session = this.#session;
    // A frame that broke the session protocol closed the connection with 1002: reported. The
    // session is kept (a link that lost bytes in the middle, e.g. behind a faulty proxy, looks the
    // same as a buggy client): the client may resume it from where both ends agree.
    if (error.cause instanceof SessionProtocolError) this.#inbox.reportError(error.cause, 'protocol', 'a frame broke the session protocol; the connection was closed with 1002');
    const closedForGood = this.#initiator === 'server' || (error.wasClean && (error.code === 1000 || error.code === 1001));
    if (!session || closedForGood) return this.#end(error);
    this.#detach();
    // At the window's end: lost, unless another node took it over meanwhile (then its messages go on there).
    session.detached(() => void session.release().then((held) => this.#end(error, held ? 'session-lost' : 'closed')));
  }

  #detach(): void {
    this.#conn = undefined;
    this.awaitingPong = false;
    this.#outbox.detach();
    this.#session?.state.detach();
  }

  get messages$(): Observable<In> {
    return this.#inbox;
  }

  get errors$(): Observable<Error> {
    return this.#inbox.errors;
  }

  get dropped$(): Observable<DroppedMessage<Out>> {
    return this.#inbox.drops;
  }

  get topics(): ReadonlySet<string> {
    return this.#topics ?? NO_TOPICS;
  }

  get buffered(): number {
    return this.#outbox.waitingCount;
  }

  get ended(): boolean {
    return this.#resolveClosed === undefined;
  }

  get sessionId(): string | undefined {
    return this.#session?.state.id;
  }

  get connected(): boolean {
    return this.#conn !== undefined;
  }

  get unacknowledged(): number {
    return this.#outbox.unacknowledged;
  }

  send(message: Out, options?: SendOptions): Promise<void> {
    return this.#outbox.send(message, options);
  }

  /**
   * A message serialized once for many peers (a broadcast): queued on this peer's own writer, never
   * waited for. `encoded`: its text as a whole frame prepared once (see `preparedTextFrame`), used
   * where `data` goes out as it is (not in a session, whose frames wrap it).
   */
  offer(message: Out, data: WireData, encoded?: Uint8Array): void {
    if (!this.ended) this.#outbox.offerEncoded(message, data, encoded);
  }

  close(code = 1000, reason = ''): Promise<PeerClose> {
    checkCloseArguments(code, reason, 'rfc6455');
    if (this.ended) return this.closed;
    this.#initiator = 'server';
    const conn = this.#conn;
    if (conn) this.#context.track(conn.close(code, reason));
    else if (this.#session) this.#end(new ConnectionClosedError({ code, reason, wasClean: true })); // a session waiting for its client
    return this.closed;
  }

  /** Resolves once nothing waits in this peer's queue (written, or dropped), or at `deadline` ms from now. */
  drained(deadline: number): Promise<void> {
    if (this.#outbox.idle || this.ended || !this.#conn) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // The waiters are the server's (a shutdown's flush): a peer keeps no field for them.
      const drains = this.#context.drains;
      const done = (): void => {
        timer.unsubscribe();
        const waiters = drains.get(this);
        if (waiters?.delete(done) && waiters.size === 0) drains.delete(this);
        resolve();
      };
      const timer = this.#context.scheduler.schedule(done, deadline);
      const waiters = drains.get(this);
      if (waiters) waiters.add(done);
      else drains.set(this, new Set([done]));
    });
  }

  /** Ends the connection at once: the heartbeat's verdict, or a shutdown's timeout. */
  terminate(error: ConnectionClosedError, initiator: PeerClose['initiator']): void {
    if (this.ended) return;
    this.#initiator = initiator;
    if (this.#conn) this.#conn.fail(error);
    else this.#end(error); // a session waiting for its client
  }

  /** Sends a ping frame (the server's heartbeat). */
  ping(): void {
    if (!this.#conn) return;
    this.awaitingPong = true;
    this.#conn.transport.ping?.();
  }

  join(topic: string): void {
    if (typeof topic !== 'string') throw new TypeError(`Expected \`topic\` to be a string, got ${typeof topic}`);
    if (this.ended || this.#topics?.has(topic)) return;
    (this.#topics ??= new Set()).add(topic);
    this.#context.joined(this, topic);
  }

  leave(topic: string): void {
    if (!this.#topics?.delete(topic)) return;
    this.#context.left(this, topic);
  }

  /** The client broke a limit: reported, and closed with 1008 (policy violation). Not part of the Peer API. */
  violation(message: string, reason: string): void {
    if (this.#initiator === 'server') return; // closing already
    this.#inbox.reportError(new Error(`Peer ${this.id} closed with 1008: ${message}`), 'policy', 'a limit was exceeded');
    void this.close(1008, reason);
  }

  #queueEmptied(): void {
    const waiters = this.#context.drains.get(this);
    if (waiters) for (const done of [...waiters]) done();
  }

  #end(error: ConnectionClosedError, lost: DropReason = 'closed'): void {
    const resolveClosed = this.#resolveClosed;
    if (resolveClosed === undefined) return;
    this.#resolveClosed = undefined;
    void this.#session?.release(); // the store forgets it (once)
    this.#conn = undefined;
    this.#outbox.close();
    this.#session?.end(lost);
    for (const topic of [...this.topics]) this.leave(topic);
    const initiator = error instanceof HeartbeatTimeoutError ? 'heartbeat' : this.#initiator;
    this.#context.gone(this);
    const { code, reason, wasClean, status } = closeInfo(error);
    resolveClosed(status === undefined ? { code, reason, wasClean, initiator } : { code, reason, wasClean, status, initiator });
    this.#queueEmptied();
    // Held messages stay for a late first subscriber, who then gets the completion.
    this.#inbox.ended();
    this.#inbox.completed();
  }
}
