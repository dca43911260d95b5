import type { Socket } from 'node:net';
import { ReplaySubject, type Observable } from 'rxjs';
import { closePayload, frame, FrameReader, type FrameOptions, type ParsedFrame } from './frame.js';

/** What a raw end (peer or client) offers past the opening handshake. */
export interface FramedSocket {
  readonly frames$: Observable<ParsedFrame>;
  readonly frames: readonly ParsedFrame[];
  readonly closed: Promise<void>;
  send(bytes: Uint8Array | string): void;
  sendFrame(options: FrameOptions): void;
  sendClose(code?: number, reason?: string): void;
  end(): void;
  destroy(): void;
}

/**
 * A socket past the handshake: the other end's frames parsed (those that came with the handshake,
 * `early`, first), and writers for any bytes. `mask` is the default of `sendFrame` and the mask of
 * `sendClose`: a client masks, a server does not.
 */
export function framedSocket(socket: Socket, closed: Promise<void>, early: Buffer, mask: boolean): FramedSocket {
  const frames: ParsedFrame[] = [];
  const frames$ = new ReplaySubject<ParsedFrame>();
  const reader = new FrameReader();
  const onData = (chunk: Buffer): void => {
    for (const parsed of reader.push(chunk)) {
      frames.push(parsed);
      frames$.next(parsed);
    }
  };
  if (early.length > 0) onData(early);
  socket.on('data', onData);
  void closed.then(() => frames$.complete());
  const write = (bytes: Uint8Array | string): void => {
    // Writing to a socket the other end already closed is a normal outcome of a fault test.
    if (socket.writable) socket.write(bytes);
  };
  return {
    frames$: frames$.asObservable(),
    frames,
    closed,
    send: write,
    sendFrame: (options) => write(frame({ mask, ...options })),
    sendClose: (code, reason) => write(frame({ opcode: 0x8, mask, payload: closePayload(code, reason) })),
    end: () => void socket.end(),
    destroy: () => void socket.destroy(),
  };
}
