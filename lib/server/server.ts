import { createServer, STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { asyncScheduler, ignoreElements, Subject, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { WebSocketServer, type Server as WsServer, type ServerOptions as WsServerOptions } from 'ws';
import { checkCloseArguments } from '../core/close-codes.js';
import { createCodec, type Codec, type WireData } from '../core/codec.js';
import { HeartbeatTimeoutError, describe, type BrokerUnavailableError } from '../core/errors.js';
import { createReporter, type Reporter } from '../core/report.js';
import { preparedTextFrame, type TcpSocket } from '../transports/ws.js';
import { AcceptedSocket } from '../transports/ws-accepted.js';
import { internHeaders } from './interned-headers.js';
import { SERVER_DEFAULTS, validateServerOptions, type PeerRequest, type ServerOptions, type ShutdownReport, type VerifyResult } from './options.js';
import { ServerPeer } from './peer.js';
import type { Peer, PeerContext } from './peer-api.js';
import { peerSettings } from './peer-settings.js';
import { SessionRegistry } from './sessions.js';
import { SESSION_PROTOCOL } from '../core/session-frames.js';
import { Relay } from './relay.js';
import { closePeers } from './shutdown.js';
import type { Server } from './server-api.js';

/**
 * Starts a WebSocket server (Node): listening on `port`/`host`, or attached to your `server`.
 *
 * @example
 * ```ts
 * import { listen } from 'rxwire/server';
 *
 * const server = listen<{ text: string }, { text: string; from: string }>({ port: 8080, path: '/chat' });
 * server.connections$.subscribe((peer) =>
 *   peer.messages$.subscribe(({ text }) => server.broadcast({ text, from: peer.id })),
 * );
 * ```
 */
export function listen<In = unknown, Out = unknown>(options: ServerOptions<In, Out> = {}): Server<In, Out> {
  validateServerOptions(options);
  return new RxServer<In, Out>(options);
}

class RxServer<In, Out> implements Server<In, Out> {
  readonly ready: Promise<void>;
  readonly peers = new Set<ServerPeer<In, Out>>();
  readonly #connections = new Subject<Peer<In, Out>>();
  readonly connections$ = this.#connections.asObservable();
  readonly #options: ServerOptions<In, Out>;
  readonly #http: HttpServer;
  readonly #attached: boolean;
  readonly #wss: WsServer<typeof AcceptedSocket>;
  readonly #codec: Codec<In, Out>;
  readonly #report: Reporter;
  readonly #scheduler: SchedulerLike;
  readonly #context: PeerContext<In, Out>;
  readonly #topics = new Map<string, Set<ServerPeer<In, Out>>>();
  readonly #closings = new Set<Promise<unknown>>();
  readonly #sessions: SessionRegistry<ServerPeer<In, Out>>;
  /** With a broker: the other nodes' publishes in, this node's out. */
  readonly #relay: Relay | undefined;
  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => void this.#upgrade(request, socket, head);
  #heartbeat: Subscription | undefined;
  #closing: Promise<ShutdownReport> | undefined;
  #nextId = 0;
  #port = 0;

  constructor(options: ServerOptions<In, Out>) {
    this.#options = options;
    const scheduler = (this.#scheduler = options.scheduler ?? asyncScheduler);
    this.#codec = createCodec(options.serialize, options.deserialize);
    this.#report = createReporter(options.logger);
    this.#sessions = new SessionRegistry(scheduler);
    const settings = peerSettings(options, this.#codec, this.#report, scheduler, (closing) => this.#context.track(closing));
    this.#context = {
      ...settings,
      joined: (peer, topic) => {
        let members = this.#topics.get(topic);
        if (!members) {
          this.#topics.set(topic, (members = new Set()));
          this.#relay?.joined(topic);
        }
        members.add(peer);
      },
      gone: (peer) => void this.peers.delete(peer),
      left: (peer, topic) => {
        const members = this.#topics.get(topic);
        if (members?.delete(peer) && members.size === 0) {
          this.#topics.delete(topic);
          this.#relay?.left(topic);
        }
      },
      drains: new Map(),
      track: (closing) => {
        this.#closings.add(closing);
        void closing.then(() => this.#closings.delete(closing));
      },
    };
    this.#relay = options.broker && new Relay(options.broker, (topic, data) => this.#relayed(topic, data), this.#report);
    this.#wss = new WebSocketServer<typeof AcceptedSocket>({
      noServer: true,
      maxPayload: options.maxPayload ?? SERVER_DEFAULTS.maxPayload,
      clientTracking: false,
      handleProtocols: (protocols) => SessionRegistry.select(protocols, settings.session !== undefined),
      WebSocket: AcceptedSocket,
      // ws >= 8.19 bounds each closing handshake it answers (AcceptedSocket listens to no TCP 'finish').
      closeTimeout: this.#context.closeTimeout,
    } as WsServerOptions<typeof AcceptedSocket>);
    this.#attached = options.server !== undefined;
    this.#http = options.server ?? createServer((_request, response) => response.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required'));
    this.#http.on('upgrade', this.#onUpgrade);
    this.ready = this.#attached ? this.#whenAttached() : this.#listen();
    this.ready.catch(() => undefined); // a failure is the caller's to see on `ready`
    const heartbeat = options.heartbeat ?? {};
    if (heartbeat) this.#startHeartbeat(heartbeat.interval ?? SERVER_DEFAULTS.heartbeat.interval, heartbeat.timeout ?? SERVER_DEFAULTS.heartbeat.timeout);
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    const address = this.#http.address();
    const bound = typeof address === 'object' && address ? address.address : (this.#options.host ?? SERVER_DEFAULTS.host);
    // A wildcard address is not one to connect to: say loopback, which reaches it.
    const host = bound === '0.0.0.0' ? '127.0.0.1' : bound === '::' ? '::1' : bound;
    return `ws://${host.includes(':') ? `[${host}]` : host}:${this.#port}${this.#options.path ?? '/'}`;
  }

  get relayErrors$(): Observable<BrokerUnavailableError> {
    return this.#relay?.errors$ ?? this.#connections.pipe(ignoreElements());
  }

  broadcast(message: Out, options: { except?: Peer<In, Out>; filter?: (peer: Peer<In, Out>) => boolean } = {}): number {
    return this.#fanOut(this.peers, message, options, options.filter ? undefined : null);
  }

  publish(topic: string, message: Out): number {
    const members = this.#topics.get(topic);
    if (this.#relay) return this.#fanOut(members ?? NO_PEERS, message, {}, topic);
    return members ? this.#fanOut(members, message, {}) : 0;
  }

  close(options: { code?: number; reason?: string; timeout?: number } = {}): Promise<ShutdownReport> {
    if (!this.#closing) {
      const { code = 1001, reason = 'server shutting down' } = options;
      checkCloseArguments(code, reason, 'rfc6455'); // before anything stops
      this.#closing = this.#shutdown(options);
    }
    return this.#closing;
  }

  /** Queues `message` on `peers`; with a broker and a `relay` topic (`null`: broadcast), relays it after. */
  #fanOut(
    peers: Iterable<ServerPeer<In, Out>>,
    message: Out,
    { except, filter }: { except?: Peer<In, Out>; filter?: (peer: Peer<In, Out>) => boolean },
    relay?: string | null,
  ): number {
    if (this.#closing) return 0;
    const data = this.#codec.encode(message); // once, for every peer and the broker
    // Text for many peers: framed once too (ws would count, encode and frame it per peer).
    const encoded = typeof data === 'string' && this.peers.size > 1 ? preparedTextFrame(data) : undefined;
    let queued = 0;
    for (const peer of [...peers]) {
      if (peer === except || peer.ended || (filter && !filter(peer))) continue;
      peer.offer(message, data, encoded);
      queued++;
    }
    if (relay !== undefined) this.#relay?.publish(relay, data, message);
    return queued;
  }

  /**
   * Another node's publish (`topic`) or broadcast (`null`), as its wire data: queued on the local
   * members. This node never had the message object, so a peer that drops it reports the wire
   * data as the drop's payload.
   */
  #relayed(topic: string | null, data: WireData): void {
    if (this.#closing) return;
    const peers = topic === null ? this.peers : this.#topics.get(topic);
    if (!peers) return;
    const encoded = typeof data === 'string' && peers.size > 1 ? preparedTextFrame(data) : undefined;
    for (const peer of [...peers]) peer.offer(data as unknown as Out, data, encoded);
  }

  async #listen(): Promise<void> {
    const { port = SERVER_DEFAULTS.port, host = SERVER_DEFAULTS.host } = this.#options;
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(port, host, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#http.address() as { port: number }).port;
  }

  async #whenAttached(): Promise<void> {
    if (!this.#http.listening) await new Promise((resolve) => this.#http.once('listening', resolve));
    const address = this.#http.address();
    this.#port = typeof address === 'object' && address ? address.port : 0;
  }

  async #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { path, allowedOrigins, maxConnections = Infinity, verify } = this.#options;
    if (path !== undefined && new URL(request.url ?? '/', 'ws://x').pathname !== path) {
      if (!this.#attached) refuse(socket, 404);
      return; // attached: another upgrade handler may take it
    }
    socket.on('error', ignore); // a client that resets mid-upgrade (shared: a closure here would keep this call's context)
    if (this.#closing) return refuse(socket, 503, 'Server shutting down');
    const origin = request.headers.origin;
    if (allowedOrigins && origin !== undefined && !allowedOrigins.includes(origin)) return refuse(socket, 403, 'Origin not allowed');
    if (this.peers.size >= maxConnections) return refuse(socket, 503, 'Too many connections');
    const info: PeerRequest = { url: request.url ?? '/', headers: internHeaders(request.headers), remoteAddress: request.socket.remoteAddress, protocol: '' };
    if (verify) {
      let verdict: VerifyResult;
      try {
        verdict = await verify(info);
      } catch (error) {
        this.#report.warn('verify', `verify threw, the client was refused with 500: ${describe(error)}`, { error });
        return refuse(socket, 500);
      }
      if (verdict !== true) return refuse(socket, verdict === false ? 401 : verdict.status, verdict === false ? undefined : verdict.reason);
      if (this.#closing || socket.destroyed) return refuse(socket, 503, 'Server shutting down');
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) =>
      // A literal, not `{ ...info, protocol }`: V8 would give each peer's request a hidden class of its own.
      this.#accept(ws, socket as unknown as TcpSocket, { url: info.url, headers: info.headers, remoteAddress: info.remoteAddress, protocol: ws.protocol }),
    );
  }

  #accept(ws: AcceptedSocket, tcp: TcpSocket, request: PeerRequest): void {
    (tcp as unknown as Duplex).removeListener('error', ignore); // ws listens to its socket's errors now
    if (ws.protocol !== SESSION_PROTOCOL) return this.#admit(new ServerPeer<In, Out>(String(++this.#nextId), ws, tcp, request, this.#context));
    // A session: the client's hello says which one it resumes (here, or from another node through the store), if any.
    const session = this.#context.session as NonNullable<PeerContext<In, Out>['session']>;
    this.#sessions.accept(
      ws,
      tcp,
      {
        closeTimeout: this.#context.closeTimeout,
        track: this.#context.track,
        store: session.store?.api,
        ttl: session.resumeWindow,
        failed: (error) => this.#report.warn('store', `the session store failed: ${describe(error)}`, { error }),
      },
      (state) => {
        if (this.#closing) return undefined;
        const peer = new ServerPeer<In, Out>(String(++this.#nextId), ws, tcp, request, this.#context, state);
        this.#admit(peer);
        return peer;
      },
    );
  }

  #admit(peer: ServerPeer<In, Out>): void {
    this.peers.add(peer); // until it ends (context.gone): no reaction per peer on its closed
    if (peer.ended) this.peers.delete(peer);
    this.#connections.next(peer);
  }

  /** One timer for every peer: a round of pings, and `timeout` later a verdict on each. */
  #startHeartbeat(interval: number, timeout: number): void {
    const verdict = (): void => {
      for (const peer of [...this.peers]) {
        if (peer.awaitingPong) peer.terminate(new HeartbeatTimeoutError(timeout), 'heartbeat');
      }
    };
    const round = (): void => {
      for (const peer of this.peers) if (!peer.awaitingPong && peer.connected) peer.ping();
      this.#heartbeat = this.#scheduler.schedule(() => {
        verdict();
        // The next round one interval after this one, or at once if the verdict took longer.
        this.#heartbeat = this.#scheduler.schedule(round, Math.max(0, interval - timeout));
      }, timeout);
    };
    this.#heartbeat = this.#scheduler.schedule(round, interval);
  }

  async #shutdown({ code = 1001, reason = 'server shutting down', timeout = 5000 }: { code?: number; reason?: string; timeout?: number }): Promise<ShutdownReport> {
    this.#heartbeat?.unsubscribe();
    this.#sessions.closePending();
    const peers = [...this.peers];
    const report = await closePeers(peers, { code, reason, timeout }, this.#scheduler);
    await Promise.all(this.#closings);
    this.#http.off('upgrade', this.#onUpgrade);
    this.#wss.close();
    await this.#relay?.close();
    if (!this.#attached) {
      await new Promise<void>((resolve) => {
        this.#http.close(() => resolve());
        this.#http.closeAllConnections();
      });
    }
    this.#connections.complete();
    return report;
  }
}

const NO_PEERS: ReadonlySet<never> = new Set();
const ignore = (): void => undefined;

/** Answers an upgrade with an HTTP error and closes the socket. */
function refuse(socket: Duplex, status: number, reason = STATUS_CODES[status] ?? 'Refused'): void {
  if (socket.destroyed) return;
  const body = `${reason}\n`;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Refused'}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
