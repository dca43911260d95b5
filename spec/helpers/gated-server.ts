import type { WebSocket } from 'ws';
import { createFaultProxy, createTestServer, type FaultProxy, type TestServer, type TestServerOptions } from '../../lib/testing/index.js';
import type { Scope } from './scope';

/**
 * The kit's test server (real ws on 127.0.0.1) behind a gate (the kit's fault proxy) that keeps
 * the port for the whole test: "stopped" refuses connections instead of freeing a port that a
 * server of another test could then take. What the server receives is recorded in arrival order.
 * Free of Jest (the reliability scenarios use it outside Jest); both parts close with `scope`.
 */
export interface GatedServer {
  /** Where clients connect: the gate in front of the server. */
  readonly url: string;
  /** The server itself, for a fault proxy of a test's own. */
  readonly target: string;
  readonly server: TestServer;
  readonly gate: FaultProxy;
  /** Every message received, in arrival order, across restarts (text as string). */
  readonly received: Array<string | Buffer>;
  /** Whether each of `received` came as a binary frame. */
  readonly binary: boolean[];
  readonly clients: ReadonlySet<WebSocket>;
  /** The next server-side socket to arrive (the test server's own `waitForConnection`). */
  waitForConnection(): Promise<WebSocket>;
  closeAll(code: number, reason?: string): Promise<void>;
  /**
   * Refuses new connections, keeping the port, and ends the live ones: `rst` resets them, `fin`
   * ends them in order, `keep` leaves them open.
   */
  stop(live?: 'rst' | 'fin' | 'keep'): void;
  /** Accepts connections again. */
  restart(): void;
}

export async function gatedServer(scope: Scope, options: TestServerOptions = {}): Promise<GatedServer> {
  const server = scope.add(await createTestServer(options), (s) => s.close());
  const gate = scope.add(await createFaultProxy({ target: server.url }), (g) => g.close());
  const gated: GatedServer = {
    url: gate.url,
    target: server.url,
    server,
    gate,
    received: [],
    binary: [],
    clients: server.clients,
    waitForConnection: () => server.waitForConnection(),
    closeAll: (code, reason) => server.closeAll(code, reason),
    stop(live = 'rst') {
      gate.accept('refuse');
      if (live !== 'keep') gate.reset(live);
    },
    restart: () => gate.accept('pass'),
  };
  server.received$.subscribe(({ data, isBinary }) => {
    gated.received.push(data);
    gated.binary.push(isBinary);
  });
  return gated;
}

/** Texts the server received, parsed as JSON. */
export function parsed<T>(server: GatedServer): T[] {
  return server.received.map((data) => JSON.parse(data.toString()) as T);
}
