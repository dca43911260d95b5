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

