import type { WebSocket } from 'ws';
import { connect, type ConnectOptions, type RxSocket } from '../../lib/index.js';
import { createTestServer, type TestServer } from '../../lib/testing/index.js';
import { onDispose } from './dispose';

/**
 * The fault kit's test server with its connections numbered (1 = the first accepted), disposed
 * in `afterEach`. The specs that record what the server receives per connection build their own
 * `serve()` on it (channel, request, handshake); {@link jsonPeer} is the common one of them.
 */
export interface NumberedServer {
  readonly kit: TestServer;
  readonly url: string;
  /** The number of the connection `ws` (given on first sight: accepted or first message). */
  number(ws: WebSocket): number;
  /** Connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
  restart(): Promise<void>;
  closeAll(code: number): Promise<void>;
}

export async function numberedServer(): Promise<NumberedServer> {
  const kit = await createTestServer();
  onDispose(() => kit.close());
  const numbers = new Map<WebSocket, number>();
  const number = (ws: WebSocket): number => {
    if (!numbers.has(ws)) numbers.set(ws, numbers.size + 1);
    return numbers.get(ws) as number;
  };
  void (async () => {
    for (;;) {
      const ws = await kit.waitForConnection().catch(() => undefined); // rejects once disposed
      if (!ws) return;
      number(ws);
    }
  })();
  return {
    kit,
    url: kit.url,
    number,
    connections: () => numbers.size,
    stop: () => kit.stop(),
    restart: () => kit.restart(),
    closeAll: (code) => kit.closeAll(code),
  };
}

/** A {@link NumberedServer} that parses every message as JSON and logs it with its connection. */
export interface JsonPeer<In, Out> {
  readonly url: string;
  /** Every message received, parsed, in arrival order, with the connection it came on. */
  readonly log: Array<{ conn: number; msg: Out }>;
  /** Connections accepted so far. */
  connections(): number;
  /** The messages received on connection `n`. */
  on(n: number): Out[];
  /** Sends `msg` to every open client. */
  push(msg: In): void;
  stop(): Promise<void>;
  restart(): Promise<void>;
  closeAll(code: number): Promise<void>;
}

/** `onMessage` is called for each message after it is logged (a spec's server answers there). */
export async function jsonPeer<In, Out>(onMessage?: (msg: Out, client: WebSocket) => void): Promise<JsonPeer<In, Out>> {
  const server = await numberedServer();
  const log: Array<{ conn: number; msg: Out }> = [];
  server.kit.received$.subscribe(({ client, data }) => {
    const msg = JSON.parse(String(data)) as Out;
    log.push({ conn: server.number(client), msg });
    onMessage?.(msg, client);
  });
  return {
    url: server.url,
    log,
    connections: server.connections,
    on: (n) => log.filter((entry) => entry.conn === n).map((entry) => entry.msg),
    push: (msg) => server.kit.clients.forEach((ws) => ws.send(JSON.stringify(msg))),
    stop: server.stop,
    restart: server.restart,
    closeAll: server.closeAll,
  };
}

/** Fast reconnects without jitter, no heartbeat: the clients of the numbered-server specs. */
export const quickReconnect = { reconnect: { initialDelay: 10, maxDelay: 50, jitter: false }, heartbeat: false } as const;

/** A client with {@link quickReconnect} (overridden by `options`), closed in `afterEach`. */
export function quickClient<In, Out>(url: string, options: ConnectOptions<In, Out> = {}): RxSocket<In, Out> {
  const socket = connect<In, Out>(url, { ...quickReconnect, ...options });
  onDispose(() => socket.close());
  return socket;
}
