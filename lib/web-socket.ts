/** The part of a WebSocket that rxwire uses; both `ws` and the browser's `WebSocket` have it. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket class: `ws`'s `WebSocket` in Node, or a browser-compatible `WebSocket`. Called as
 * `new WebSocket(url, protocols, wsOptions)`.
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: never) => WebSocketLike;

/** readyState values, the same in `ws` and browsers. */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
