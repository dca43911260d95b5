import { createClient, type RxSocket } from './client.js';
import type { ConnectOptions } from './options.js';
import type { UrlSource } from './url.js';
import { listenToDom } from '../transports/native.js';
import { watchPage } from '../transports/page-events.js';
import type { WebSocketConstructor } from '../core/transport.js';

/**
 * Creates a lazy, self-reconnecting WebSocket client on the environment's native `WebSocket`
 * (browsers, workers, Deno). Nothing opens until `messages$` is subscribed or a message is sent.
 * Browsers cannot send ping frames: give `heartbeat.message` for an application-level heartbeat.
 * When the page comes back online or visible, a waiting socket dials at once and an open one is
 * checked with a heartbeat ping at once (`pageEvents`).
 *
 * @example
 * ```ts
 * import { connect } from 'rxwire';
 *
 * const socket = connect<{ type: string }, { type: string }>('wss://example.com/live', {
 *   heartbeat: { interval: 20_000, timeout: 5_000, message: () => ({ type: 'ping' }), isPong: (m) => m.type === 'pong' },
 * });
 * socket.messages$.subscribe((msg) => console.log(msg.type));
 * ```
 */
export function connect<In = unknown, Out = unknown>(url: UrlSource, options: ConnectOptions<In, Out> = {}): RxSocket<In, Out> {
  const native = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  return createClient(url, options, { WebSocket: native, listen: listenToDom, watchPage });
}
