import type { Socket } from 'node:net';
import { ReplaySubject, type Observable } from 'rxjs';
import { closePayload, frame, FrameReader, type FrameOptions, type ParsedFrame } from './frame.js';

/**
 * What both raw ends of the kit offer past the opening handshake: a {@link RawConnection} (the
 * server side of {@link createRawPeer}) and a {@link RawClient}.
 *
 * @example
 * ```ts
 * const end: FramedSocket = await peer.waitForConnection();
 * end.sendClose(4000, 'bye');
 * await end.closed;
 * ```
 */
export interface FramedSocket {
  /** Frames the other end sent, unmasked; replays past ones and completes when the socket closes. */
  readonly frames$: Observable<ParsedFrame>;
  /** Frames the other end sent so far, oldest first. */
  readonly frames: readonly ParsedFrame[];
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;
  /** Writes raw bytes. */
  send(bytes: Uint8Array | string): void;
  /**
   * Writes one frame encoded by {@link frame}: masked by default from a {@link RawClient} (a client
   * must mask), unmasked from a {@link RawConnection}; `mask` overrides either.
   */
  sendFrame(options: FrameOptions): void;
  /** Writes a close frame (masked from a client): `code` as 2 bytes (none: empty payload) and the UTF-8 `reason`. */
  sendClose(code?: number, reason?: string): void;
  /** Sends a FIN after what was written. */
  end(): void;
  /** Destroys the socket at once. */
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
