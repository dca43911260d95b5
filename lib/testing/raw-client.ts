import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { NotLoopbackError } from './errors.js';
import { framedSocket, type FramedSocket } from './framed-socket.js';
import { acceptKey } from './handshake.js';

/**
 * Options of {@link createRawClient}.
 *
 * @example
 * ```ts
 * const options: RawClientOptions = { headers: { origin: 'https://app.example' }, protocols: ['chat.v1'], halfOpen: true };
 * ```
 */
export interface RawClientOptions {
  /** Extra header fields of the upgrade request. @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** Subprotocols offered (`Sec-WebSocket-Protocol`). @default [] */
  readonly protocols?: readonly string[];
  /**
   * Keeps the client's side of the TCP connection open after the server's FIN (`net`'s
   * `allowHalfOpen`): a client that never finishes a closing handshake. `end()` or `destroy()` it.
   * @default false
   */
  readonly halfOpen?: boolean;
}

/**
 * A client connection past the opening handshake, whose frames a test writes by hand: the mirror
 * of {@link RawConnection}, for testing a server.
 *
 * @example
 * ```ts
 * const client = await createRawClient(server.url);
 * client.sendFrame({ opcode: 0x1, payload: Buffer.from([0xc3, 0x28]) }); // invalid UTF-8: the server closes with 1007
 * await client.closed;
 * ```
 */
export interface RawClient extends FramedSocket {
  /** The server's 101 response: its status and header fields (lower-cased names). */
  readonly response: { readonly status: number; readonly headers: Readonly<Record<string, string>> };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Opens a TCP connection to `url` (loopback only), does the WebSocket opening handshake by hand,
 * and returns a {@link RawClient} that writes any bytes, valid or not. Rejects if the server
 * answers anything but a valid 101.
 *
 * @example
 * ```ts
 * const client = await createRawClient('ws://127.0.0.1:8080/ws');
 * client.sendFrame({ opcode: 0x3, payload: 'reserved opcode' }); // the server closes with 1002
 * ```
 */
export function createRawClient(url: string, options: RawClientOptions = {}): Promise<RawClient> {
  const target = new URL(url);
  if (target.protocol !== 'ws:') throw new TypeError(`Expected \`url\` to be a ws: URL, got ${JSON.stringify(url)}`);
  if (!LOOPBACK.has(target.hostname) && !/^127\./.test(target.hostname)) throw new NotLoopbackError(target.hostname);
  const key = randomBytes(16).toString('base64');
  const headers: Record<string, string> = {
    Host: target.host,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
    ...(options.protocols && options.protocols.length > 0 && { 'Sec-WebSocket-Protocol': options.protocols.join(', ') }),
    ...options.headers,
  };
  const request = `GET ${target.pathname}${target.search} HTTP/1.1\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return new Promise<RawClient>((resolve, reject) => {
    const socket = connect({ port: Number(target.port || 80), host: target.hostname.replace(/^\[|\]$/g, ''), allowHalfOpen: options.halfOpen === true });
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    let head = Buffer.alloc(0);
    socket.once('error', reject);
    socket.on('connect', () => socket.write(request));
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      socket.off('error', reject);
      socket.on('error', () => undefined); // a server that resets is a normal outcome of a fuzz test
      const [statusLine = '', ...lines] = head.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const fields = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      if (status !== 101 || fields['sec-websocket-accept'] !== acceptKey(key)) {
        socket.destroy();
        return reject(new Error(`The server did not accept the upgrade: ${statusLine}`));
      }
      resolve(opened(socket, { status, headers: fields }, closed, head.subarray(end + 4)));
    };
    socket.on('data', onHead);
  });
}

function opened(socket: Socket, response: RawClient['response'], closed: Promise<void>, early: Buffer): RawClient {
  return { response, ...framedSocket(socket, closed, early, true) };
}
