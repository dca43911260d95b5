import { createServer, type Socket } from 'node:net';
import { framedSocket, type FramedSocket } from './framed-socket.js';
import { parseUpgradeRequest, upgradeResponse, type UpgradeRequest } from './handshake.js';
import { closeServer, HandOff } from './lifecycle.js';

/**
 * Options of {@link createRawPeer}.
 *
 * @example
 * ```ts
 * const peer = await createRawPeer({ protocol: (offered) => offered[0] });
 * ```
 */
export interface RawPeerOptions {
  /**
   * Subprotocol of the 101 response: a fixed name (sent even if the client did not offer it, to
   * provoke a mismatch), or a function that picks from the offered ones.
   * @default undefined (no `Sec-WebSocket-Protocol` header)
   */
  readonly protocol?: string | ((offered: readonly string[]) => string | undefined);
  /**
   * Whether to answer the opening handshake. `false` reads the request and never answers: a
   * handshake that never completes.
   * @default true
   */
  readonly handshake?: boolean;
  /**
   * Extra header fields of the 101 response, e.g. an extension the client never asked for.
   * @default {}
   */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One client connection of a {@link RawPeer}, past the opening handshake.
 *
 * @example
 * ```ts
 * const conn = await peer.waitForConnection();
 * conn.sendFrame({ opcode: 0x1, payload: 'hello' });
 * ```
 */
export interface RawConnection extends FramedSocket {
  /** The client's upgrade request. */
  readonly request: UpgradeRequest;
}

/**
 * A TCP server that does the WebSocket opening handshake by hand and then lets a test write any
 * bytes, valid or not.
 *
 * @example
 * ```ts
 * const peer = await createRawPeer();
 * const ws = new WebSocket(peer.url);
 * const conn = await peer.waitForConnection();
 * conn.sendFrame({ opcode: 0x1, payload: 'x', mask: true }); // the client must fail with 1002
 * await peer.close();
 * ```
 */
export interface RawPeer {
  readonly port: number;
  /** `ws://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Connections so far, oldest first. */
  readonly connections: readonly RawConnection[];
  /** The oldest connection not yet returned by this method, now or when it arrives. */
  waitForConnection(): Promise<RawConnection>;
  /** Destroys every socket and closes the server; resolves once no handle is left. */
  close(): Promise<void>;
}

/**
 * Starts a {@link RawPeer} on 127.0.0.1 and a free port.
 *
 * @example
 * ```ts
 * const peer = await createRawPeer({ handshake: false }); // clients never open
 * ```
 */
export async function createRawPeer(options: RawPeerOptions = {}): Promise<RawPeer> {
  const { protocol, handshake = true, headers = {} } = options;
  const sockets = new Set<Socket>();
  const connections: RawConnection[] = [];
  const arrivals = new HandOff<RawConnection>('raw peer');
  let closing: Promise<void> | undefined;

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined); // clients that fail a test may reset; 'close' says enough
    const closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        sockets.delete(socket);
        resolve();
      }),
    );
    let head: Buffer = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const parsed = parseUpgradeRequest(head);
      if (parsed === undefined) return;
      socket.off('data', onHead);
      if (!handshake) return void socket.resume(); // swallow, never answer
      const offered = (parsed.request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      const chosen = typeof protocol === 'function' ? protocol(offered) : protocol;
      socket.write(upgradeResponse(parsed.request, chosen, headers));
      const connection = open(socket, parsed.request, closed, parsed.rest);
      connections.push(connection);
      arrivals.put(connection);
    };
    socket.on('data', onHead);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };

  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    connections,
    waitForConnection: () => arrivals.take(),
    close() {
      closing ??= (async () => {
        arrivals.dispose();
        const serverClosed = closeServer(server);
        const socketsClosed = [...sockets].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
        for (const socket of sockets) socket.destroy();
        await Promise.all([serverClosed, ...socketsClosed]);
      })();
      return closing;
    },
  };
}

function open(socket: Socket, request: UpgradeRequest, closed: Promise<void>, early: Buffer): RawConnection {
  // A client may send its first frame in the same segment as the request.
  return { request, ...framedSocket(socket, closed, early, false) };
}
