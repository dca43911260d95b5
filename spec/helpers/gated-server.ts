import type { WebSocket } from 'ws';
import { createFaultProxy, createTestServer, type TestServerOptions } from '../../lib/testing/index.js';
import { onDispose } from './dispose';

/**
 * The fault kit's test server (real ws on 127.0.0.1) behind a gate (the kit's fault proxy) that
 * can refuse connections, with what it receives recorded in arrival order; both disposed in
 * `afterEach`. For the send and buffer specs (client-send, client-buffer).
 */
export interface GatedServer {
  /** Where clients connect: the gate in front of the server. */
  readonly url: string;
  /** The server itself, for a fault proxy of a test's own. */
  readonly target: string;
  /** Every message received, in arrival order, across restarts (text as string). */
  readonly received: Array<string | Buffer>;
  /** Whether each of `received` came as a binary frame. */
  readonly binary: boolean[];
  readonly clients: ReadonlySet<WebSocket>;
  /** The next server-side socket to arrive (the test server's own `waitForConnection`). */
  waitForConnection(): Promise<WebSocket>;
  closeAll(code: number, reason?: string): Promise<void>;
  /** Resets every connection and refuses new ones, keeping the port (no other test can take it). */
  stop(): Promise<void>;
  /** Accepts connections again. */
  restart(): Promise<void>;
}

export async function gatedServer(wsOptions: TestServerOptions['wsOptions'] = {}): Promise<GatedServer> {
  const kit = await createTestServer({ wsOptions });
  onDispose(() => kit.close());
  // Clients connect through a gate that holds the port for the whole test: "stopping" refuses
  // connections rather than freeing the port, which a server of another test could then take.
  const gate = await createFaultProxy({ target: kit.url });
  onDispose(() => gate.close());
  const server: GatedServer = {
    url: gate.url,
    target: kit.url,
    received: [],
    binary: [],
    clients: kit.clients,
    waitForConnection: () => kit.waitForConnection(),
    closeAll: (code, reason) => kit.closeAll(code, reason),
    stop: async () => {
      gate.accept('refuse');
      gate.reset('rst');
    },
    restart: async () => gate.accept('pass'),
  };
  kit.received$.subscribe(({ data, isBinary }) => {
    server.received.push(data);
    server.binary.push(isBinary);
  });
  return server;
}

/** Texts the server received, parsed as JSON. */
export function parsed<T>(server: GatedServer): T[] {
  return server.received.map((data) => JSON.parse(data.toString()) as T);
}
