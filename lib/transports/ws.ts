import { closeCodeOfProtocolError } from './ws-errors.js';
import type { RawSocket, SocketEvents } from '../client/dial.js';
import { listenToDom } from './native.js';
import type { WebSocketLike } from '../core/transport.js';

interface WsSocket extends WebSocketLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
  terminate(): void;
}

/**
 * `ws`'s own event API (Node): no event objects on the message path, the TCP socket from the
 * public `'upgrade'` event (to cork writes), pongs, and the HTTP status of a refused upgrade.
 * Sockets without it (Node's global WebSocket) get the standard API.
 */
export function listenToWs(socket: WebSocketLike, on: SocketEvents): void {
  const ws = socket as WsSocket;
  if (typeof ws.on !== 'function') return listenToDom(socket, on);
  let raw: RawSocket | undefined;
  // An 'error' listener on every ws: its error is kept as the close's cause.
  ws.on('error', (error: Error) => on.error(error, closeCodeOfProtocolError(error)));
  ws.on('upgrade', (res: { socket: RawSocket }) => {
    raw = res.socket;
    // ws ends its side only once both close frames are exchanged (or after a protocol error).
    raw.once('finish', () => on.ended());
  });
  ws.on('unexpected-response', (_req: unknown, res: { statusCode?: number; resume(): void }) => {
    on.status(res.statusCode);
    res.resume();
    ws.terminate();
  });
  ws.on('open', () => on.open(raw));
  ws.on('message', (data: Buffer, isBinary: boolean) => on.message(isBinary ? data : data.toString()));
  ws.on('pong', () => on.pong());
  ws.on('close', (code: number, reason: Buffer) => on.close(code, reason.toString()));
}
