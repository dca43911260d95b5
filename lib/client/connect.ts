import { WebSocket as NodeWebSocket } from 'ws';
import { createClient, type RxSocket } from './client.js';
import { isTlsCertificateError } from '../transports/ws-errors.js';
import { checkWsOptions } from '../transports/ws-options.js';
import type { ConnectOptions } from './options.js';
import type { UrlSource } from './url.js';
import type { WebSocketConstructor } from '../core/transport.js';
import { listenToWs } from '../transports/ws.js';

/**
 * Creates a lazy, self-reconnecting WebSocket client. Nothing opens until `messages$` is
 * subscribed or a message is sent. Options are validated here; a static URL that is not
 * ws:/wss: (http:/https: are mapped) throws a TypeError. In Node the socket is `ws`'s (ping
 * frames, headers, TLS options), even where Node has a global `WebSocket`.
 *
 * @example
 * ```ts
 * import { connect } from 'rxwire';
 *
 * const socket = connect<{ type: string }, { type: 'hello' }>('ws://127.0.0.1:8080', {
 *   reconnect: { initialDelay: 500, maxDelay: 10_000 },
 *   buffer: { size: 100, timeout: 5_000 },
 * });
 * socket.messages$.subscribe((msg) => console.log(msg.type));
 * socket.send({ type: 'hello' }).catch((e) => console.warn('dropped', e.reason));
 * ```
 */
export function connect<In = unknown, Out = unknown>(url: UrlSource, options: ConnectOptions<In, Out> = {}): RxSocket<In, Out> {
  return createClient(url, options, { WebSocket: NodeWebSocket as unknown as WebSocketConstructor, listen: listenToWs, isFatalCause: isTlsCertificateError, checkWsOptions });
}
