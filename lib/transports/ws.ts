import type { SchedulerLike } from 'rxjs';
import type { WireData } from '../core/codec.js';
import { OPEN, type SocketEvents, type Transport, type WebSocketLike } from '../core/transport.js';
import { listenToDom, nativeTransport } from './native.js';
import { closeCodeOfProtocolError } from './ws-errors.js';

/** The `net.Socket` under a `ws` socket. */
export interface TcpSocket {
  cork(): void;
  uncork(): void;
  readonly writableNeedDrain: boolean;
  once(event: 'drain' | 'finish', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

interface WsSocket extends WebSocketLike {
  on(event: string, listener: (...args: never[]) => void): unknown;
  ping(): void;
  terminate(): void;
}

/**
 * `ws`'s own event API (Node): no event objects on the message path, the TCP socket from the
 * public `'upgrade'` event (to cork writes and wait for `'drain'`), pongs, and the HTTP status of
 * a refused upgrade. Sockets without it (Node's global WebSocket) get the standard API.
 */
export function listenToWs(socket: WebSocketLike, on: SocketEvents, scheduler: SchedulerLike): void {
  const ws = socket as WsSocket;
  if (typeof ws.on !== 'function') return listenToDom(socket, on, scheduler);
  let tcp: TcpSocket | undefined;
  // An 'error' listener on every ws: its error is kept as the close's cause.
  ws.on('error', (error: Error) => on.error(error, closeCodeOfProtocolError(error)));
  ws.on('upgrade', (res: { socket: TcpSocket }) => {
    tcp = res.socket;
    // ws ends its side only once both close frames are exchanged (or after a protocol error).
    tcp.once('finish', () => on.ended());
  });
  ws.on('unexpected-response', (_req: unknown, res: { statusCode?: number; resume(): void }) => {
    on.status(res.statusCode);
    res.resume();
    ws.terminate();
  });
  ws.on('open', () => on.open(tcp ? wsTransport(ws, tcp, scheduler) : nativeTransport(ws, scheduler)));
  ws.on('message', (data: Buffer, isBinary: boolean) => on.message(isBinary ? data : data.toString()));
  ws.on('pong', () => on.pong());
  ws.on('close', (code: number, reason: Buffer) => on.close(code, reason.toString()));
}

/**
 * A `ws` socket as a {@link Transport}. Writes in one tick share one cork of the TCP socket, so a
 * burst leaves in a few large writes rather than one syscall per message; a backed-up socket is
 * waited for with `'drain'`.
 */
export function wsTransport(ws: WsSocket, tcp: TcpSocket, scheduler: SchedulerLike): Transport {
  const poll = nativeTransport(ws, scheduler);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    tcp.uncork();
  };
  return {
    isOpen: () => ws.readyState === OPEN,
    bufferedAmount: () => ws.bufferedAmount,
    send: (data: WireData) => {
      if (!corked) {
        corked = true;
        tcp.cork();
        queueMicrotask(uncork);
      }
      ws.send(data as string);
    },
    whenDrained: (done) => {
      // Below the TCP socket's own mark no 'drain' comes: ws's bufferedAmount falls as it writes.
      if (!tcp.writableNeedDrain) return poll.whenDrained(done);
      tcp.once('drain', done);
      return () => void tcp.removeListener('drain', done);
    },
    ping: () => ws.ping(),
  };
}
