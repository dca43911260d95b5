import { DecodeError } from './errors.js';
import { show } from './validate.js';

/**
 * What a message is written as: text, or binary.
 *
 * @example
 * ```ts
 * const socket = connect<Message, Message>('wss://example.com/binary', {
 *   serialize: (message): WireData => new TextEncoder().encode(JSON.stringify(message)), // a binary frame
 *   deserialize: (data) => JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as Message,
 * });
 * ```
 */
export type WireData = string | Uint8Array | ArrayBuffer;


/** Turns messages into wire data and back; the errors name what failed. */
export interface Codec<In, Out> {
  /**
   * `serialize`, checked: throws its error, or a TypeError when it returned neither text nor
   * binary (naming `JSON.stringify` when the default serializer skipped the message).
   */
  encode(message: Out): WireData;
  /** `deserialize`: throws a {@link DecodeError} carrying the raw frame and the cause. */
  decode(data: string | Uint8Array): In;
}

/** JSON for text frames; binary frames as they are. */
const defaultDeserialize = (data: string | Uint8Array): unknown => (typeof data === 'string' ? JSON.parse(data) : data);

/**
 * Builds the codec of `serialize`/`deserialize` (defaults: JSON for text, binary as is). Without
 * either, every socket shares one codec.
 */
export function createCodec<In, Out>(
  serialize: ((message: Out) => WireData) | undefined,
  deserialize: ((data: string | Uint8Array) => In) | undefined,
): Codec<In, Out> {
  if (serialize === undefined && deserialize === undefined) return (jsonCodec ??= new OptionsCodec<unknown, unknown>(undefined, undefined)) as Codec<In, Out>;
  return new OptionsCodec(serialize, deserialize);
}

let jsonCodec: Codec<unknown, unknown> | undefined;

// A class: one prototype for every connection, no closures per instance.
class OptionsCodec<In, Out> implements Codec<In, Out> {
  readonly #serialize: ((message: Out) => WireData) | undefined;
  readonly #deserialize: ((data: string | Uint8Array) => In) | undefined;

  constructor(serialize: ((message: Out) => WireData) | undefined, deserialize: ((data: string | Uint8Array) => In) | undefined) {
    this.#serialize = serialize;
    this.#deserialize = deserialize;
  }

  encode(message: Out): WireData {
    const serialize = this.#serialize;
    const data: unknown = serialize ? serialize(message) : JSON.stringify(message);
    if (isWireData(data)) return data;
    if (data === undefined && serialize === undefined) {
      // JSON.stringify's undefined: a message it skips (undefined, a function, a symbol).
      throw new TypeError(`Expected the message to be JSON-serializable: JSON.stringify returned undefined (got ${show(message)})`);
    }
    throw new TypeError(`Expected \`serialize\` to return a string or binary data, got ${data === null ? 'null' : typeof data}`);
  }

  decode(data: string | Uint8Array): In {
    try {
      return this.#deserialize ? this.#deserialize(data) : (defaultDeserialize(data) as In);
    } catch (error) {
      throw new DecodeError(data, error);
    }
  }
}

function isWireData(data: unknown): data is WireData {
  return typeof data === 'string' || ArrayBuffer.isView(data) || data instanceof ArrayBuffer;
}

/** A native UTF-8 count, five times faster than counting in JS: Node's, installed by its transport. */
let nativeUtf8Length: ((text: string) => number) | undefined;

/**
 * Installs a native UTF-8 count for {@link byteLength}. The `ws` transport installs Node's
 * `Buffer.byteLength`; the browser build, which must not name Node's globals, counts in JS.
 */
export function useNativeUtf8Length(count: (text: string) => number): void {
  nativeUtf8Length = count;
}

/** UTF-8 length of text (without encoding it), byte length of binary data. */
export function byteLength(data: WireData): number {
  if (typeof data !== 'string') return data.byteLength;
  return nativeUtf8Length ? nativeUtf8Length(data) : utf8Length(data);
}

/** UTF-8 length of `text`, counted in JS (where there is no `Buffer`). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x800) bytes += code >= 0xd800 && code <= 0xdfff ? 1 : 2; // each half of a surrogate pair: 2 of its 4 bytes
    else if (code >= 0x80) bytes += 1;
  }
  return bytes;
}
