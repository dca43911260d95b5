import { createServer, type Server } from 'node:http';
import { firstValueFrom, Subject, timer, type Observable } from 'rxjs';
import { WebSocket, WebSocketServer, type RawData, type ServerOptions } from 'ws';
import { DisposedError } from './errors.js';
import { closeServer, HandOff } from './lifecycle.js';

/**
 * Options of {@link createTestServer}.
 *
 * @example
 * ```ts
 * const server = await createTestServer({ echo: true, wsOptions: { maxPayload: 1024 } });
 * ```
 */
export interface TestServerOptions {
  /**
   * Send every message back to its sender, text as text and binary as binary.
   * @default false
   */
  readonly echo?: boolean;
  /**
   * Options passed to `ws`'s `WebSocketServer`, except where it listens, which this server owns.
   * @default {}
   */
  readonly wsOptions?: Omit<ServerOptions, 'host' | 'port' | 'server' | 'noServer'>;
}

/**
 * A message a {@link TestServer} received.
 *
 * @example
 * ```ts
 * const { data, isBinary } = await firstValueFrom(server.received$);
 * ```
 */
export interface Received {
  /** The server-side socket it came on. */
  readonly client: WebSocket;
  /** A string for a text message, a Buffer for a binary one. */
  readonly data: string | Buffer;
  readonly isBinary: boolean;
}

/**
 * A real `ws` server on 127.0.0.1 that a test can stop and restart on the same port.
 *
 * @example
 * ```ts
 * const server = await createTestServer({ echo: true });
 * const ws = new WebSocket(server.url);
 * const client = await server.waitForConnection();
 * await server.stop(); // clients see 1006, the port number is kept
 * await server.restart();
 * await server.close();
 * ```
 */
export interface TestServer {
  /** The port, the same across `stop()` and `restart()`. */
  readonly port: number;
  /** `ws://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Server-side sockets that are open now. */
  readonly clients: ReadonlySet<WebSocket>;
  /** Every message from every client, across restarts; completes on `close()`. */
  readonly received$: Observable<Received>;
  /**
   * The oldest client not yet returned by this method, now or when it connects (even if it has
   * closed since). Clients never claimed stay queued until `close()`, a few KB each: a test
   * that connects thousands without claiming them should watch `clients` instead. The same name
   * as `RawPeer.waitForConnection()` (and `ws`'s `'connection'` event).
   */
  waitForConnection(): Promise<WebSocket>;
  /** @deprecated The same as {@link TestServer.waitForConnection}; kept for 0.1 code. */
  waitForClient(): Promise<WebSocket>;
  /** Starts a closing handshake with every client; resolves once they are all closed. */
  closeAll(code?: number, reason?: string): Promise<void>;
  /** Destroys every client's socket without a close frame; resolves once they are all closed. */
  terminateAll(): Promise<void>;
  /** Terminates every client and stops listening, keeping the port number for `restart()`. */
  stop(): Promise<void>;
  /**
   * Listens again on the same port, retrying for about 2 s while the port is still in use; does
   * nothing while running, rejects with `DisposedError` after `close()`.
   */
  restart(): Promise<void>;
  /**
   * Stops for good and completes `received$`; later waits reject with `DisposedError`. The
   * teardown verb of the whole kit (as of `ws`, `FaultProxy` and `RawPeer`); idempotent.
   */
  close(): Promise<void>;
  /** @deprecated The same as {@link TestServer.close}; kept for 0.1 code. */
  dispose(): Promise<void>;
}

const RESTART_ATTEMPTS = 40;
const RESTART_GAP_MS = 50;

/**
 * Starts a {@link TestServer} on 127.0.0.1 and a free port.
 *
 * @example
 * ```ts
 * const server = await createTestServer();
 * server.received$.subscribe(({ data }) => console.log(data));
 * ```
 */
export async function createTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { echo = false, wsOptions = {} } = options;
  const clients = new Set<WebSocket>();
  const received$ = new Subject<Received>();
  const arrivals = new HandOff<WebSocket>('test server');
  let running: { http: Server; wss: WebSocketServer } | undefined;
  let closed: Promise<void> | undefined;

  const start = async (port: number): Promise<number> => {
    const http = createServer((_request, response) => response.writeHead(426).end());
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
    const wss = new WebSocketServer({ ...wsOptions, server: http });
    wss.on('error', () => undefined); // the http server's errors were handled at listen
    wss.on('connection', (ws) => {
      ws.on('error', () => undefined); // faulty clients are what the tests are about
      clients.add(ws);
      ws.once('close', () => clients.delete(ws));
      ws.on('message', (data, isBinary) => {
        const message = isBinary ? toBuffer(data) : toBuffer(data).toString('utf8');
        received$.next({ client: ws, data: message, isBinary });
        if (echo && ws.readyState === WebSocket.OPEN) ws.send(message, { binary: isBinary });
      });
      arrivals.put(ws);
    });
    running = { http, wss };
    return (http.address() as { port: number }).port;
  };

  const whenClosed = (ws: WebSocket): Promise<void> =>
    ws.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise((resolve) => ws.once('close', () => resolve()));

  const terminateAll = async (): Promise<void> => {
    const all = [...clients];
    for (const ws of all) ws.terminate();
    await Promise.all(all.map(whenClosed));
  };

  const stop = async (): Promise<void> => {
    const current = running;
    running = undefined;
    if (current === undefined) return;
    await terminateAll();
    await new Promise<void>((resolve) => current.wss.close(() => resolve()));
    current.http.closeAllConnections(); // plain HTTP keep-alive sockets, if a test made any
    await closeServer(current.http);
  };

  const port = await start(0);
  const waitForConnection = (): Promise<WebSocket> => arrivals.take();
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await stop();
      arrivals.dispose();
      received$.complete();
    })();
    return closed;
  };

  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    clients,
    received$: received$.asObservable(),
    waitForConnection,
    waitForClient: waitForConnection,
    async closeAll(code, reason) {
      const all = [...clients];
      for (const ws of all) ws.close(code, reason);
      await Promise.all(all.map(whenClosed));
    },
    terminateAll,
    stop,
    async restart() {
      if (closed !== undefined) throw new DisposedError('test server');
      if (running !== undefined) return;
      for (let attempt = 1; ; attempt++) {
        try {
          await start(port);
          return;
        } catch (error) {
          // The old listener or a client's TIME_WAIT can hold the port for a moment.
          const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
          if (!inUse || attempt >= RESTART_ATTEMPTS) throw error;
          await firstValueFrom(timer(RESTART_GAP_MS));
        }
      }
    },
    close,
    dispose: close,
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
