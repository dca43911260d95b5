import type { SocketEvents } from '../client/dial.js';
import type { WebSocketLike } from '../core/transport.js';

/**
 * The standard event API (browsers, workers, Deno, Node's global WebSocket). Binary frames arrive
 * as ArrayBuffer (`binaryType = 'arraybuffer'`; browsers default to Blob) and are handed on as
 * Uint8Array.
 */
export function listenToDom(socket: WebSocketLike, on: SocketEvents): void {
  const target = socket as WebSocketLike & { addEventListener(type: string, listener: (event: never) => void): void };
  socket.binaryType = 'arraybuffer';
  target.addEventListener('error', (event: { error?: unknown }) => on.error(event.error ?? new Error('WebSocket error')));
  target.addEventListener('open', () => on.open(undefined));
  target.addEventListener('message', ({ data }: { data: unknown }) => {
    on.message(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
  });
  target.addEventListener('close', (event: { code: number; reason: string }) => on.close(event.code, event.reason));
}
