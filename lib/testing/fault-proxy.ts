import { createServer, type Server, type Socket } from 'node:net';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { checkDirection, normalizeFault, type AcceptMode, type Direction, type Fault, type NormalizedFault } from './fault.js';
import { closeServer } from './lifecycle.js';
import { FaultLink, reset, type LinkStats } from './fault-link.js';
import { requireLoopback, resolveTarget } from './loopback.js';
import { checkOneOf } from './validate.js';

/**
 * Options of {@link createFaultProxy}.
 *
 * @example
 * ```ts
 * const options: FaultProxyOptions = { target: server.url };
 * ```
 */
export interface FaultProxyOptions {
  /**
   * The server to forward to: a `ws://host:port/path` URL (its path becomes `url`'s path) or
   * `{ host?, port }`. The host must be a loopback host; `host` defaults to `127.0.0.1`.
   */
  readonly target: string | { readonly host?: string; readonly port: number };
  /**
   * Loopback address the proxy listens on, on a free port chosen by the system.
   * @default '127.0.0.1'
   */
  readonly host?: string;
  /**
   * Scheduler of the timed faults (`delay`, `throttle`, `slice`); its `now()` is the clock.
   * @default asyncScheduler
   */
  readonly scheduler?: SchedulerLike;
  /**
   * Random source of `delay`'s jitter, returning numbers in `[0, 1)`.
   * @default Math.random
   */
  readonly random?: () => number;
}

/**
 * An in-process TCP proxy between a client and a server that injects network faults on demand.
 *
 * @example
 * ```ts
 * const proxy = await createFaultProxy({ target: server.url });
 * const ws = new WebSocket(proxy.url);
 * proxy.set('down', { kind: 'blackhole' }); // pings now go unanswered
 * await proxy.close();
 * ```
 */
export interface FaultProxy {
  /** The port the proxy listens on. */
  readonly port: number;
  /**
   * `ws://host:port` of the proxy plus the target URL's path (else `/`). A string property, as
   * on `TestServer` and `RawPeer`; it was a method `url()` in 0.1.0.
   */
  readonly url: string;
  /**
   * `ws://host:port` of the proxy plus `path`, for a path other than the target's.
   *
   * @example
   * ```ts
   * const ws = new WebSocket(proxy.urlFor('/graphql'));
   * ```
   */
  urlFor(path: string): string;
  /** Applies `fault` to one or both directions of every live link and of links opened later. */
  set(direction: Direction, fault: Fault): void;
  /** Decides how new connections are treated; live links are unaffected. */
  accept(mode: AcceptMode): void;
  /** Ends every live link now: `rst` resets both sockets, `fin` ends them in order. */
  reset(how?: 'rst' | 'fin'): void;
  /** Counters of every link the proxy has accepted, oldest first, including closed ones. */
  links(): LinkStats[];
  /** Destroys every socket, clears every timer and closes the server; resolves once no handle is left. */
  close(): Promise<void>;
}

/**
 * Starts a {@link FaultProxy} on a loopback address and a free port.
 *
 * @example
 * ```ts
 * const proxy = await createFaultProxy({ target: { port: 8080 } });
 * proxy.set('up', { kind: 'stall' });
 * ```
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const { target, host = '127.0.0.1', scheduler = asyncScheduler, random = Math.random } = options;
  const resolved = resolveTarget(target);
  const listenHost = requireLoopback(host);
  const faults: { up: NormalizedFault; down: NormalizedFault } = { up: { kind: 'pass' }, down: { kind: 'pass' } };
  let acceptMode: AcceptMode = 'pass';
  let closing: Promise<void> | undefined;
  const links: FaultLink[] = [];
  // Refused sockets are short-lived but still handles; close() waits for them too.
  const refused = new Set<Socket>();

  const server = createServer({ allowHalfOpen: true }, (socket) => {
    if (closing !== undefined) return void socket.destroy();
    if (acceptMode === 'refuse') {
      socket.on('error', () => undefined);
      refused.add(socket);
      socket.once('close', () => refused.delete(socket));
      reset(socket);
      return;
    }
    const context = { target: resolved, scheduler, random, up: faults.up, down: faults.down };
    links.push(new FaultLink(links.length + 1, socket, context, acceptMode === 'hang'));
  });
  await listen(server, listenHost);
  const { port } = server.address() as { port: number };
  const urlHost = listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  const urlFor = (path: string): string => `ws://${urlHost}:${port}${path.startsWith('/') ? '' : '/'}${path}`;

  return {
    port,
    url: urlFor(resolved.path),
    urlFor,
    set(direction, fault) {
      const checked = normalizeFault(fault);
      for (const way of ways(checkDirection(direction))) {
        faults[way] = checked;
        for (const link of links) link.set(way, checked);
      }
    },
    accept(mode) {
      acceptMode = checkOneOf('mode', mode, ['pass', 'refuse', 'hang'] as const);
    },
    reset(how = 'rst') {
      const checked = checkOneOf('how', how, ['rst', 'fin'] as const);
      for (const link of links) link.cut(checked);
    },
    links: () => links.map((link) => link.stats()),
    close() {
      closing ??= (async () => {
        for (const socket of refused) socket.destroy();
        await Promise.all([...links.map((link) => link.destroy()), closeServer(server)]);
      })();
      return closing;
    },
  };
}

function ways(direction: Direction): Array<'up' | 'down'> {
  return direction === 'both' ? ['up', 'down'] : [direction];
}

function listen(server: Server, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
