import { once } from 'node:events';
import { WebSocket as WsSocket } from 'ws';
import { connect } from '../../lib/browser.js';
import type { WebSocketConstructor } from '../../lib/index.js';
import { createFaultProxy, createTestServer } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// The native build (lib/browser.ts, what Deno, workers and browsers get) in Node, on a socket with
// only the standard WebSocket surface — no terminate(), no ping(), no 'upgrade' — as Deno's and
// Node's own global WebSocket have: a real `ws` socket behind it.

/** The WHATWG surface of a `ws` socket, and nothing more. */
class StandardWebSocket {
  readonly #ws: WsSocket;

  constructor(url: string, protocols?: string | string[]) {
    this.#ws = new WsSocket(url, protocols);
    this.#ws.on('error', () => undefined); // reported through the 'error' event listener too
  }

  get readyState(): number {
    return this.#ws.readyState;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  get binaryType(): string {
    return this.#ws.binaryType;
  }

  set binaryType(type: string) {
    this.#ws.binaryType = type as 'arraybuffer';
  }

  send(data: string | ArrayBufferView): void {
    this.#ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.#ws.close(code, reason);
  }

  addEventListener(type: string, listener: (event: never) => void): void {
    this.#ws.addEventListener(type as 'open', listener as never);
  }
}

test('close() against a dead peer is bounded by closeTimeout, though the socket never reports its close', async () => {
  const server = await createTestServer({ echo: true });
  onDispose(() => server.close());
  const proxy = await createFaultProxy({ target: server.url });
  onDispose(() => proxy.close());
  const socket = connect<unknown, unknown>(proxy.url, { WebSocket: StandardWebSocket as unknown as WebSocketConstructor, closeTimeout: 300, logger: false });
  socket.messages$.subscribe({ error: () => undefined });
  await socket.opened({ timeout: 2000 });
  proxy.set('both', { kind: 'blackhole' }); // the peer is gone: no close frame will come back
  const started = Date.now();
  await socket.close();
  const took = Date.now() - started;
  expect(took).toBeGreaterThanOrEqual(290);
  expect(took).toBeLessThan(1500);
  expect(socket.state).toMatchObject({ status: 'closed', lastClose: { code: 1006, wasClean: false } });
});

test('a server restart: buffered sends are delivered once and in order after the reconnect', async () => {
  const server = await createTestServer({ echo: true });
  onDispose(() => server.close());
  const proxy = await createFaultProxy({ target: server.url });
  onDispose(() => proxy.close());
  const socket = connect<{ n: number }, { n: number }>(proxy.url, {
    WebSocket: StandardWebSocket as unknown as WebSocketConstructor,
    reconnect: { initialDelay: 10, maxDelay: 50, jitter: false },
    logger: false,
  });
  onDispose(() => socket.close());
  const echoed: number[] = [];
  socket.messages$.subscribe((m) => echoed.push(m.n));
  await socket.opened({ timeout: 2000 });
  proxy.accept('refuse');
  proxy.reset('rst');
  await waitFor(() => socket.state.status === 'reconnecting', 'the loss seen');
  for (let n = 1; n <= 5; n++) void socket.send({ n });
  proxy.accept('pass');
  await waitFor(() => echoed.length === 5, 'the five echoes', 5000);
  expect(echoed).toEqual([1, 2, 3, 4, 5]);
  void once;
});
