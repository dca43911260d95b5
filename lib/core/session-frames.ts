import type { WireData } from './codec.js';
import { SessionProtocolError } from './session-errors.js';

/**
 * The subprotocol of resumable sessions, version 1 (`docs/protocol.md`). A wire format that an
 * older peer could misread gets a new name (`rxwire.session.2`); fields added to the hello and
 * welcome within a version are ignored by peers that do not know them.
 *
 * @example
 * ```ts
 * // A server of your own that tells rxwire session clients apart from others.
 * const wss = new WebSocketServer({ port: 8080, handleProtocols: (offered) => (offered.has(SESSION_PROTOCOL) ? false : [...offered][0] ?? false) });
 * ```
 */
export const SESSION_PROTOCOL = 'rxwire.session.1';

/**
 * A message's delivery class: `'reliable'` (sequenced, retained until the peer acknowledges it,
 * replayed after a reconnect, delivered exactly once and in order) or `'volatile'` (at most once:
 * dropped, and reported, when it cannot be written in time).
 *
 * @example
 * ```ts
 * const delivery: Delivery = 'volatile';
 * socket.send({ type: 'cursor', x: 10, y: 20 }, { delivery });
 * ```
 */
export type Delivery = 'reliable' | 'volatile';

/** The client's first frame on a session connection: which session it resumes, and what it has received. */
export interface Hello {
  /** Protocol version: 1. */
  readonly v: number;
  /** The session to resume, or null for a new one. */
  readonly id: string | null;
  /** The last reliable sequence number the client received in order (0: none). */
  readonly ack: number;
}

/** The server's answer: the session in use on this connection, and what the server has received. */
export interface Welcome {
  readonly id: string;
  /** Whether the session asked for was resumed (false: a new session; the old one, if any, is lost). */
  readonly resumed: boolean;
  /** The last reliable sequence number the server received in order on this session. */
  readonly ack: number;
}

/** One incoming frame, parsed. Only `payload` is application data (decode it with the codec). */
export type SessionFrame =
  | { readonly kind: 'reliable'; readonly seq: number; readonly ack: number; readonly payload: string | Uint8Array }
  | { readonly kind: 'volatile'; readonly payload: string | Uint8Array }
  | { readonly kind: 'ack'; readonly ack: number }
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'welcome'; readonly welcome: Welcome };

const R = 0x52; // 'R': reliable data, `R<seq>:` or `R<seq>/<ack>:` then the payload
const V = 0x56; // 'V': volatile data, `V` then the payload
const A = 0x41; // 'A': cumulative acknowledgement, `A<ack>`
const H = 0x48; // 'H': hello, `H` then JSON
const W = 0x57; // 'W': welcome, `W` then JSON
const COLON = 0x3a;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A reliable message's frame, the header in the payload's own kind (text or binary). `ack` 0: none piggybacked. */
export function reliableFrame(seq: number, ack: number, data: WireData): WireData {
  const header = ack > 0 ? `R${seq}/${ack}:` : `R${seq}:`;
  return typeof data === 'string' ? header + data : prefixed(header, data);
}

/** A volatile message's frame. */
export function volatileFrame(data: WireData): WireData {
  return typeof data === 'string' ? 'V' + data : prefixed('V', data);
}

/** A cumulative acknowledgement: every reliable message up to `ack` arrived. */
export function ackFrame(ack: number): string {
  return `A${ack}`;
}

export function helloFrame(hello: Hello): string {
  return 'H' + JSON.stringify(hello);
}

export function welcomeFrame(welcome: Welcome): string {
  return 'W' + JSON.stringify(welcome);
}

/** Parses one incoming frame; throws {@link SessionProtocolError} for one that breaks the format. */
export function parseFrame(data: string | Uint8Array): SessionFrame {
  if (typeof data === 'string') return parseText(data);
  const kind = data[0];
  if (kind === V) return { kind: 'volatile', payload: data.subarray(1) };
  if (kind === R) {
    const colon = data.indexOf(COLON);
    if (colon < 0 || colon > 40) throw new SessionProtocolError('a binary reliable frame has no `:` after its header');
    const { seq, ack } = header(decoder.decode(data.subarray(1, colon)));
    return { kind: 'reliable', seq, ack, payload: data.subarray(colon + 1) };
  }
  // Control frames are text; a binary one is tolerated if it decodes.
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    throw new SessionProtocolError(`a binary frame starts with an unknown kind (byte ${kind ?? 'none'})`);
  }
  return parseText(text);
}

function parseText(data: string): SessionFrame {
  switch (data.charCodeAt(0)) {
    case V:
      return { kind: 'volatile', payload: data.slice(1) };
    case R: {
      const colon = data.indexOf(':');
      if (colon < 0) throw new SessionProtocolError('a reliable frame has no `:` after its header');
      const { seq, ack } = header(data.slice(1, colon));
      return { kind: 'reliable', seq, ack, payload: data.slice(colon + 1) };
    }
    case A:
      return { kind: 'ack', ack: counter(data.slice(1), 'ack') };
    case H: {
      const hello = json(data) as Partial<Hello>;
      if (hello.v !== 1) throw new SessionProtocolError(`hello: unsupported version ${String(hello.v)}`);
      if (hello.id !== null && (typeof hello.id !== 'string' || hello.id.length === 0 || hello.id.length > 128)) {
        throw new SessionProtocolError('hello: `id` must be null or a string of 1 to 128 characters');
      }
      return { kind: 'hello', hello: { v: 1, id: hello.id, ack: checked(hello.ack, 'hello.ack') } };
    }
    case W: {
      const welcome = json(data) as Partial<Welcome>;
      if (typeof welcome.id !== 'string' || typeof welcome.resumed !== 'boolean') throw new SessionProtocolError('welcome: `id` and `resumed` are required');
      return { kind: 'welcome', welcome: { id: welcome.id, resumed: welcome.resumed, ack: checked(welcome.ack, 'welcome.ack') } };
    }
    default:
      throw new SessionProtocolError(`a frame starts with an unknown kind ${JSON.stringify(data.slice(0, 1))}`);
  }
}

/** `<seq>` or `<seq>/<ack>`. */
function header(text: string): { seq: number; ack: number } {
  const slash = text.indexOf('/');
  if (slash < 0) return { seq: counter(text, 'seq'), ack: 0 };
  return { seq: counter(text.slice(0, slash), 'seq'), ack: counter(text.slice(slash + 1), 'ack') };
}

/** A decimal sequence number: digits only, a safe integer. */
function counter(text: string, what: string): number {
  let value = text.length > 0 && text.length <= 15 ? 0 : NaN;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) value = NaN;
    value = value * 10 + digit;
  }
  if (!Number.isSafeInteger(value)) throw new SessionProtocolError(`\`${what}\` is not a sequence number: ${JSON.stringify(text.slice(0, 20))}`);
  return value;
}

function checked(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new SessionProtocolError(`\`${what}\` must be an integer >= 0`);
  return value;
}

function json(data: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(data.slice(1));
  } catch {
    throw new SessionProtocolError(`a ${data[0] === 'H' ? 'hello' : 'welcome'} frame is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SessionProtocolError(`a ${data[0] === 'H' ? 'hello' : 'welcome'} frame is not a JSON object`);
  return value as Record<string, unknown>;
}

function prefixed(header: string, data: Uint8Array | ArrayBuffer): Uint8Array {
  const body = data instanceof Uint8Array ? data : new Uint8Array(data);
  const head = encoder.encode(header);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}
