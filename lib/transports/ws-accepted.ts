import { WebSocket } from 'ws';
import type { Listen, SocketEvents } from '../core/transport.js';
import { wsTransport, type TcpSocket } from './ws.js';
import { closeCodeOfProtocolError } from './ws-errors.js';

/**
 * The socket class a `ws` server makes for each client it accepts (its `WebSocket` option), which
 * gives its events to the connection runtime by a method call instead of through listeners.
 *
 * Four listeners ('message', 'pong', 'close', and the 'error' one `ws` requires) would grow the
 * socket's listener dictionary past its first size (96 bytes more), on every one of the
 * thousands of sockets a server holds. Before the runtime takes the socket (and for any other
 * event) it is a plain `ws` socket: events go to its listeners. The server hands it `ws`'s own
 * `closeTimeout`, which bounds every closing handshake (the runtime's own close timer covers only
 * the closes it starts).
 *
 * @example
 * ```ts
 * import type { IncomingMessage } from 'node:http';
 * import type { Socket } from 'node:net';
 * import { WebSocketServer } from 'ws';
 * declare const request: IncomingMessage, tcp: Socket, head: Buffer;
 * const wss = new WebSocketServer({ noServer: true, WebSocket: AcceptedSocket });
 * // then runConnection(ws, { listen: listenToAccepted, … }, peer): its events come by method calls
 * wss.handleUpgrade(request, tcp, head, (ws) => acceptedOn(ws, tcp));
 * ```
 */
export class AcceptedSocket extends WebSocket {
  /** The runtime's hooks, once it listens (see {@link listenToAccepted}). */
  hooks: SocketEvents | undefined = undefined;

  // ws emits at most two arguments; anything else (or before the runtime listens) goes to listeners.
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const hooks = this.hooks;
    if (hooks !== undefined) {
      switch (event) {
        case 'message':
          hooks.socketMessage(b ? (a as Buffer) : (a as Buffer).toString());
          return true;
        case 'pong':
          hooks.socketPong();
          return true;
        case 'close':
          hooks.socketClosed(a as number, (b as Buffer).toString());
          return true;
        case 'error':
          hooks.socketError(a, closeCodeOfProtocolError(a));
          return true;
      }
    }
    return Reflect.apply(WebSocket.prototype.emit, this, arguments) as boolean;
  }
}

// The socket about to be handed to the runtime, and its TCP socket: the runtime listens as it
// starts, so the pair is taken in the same call (a field on every socket would stay for good).
let handedSocket: AcceptedSocket | undefined;
let handedTcp: TcpSocket | undefined;

/** Marks `ws`, which a `ws` server accepted on `tcp`, for {@link listenToAccepted}: call it just before `runConnection(ws, …)`. */
export function acceptedOn(ws: AcceptedSocket, tcp: TcpSocket): void {
  handedSocket = ws;
  handedTcp = tcp;
}

/** The adapter for a socket a `ws` server accepted (see {@link acceptedOn}): it is open already, so the transport is handed over at once. */
export const listenToAccepted: Listen = (socket, on) => {
  const ws = socket as unknown as AcceptedSocket;
  const tcp = handedTcp;
  if (ws !== handedSocket || tcp === undefined) throw new Error('listenToAccepted: the socket was not marked by acceptedOn() just before');
  handedSocket = handedTcp = undefined;
  ws.hooks = on;
  on.socketOpen(wsTransport(ws as never, tcp));
};
