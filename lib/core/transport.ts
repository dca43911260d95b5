/**
 * The part of a WebSocket that rxwire uses; both `ws` and the browser's `WebSocket` have it.
 *
 * @example
 * ```ts
 * // Works on `ws`'s socket and on the browser's alike.
 * const canWrite = (ws: WebSocketLike, limit = 1024 * 1024) => ws.readyState === 1 && ws.bufferedAmount < limit;
 * canWrite(new WebSocket('ws://127.0.0.1:8080')); // false: still connecting
 * ```
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: string | ArrayBuffer | ArrayBufferView<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket class: `ws`'s `WebSocket` in Node, or a browser-compatible `WebSocket`. Called as
 * `new WebSocket(url, protocols, wsOptions)`.
 *
 * @example
 * ```ts
 * // A factory that lets its caller choose the implementation.
 * function openFeed(implementation: WebSocketConstructor) {
 *   return connect<Message, Message>('wss://example.com/feed', { WebSocket: implementation });
 * }
 * const socket = openFeed(WebSocket); // `ws`'s class fits
 * ```
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: never) => WebSocketLike;

/** readyState values, the same in `ws` and browsers. */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 3;
