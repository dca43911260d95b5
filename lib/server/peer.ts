import { Observable, type SchedulerLike } from 'rxjs';
import type { WebSocket } from 'ws';
import { checkCloseArguments } from '../core/close-codes.js';
import type { Codec, WireData } from '../core/codec.js';
import { runConnection, type ConnectionRuntime, type OpenConnection } from '../core/connection.js';
import { ConnectionClosedError, HeartbeatTimeoutError, closeInfo } from '../core/errors.js';
import { receive, type ReceiveTarget } from '../core/receive.js';
import type { Reporter } from '../core/report.js';
import { SocketStreams } from '../core/streams.js';
import { Writer } from '../core/writer.js';
import type { DroppedMessage, SendOptions } from '../client/rx-socket.js';
import { validateSendOptions } from '../client/validate-options.js';
import { listenToAccepted, type TcpSocket } from '../transports/ws.js';
import type { PeerClose, PeerRequest, SlowConsumerPolicy } from './options.js';
import type { ResolvedSession } from '../core/session-options.js';
import { volatileFrame } from '../core/session-frames.js';
import { SessionProtocolError } from '../core/session-errors.js';
import type { DropReason } from '../core/errors.js';
import { PeerSession } from './peer-session.js';

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
  readonly highWaterMark: number;
  readonly closeTimeout: number;
  readonly holdLimit: number;
  readonly inboundRate: false | { perSecond: number; burst: number };
  readonly report: Reporter;
  /** With sessions: their options, and how long a session waits for its client. */
  readonly session: (ResolvedSession & { resumeWindow: number }) | undefined;
  /** Topic membership lives with the server: it publishes. */
  joined(peer: ServerPeer<In, Out>, topic: string): void;
  left(peer: ServerPeer<In, Out>, topic: string): void;
  /** Background closes, to wait for at shutdown. */
  track(closing: Promise<unknown>): void;
}

const NO_TOPICS: ReadonlySet<string> = new Set();

/** A peer as its server drives it. */
export class ServerPeer<In, Out> implements Peer<In, Out>, ReceiveTarget<In> {
  readonly id: string;
  readonly request: PeerRequest;
  readonly closed: Promise<PeerClose>;
  /** A ping is out and its pong not back: the server's heartbeat terminates the peer at its deadline. */
  awaitingPong = false;
  readonly #context: PeerContext<In, Out>;
  readonly #writer: Writer<Out>;
  readonly #streams: SocketStreams<In, Out>;
  // Made on first use: an idle peer holds no more than it must (a server holds thousands).
  #messages$: Observable<In> | undefined;
  #topics: Set<string> | undefined;
  #runtime: ConnectionRuntime | undefined;
  #conn: OpenConnection | undefined;
  /** Which connection is the current one: a replaced one's end is ignored. */
  #attachment = 0;
  /** With a resumable session. */
  readonly #session: PeerSession<Out> | undefined;
  /** Messages before the first subscription to messages$ (made on the first of them). */
  #held: In[] | undefined;
  #subscribed = false;
  #ended = false;
  /** Waiting for the queue to empty (a shutdown's flush). */
  #emptied: Set<() => void> | undefined;
  #initiator: PeerClose['initiator'] = 'client';
  #resolveClosed!: (close: PeerClose) => void;
  #tokens: number;
  #tokensAt: number;

  /** A peer on its first connection; with `sessionId`, a new session's. */
  constructor(id: string, ws: WebSocket, tcp: TcpSocket, request: PeerRequest, context: PeerContext<In, Out>, sessionId?: string) {
    this.id = id;
    this.request = request;
    this.#context = context;
    this.closed = new Promise<PeerClose>((resolve) => (this.#resolveClosed = resolve));
    this.#streams = new SocketStreams<In, Out>(context.report, `peer ${id}: `, 'peer.');
    this.#tokens = context.inboundRate ? context.inboundRate.burst : 0;
    this.#tokensAt = context.scheduler.now();
    const { buffer, slowConsumer } = context;
    this.#writer = new Writer<Out>({
      size: buffer.size,
      bytes: buffer.bytes,
      overflow: slowConsumer === 'drop-newest' ? 'drop-newest' : 'drop-oldest',
      highWaterMark: context.highWaterMark,
      scheduler: context.scheduler,
      onDrop: (entry, reason, cause) => {
        this.#streams.dropped(entry.message, reason, cause, entry.promised);
        if (reason === 'overflow' && context.slowConsumer === 'close' && this.#initiator !== 'server') void this.close(1013, 'slow consumer');
      },
      onQueued: (occupied) => occupied || this.#queueEmptied(),
    });
    const { session } = context;
    if (session && sessionId !== undefined) {
      this.#session = new PeerSession<Out>(sessionId, {
        session,
        resumeWindow: session.resumeWindow,
        scheduler: context.scheduler,
        waitLimit: buffer.size,
        writer: this.#writer,
        onDrop: (message, reason, promised) => this.#streams.dropped(message, reason, undefined, promised),
      });
    }
    this.#attach(ws, tcp, false, 0);
  }

  /**
   * The client resumed this peer's session on a new connection (replacing one the server still
   * thought open). Throws `SessionProtocolError`, touching nothing, for a hello that acknowledges
   * more than this session ever sent.
   */
  resume(ws: WebSocket, tcp: TcpSocket, clientAck: number): void {
    const sent = this.#session?.state.retention.lastSeq ?? 0;
    if (clientAck > sent) throw new SessionProtocolError(`hello: ack ${clientAck} is beyond the last message sent in this session (${sent})`);
    const old = this.#runtime;
    this.#attachment++;
    if (this.#conn) this.#detach();
    old?.fail(new ConnectionClosedError({ code: 1006, reason: 'replaced by a resumed connection', wasClean: false }));
    this.#attach(ws, tcp, true, clientAck);
  }

  /** Runs a connection for this peer; in a session, its welcome goes first. */
  #attach(ws: WebSocket, tcp: TcpSocket, resumed: boolean, clientAck: number): void {
    const attachment = ++this.#attachment;
    const context = this.#context;
    this.#runtime = runConnection(
      ws as never,
      {
        listen: listenToAccepted(tcp),
        scheduler: context.scheduler,
        closeTimeout: context.closeTimeout,
        heartbeat: false, // the server's shared timer pings every peer
        onMessage: (data) => this.#receive(data),
        handshake: undefined,
        onClosing: (closing) => context.track(closing),
        onPong: () => (this.awaitingPong = false),
      },
      {
        open: (conn) => {
          if (attachment !== this.#attachment) return;
          this.#conn = conn;
          this.awaitingPong = false;
          this.#session?.welcome(conn, resumed, clientAck);
          this.#writer.attach(conn);
        },
        end: (error) => void (attachment === this.#attachment && this.#connectionEnded(error)),
      },
    );
  }

  /**
   * A connection ended. Without a session, or closed for good (by the server, or cleanly by the
   * client with 1000/1001), the peer ends; else its session waits `resumeWindow` for the client.
   */
  #connectionEnded(error: ConnectionClosedError): void {
    const session = this.#session;
    const closedForGood = this.#initiator === 'server' || (error.wasClean && (error.code === 1000 || error.code === 1001));
    if (!session || closedForGood) return this.#end(error);
    this.#detach();
    session.detached(() => this.#end(error, 'session-lost'));
  }

  #detach(): void {
    this.#conn = undefined;
    this.awaitingPong = false;
    this.#writer.detach();
    this.#session?.state.detach();
  }

  get messages$(): Observable<In> {
    return (this.#messages$ ??= new Observable<In>((subscriber) => {
      if (!this.#subscribed) {
        this.#subscribed = true;
        const held = this.#held;
        this.#held = undefined;
        if (held) for (const message of held) subscriber.next(message);
      }
      return this.#streams.incoming.subscribe(subscriber);
    }));
  }

  get errors$(): Observable<Error> {
    return this.#streams.errors.asObservable();
  }

  get dropped$(): Observable<DroppedMessage<Out>> {
    return this.#streams.drops.asObservable();
  }

  get topics(): ReadonlySet<string> {
    return this.#topics ?? NO_TOPICS;
  }

  get buffered(): number {
    return this.#writer.waitingCount;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get sessionId(): string | undefined {
    return this.#session?.state.id;
  }

  get connected(): boolean {
    return this.#conn !== undefined;
  }

  get unacknowledged(): number {
    const retention = this.#session?.state.retention;
    return retention ? retention.unacknowledged + retention.waiting : 0;
  }

  send(message: Out, options?: SendOptions): Promise<void> {
    let timeout = this.#context.buffer.timeout;
    const session = this.#session;
    let delivery = session ? (this.#context.session as ResolvedSession).delivery : 'volatile';
    if (options !== undefined && !this.#ended) {
      try {
        validateSendOptions(options);
        if (options.delivery === 'reliable' && !session) throw new TypeError(`\`delivery: 'reliable'\` needs a session: peer ${this.id}'s client did not ask for one`);
      } catch (error) {
        return Promise.reject(error);
      }
      timeout = options.timeout ?? timeout;
      delivery = options.delivery ?? delivery;
    }
    if (this.#ended) return this.#writer.refuse(message, 'closed');
    let data: WireData;
    try {
      data = this.#context.codec.encode(message);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!session) return this.#writer.submit(message, data, timeout);
    if (delivery === 'reliable') return session.state.send(message, data, timeout, true) as Promise<void>;
    return this.#writer.submit(message, volatileFrame(data), timeout);
  }

  /**
   * A message serialized once for many peers (a broadcast): queued on this peer's own writer,
   * never waited for; in a session, in its default delivery class.
   */
  offer(message: Out, data: WireData): void {
    if (this.#ended) return;
    const session = this.#session;
    if (!session) return this.#writer.offer(message, data, this.#context.buffer.timeout);
    if ((this.#context.session as ResolvedSession).delivery === 'reliable') void session.state.send(message, data, this.#context.buffer.timeout, false);
    else this.#writer.offer(message, volatileFrame(data), this.#context.buffer.timeout);
  }

  close(code = 1000, reason = ''): Promise<PeerClose> {
    checkCloseArguments(code, reason, 'rfc6455');
    if (this.#ended) return this.closed;
    this.#initiator = 'server';
    const conn = this.#conn;
    if (conn) this.#context.track(conn.close(code, reason));
    else if (this.#session) this.#end(new ConnectionClosedError({ code, reason, wasClean: true })); // a session waiting for its client
    return this.closed;
  }

  /** Resolves once nothing waits in this peer's queue (written, or dropped), or at `deadline` ms from now. */
  drained(deadline: number): Promise<void> {
    if (this.#writer.idle || this.#ended || !this.#conn) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        timer.unsubscribe();
        this.#emptied?.delete(done);
        resolve();
      };
      const timer = this.#context.scheduler.schedule(done, deadline);
      (this.#emptied ??= new Set()).add(done);
    });
  }

  /** Ends the connection at once: the heartbeat's verdict, or a shutdown's timeout. */
  terminate(error: ConnectionClosedError, initiator: PeerClose['initiator']): void {
    if (this.#ended) return;
    this.#initiator = initiator;
    if (this.#runtime && this.#conn) this.#runtime.fail(error);
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
    if (this.#ended || this.#topics?.has(topic)) return;
    (this.#topics ??= new Set()).add(topic);
    this.#context.joined(this, topic);
  }

  leave(topic: string): void {
    if (!this.#topics?.delete(topic)) return;
    this.#context.left(this, topic);
  }

  // ReceiveTarget: the server uses ping frames, so no message is a pong.
  pong(): void {}

  deliver(message: In): void {
    if (this.#subscribed) return this.#streams.incoming.next(message);
    const held = (this.#held ??= []);
    if (held.length >= this.#context.holdLimit) {
      return this.#violation(`more than ${this.#context.holdLimit} messages arrived before the application subscribed to messages$ (holdLimit)`, 'hold limit');
    }
    held.push(message);
  }

  error(error: Error, kind: string, what: string): void {
    this.#streams.error(error, kind, what);
  }

  #receive(data: string | Uint8Array): void {
    if (this.#ended) return;
    const rate = this.#context.inboundRate;
    if (rate) {
      const now = this.#context.scheduler.now();
      this.#tokens = Math.min(rate.burst, this.#tokens + ((now - this.#tokensAt) * rate.perSecond) / 1000);
      this.#tokensAt = now;
      if (this.#tokens < 1) return this.#violation(`more than ${rate.perSecond} messages per second (burst ${rate.burst}): inboundRate`, 'rate limit');
      this.#tokens -= 1;
    }
    const session = this.#session;
    if (!session) return receive(data, this.#context.codec, undefined, this);
    const payload = session.receive(data); // a throw: a protocol error, the connection ends with 1002
    if (payload !== undefined) receive(payload, this.#context.codec, undefined, this);
  }

  /** The client broke a limit: reported, and closed with 1008 (policy violation). */
  #violation(message: string, reason: string): void {
    if (this.#initiator === 'server') return; // closing already
    this.error(new Error(`Peer ${this.id} closed with 1008: ${message}`), 'policy', 'a limit was exceeded');
    void this.close(1008, reason);
  }

  #queueEmptied(): void {
    if (this.#emptied) for (const done of [...this.#emptied]) done();
  }

  #end(error: ConnectionClosedError, lost: DropReason = 'closed'): void {
    this.#ended = true;
    this.#conn = undefined;
    this.#writer.close('closed');
    this.#session?.end(lost);
    for (const topic of [...this.topics]) this.leave(topic);
    const initiator = error instanceof HeartbeatTimeoutError ? 'heartbeat' : this.#initiator;
    this.#resolveClosed({ ...closeInfo(error), initiator });
    this.#queueEmptied();
    // Held messages stay for a late first subscriber, who then gets the completion.
    this.#streams.ended();
    this.#streams.completed();
  }
}
