import { randomBytes } from 'node:crypto';
import { InvalidOptionError } from './errors.js';
import { checkInteger } from './validate.js';

/**
 * WebSocket frames (RFC 6455 §5.2) as raw bytes: a permissive encoder that can break every rule on
 * purpose, and a reader for the frames a client sends.
 */

/**
 * Fields of a hand-made frame. Nothing is checked against the RFC: that is the point.
 *
 * @example
 * ```ts
 * const options: FrameOptions = { opcode: 0x1, payload: 'hi', rsv1: true };
 * ```
 */
export interface FrameOptions {
  /** Final fragment bit. @default true */
  readonly fin?: boolean;
  /** Reserved bit 1 (set by permessage-deflate). @default false */
  readonly rsv1?: boolean;
  /** Reserved bit 2. @default false */
  readonly rsv2?: boolean;
  /** Reserved bit 3. @default false */
  readonly rsv3?: boolean;
  /** Opcode, an integer from 0 to 15 (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong). */
  readonly opcode: number;
  /**
   * Mask the payload: `true` with a random key, or the 4-byte key to use. A server must not mask,
   * so a masked frame from a server is a protocol error.
   * @default false
   */
  readonly mask?: boolean | Uint8Array;
  /** Payload bytes; a string is encoded as UTF-8. @default empty */
  readonly payload?: Uint8Array | string;
  /** Declared payload length, when it must differ from the real one; an integer >= 0. @default payload length */
  readonly length?: number;
}

/**
 * A frame received from a client, unmasked.
 *
 * @example
 * ```ts
 * const close = conn.frames.find((f: ParsedFrame) => f.opcode === 0x8);
 * ```
 */
export interface ParsedFrame {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  readonly opcode: number;
  /** Whether the client masked the frame, as RFC 6455 requires of it. */
  readonly masked: boolean;
  readonly payload: Buffer;
}

/**
 * Encodes one frame from its fields. A pure function apart from the random key of `mask: true`.
 *
 * @example
 * ```ts
 * frame({ opcode: 0x1, payload: Buffer.from([0xff]) }); // a text frame with invalid UTF-8
 * frame({ opcode: 0x2, payload: 'abc', length: 10 }); // declares more than it carries
 * ```
 */
export function frame(options: FrameOptions): Buffer {
  const { fin = true, rsv1 = false, rsv2 = false, rsv3 = false, opcode, mask = false, payload = Buffer.alloc(0) } = options;
  checkInteger('opcode', opcode, 0, 15);
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const length = checkInteger('length', options.length ?? body.length, 0);
  const key = mask === true ? randomBytes(4) : mask === false ? undefined : Buffer.from(mask);
  if (key !== undefined && key.length !== 4) throw new InvalidOptionError('mask', 'a boolean or a 4-byte key', mask);

  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const header = Buffer.alloc(2 + extended + (key === undefined ? 0 : 4));
  header[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0) | (rsv3 ? 0x10 : 0) | opcode;
  header[1] = (key === undefined ? 0 : 0x80) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (key !== undefined) {
    key.copy(header, 2 + extended);
    for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i % 4] as number);
  }
  return Buffer.concat([header, body]);
}

/**
 * Encodes the payload of a close frame: the code as 2 bytes, then the UTF-8 reason. Without a code
 * the payload is empty. Any code from 0 to 65535 is accepted, so invalid ones can be sent.
 *
 * @example
 * ```ts
 * frame({ opcode: 0x8, payload: closePayload(4000, 'bye') });
 * ```
 */
export function closePayload(code?: number, reason = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(checkInteger('code', code, 0, 65535));
  return Buffer.concat([head, Buffer.from(reason, 'utf8')]);
}

/**
 * Incremental reader of a byte stream into frames; keeps partial frames between chunks.
 *
 * @example
 * ```ts
 * const reader = new FrameReader();
 * socket.on('data', (chunk) => reader.push(chunk).forEach(handle));
 * ```
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;
  // Bytes required before a parse can succeed; skipping hopeless parses keeps a large frame that
  // arrives in many small chunks linear instead of quadratic.
  private needed = 2;

  /** Adds bytes and returns every frame they complete. */
  push(chunk: Buffer): ParsedFrame[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const frames: ParsedFrame[] = [];
    while (this.size >= this.needed) {
      const bytes = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
      const parsed = readOne(bytes);
      if ('needed' in parsed) {
        this.chunks = [bytes];
        this.needed = parsed.needed;
        break;
      }
      frames.push(parsed.frame);
      const rest = bytes.subarray(parsed.size);
      this.chunks = rest.length === 0 ? [] : [rest];
      this.size = rest.length;
      this.needed = 2;
    }
    return frames;
  }
}

function readOne(bytes: Buffer): { frame: ParsedFrame; size: number } | { needed: number } {
  if (bytes.length < 2) return { needed: 2 };
  const first = bytes[0] as number;
  const second = bytes[1] as number;
  const masked = (second & 0x80) !== 0;
  let length = second & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (bytes.length < 4) return { needed: 4 };
    length = bytes.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return { needed: 10 };
    length = Number(bytes.readBigUInt64BE(2));
    offset = 10;
  }
  const keyAt = offset;
  if (masked) offset += 4;
  if (bytes.length < offset + length) return { needed: offset + length };
  const payload = Buffer.from(bytes.subarray(offset, offset + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (bytes[keyAt + (i % 4)] as number);
  const frame = {
    fin: (first & 0x80) !== 0,
    rsv1: (first & 0x40) !== 0,
    rsv2: (first & 0x20) !== 0,
    rsv3: (first & 0x10) !== 0,
    opcode: first & 0x0f,
    masked,
    payload,
  };
  return { frame, size: offset + length };
}
