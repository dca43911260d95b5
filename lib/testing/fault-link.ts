import { connect, type Socket } from 'node:net';
import type { SchedulerLike } from 'rxjs';
import type { NormalizedFault } from './fault.js';
import { FaultPipe } from './fault-pipe.js';
import type { ResolvedTarget } from './loopback.js';

/**
 * One client connection through a fault proxy: the accepted socket, the upstream socket and the
 * two pipes between them. Internal to the fault proxy.
 */

/**
 * Counters of one link, as `FaultProxy.links()` reports them.
 *
 * @example
 * ```ts
 * const [link] = proxy.links();
 * expect(link?.bytesUp).toBe(100);
 * ```
 */
export interface LinkStats {
  /** 1 for the proxy's first connection, then counting up. */
  readonly id: number;
  /** Bytes handed to the server's socket so far (counted when each write completes). */
  readonly bytesUp: number;
  /** Bytes handed to the client's socket so far (counted when each write completes). */
  readonly bytesDown: number;
  /** True until both of the link's sockets are closed. */
  readonly open: boolean;
  /** True for a connection accepted under `accept('hang')`: it never gets an upstream socket. */
  readonly hung: boolean;
}

/**
 * Shared settings a link reads when it starts.
 *
 * @internal
 * @example
 * ```ts
 * const context: LinkContext = { target, scheduler: asyncScheduler, random: Math.random, up, down };
 * ```
 */
export interface LinkContext {
  readonly target: ResolvedTarget;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly up: NormalizedFault;
  readonly down: NormalizedFault;
}

/**
 * A proxied (or hung) connection.
 *
 * @internal
 * @example
 * ```ts
 * const link = new FaultLink(1, socket, context, false);
 * await link.destroy();
 * ```
 */
export class FaultLink {
  private bytesUp = 0;
  private bytesDown = 0;
  private readonly upstream: Socket | undefined;
  private readonly up: FaultPipe | undefined;
  private readonly down: FaultPipe | undefined;
  /** Resolves once every socket of the link is closed, so `close()` can wait for the handles. */
  readonly closed: Promise<void>;

  constructor(
    readonly id: number,
    private readonly client: Socket,
    context: LinkContext,
    readonly hung: boolean,
  ) {
    client.on('error', () => undefined); // resets are expected here; 'close' carries the news
    client.setNoDelay(true); // so that `slice` pieces leave as separate segments
    if (hung) {
      client.resume(); // swallow the handshake; nothing ever answers it
      client.once('end', () => client.end()); // the client gave up: let the socket close
      this.closed = closeOf(client);
      return;
    }
    const upstream = connect({ host: context.target.host, port: context.target.port, allowHalfOpen: true });
    upstream.on('error', () => undefined);
    upstream.setNoDelay(true);
    this.upstream = upstream;
    // A spent limit lets its last bytes reach the peer before a reset could discard them.
    const hooks = { scheduler: context.scheduler, random: context.random, cut: (how: 'fin' | 'rst') => this.cut(how, true) };
    this.up = new FaultPipe(client, upstream, { ...hooks, counted: (n) => (this.bytesUp += n) }, context.up);
    this.down = new FaultPipe(upstream, client, { ...hooks, counted: (n) => (this.bytesDown += n) }, context.down);
    // A reset on one side becomes a reset on the other, unless that direction is a zombie.
    client.on('close', (hadError) => hadError && !this.up?.blackholed && reset(upstream));
    upstream.on('close', (hadError) => hadError && !this.down?.blackholed && reset(client));
    this.closed = Promise.all([closeOf(client), closeOf(upstream)]).then(() => {
      this.up?.dispose();
      this.down?.dispose();
    });
  }

  /** Applies a fault to one direction of this live link. */
  set(direction: 'up' | 'down', fault: NormalizedFault): void {
    (direction === 'up' ? this.up : this.down)?.set(fault);
  }

  /**
   * Ends both sockets: `fin` is an orderly end (after what was written), `rst` a reset, at once or,
   * with `flushFirst`, once what was written has left (a peer that never reads then delays it).
   */
  cut(how: 'fin' | 'rst', flushFirst = false): void {
    for (const socket of this.sockets()) {
      if (how === 'fin') {
        if (!socket.destroyed) socket.end();
      } else if (flushFirst) afterFlush(socket, () => reset(socket));
      else reset(socket);
    }
  }

  /** Destroys both sockets and stops the pipes' timers; resolves once the handles are closed. */
  destroy(): Promise<void> {
    this.up?.dispose();
    this.down?.dispose();
    for (const socket of this.sockets()) socket.destroy();
    return this.closed;
  }

  /** A snapshot of the counters. */
  stats(): LinkStats {
    const open = this.sockets().some((socket) => !socket.closed);
    return { id: this.id, bytesUp: this.bytesUp, bytesDown: this.bytesDown, open, hung: this.hung };
  }

  private sockets(): Socket[] {
    return this.upstream === undefined ? [this.client] : [this.client, this.upstream];
  }
}

/**
 * Sends a TCP RST: `resetAndDestroy()` needs a connected handle, so a socket still connecting is
 * destroyed instead (it has sent nothing the peer could see).
 *
 * @internal
 * @example
 * ```ts
 * reset(socket);
 * ```
 */
export function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

function afterFlush(socket: Socket, then: () => void): void {
  if (socket.destroyed) return;
  if (!socket.connecting && socket.writableLength === 0) return then();
  // Writes complete in order, so an empty write's callback marks the end of what came before.
  socket.write(Buffer.alloc(0), () => then());
}

function closeOf(socket: Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}
