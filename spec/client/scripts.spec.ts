import '../helpers/tripwires';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, ConnectTimeoutError, IterationOverflowError, iterate, RetriesExhaustedError, type RxSocket } from '../../lib/index.js';
import { onDispose } from '../helpers/dispose';
import { refusedPort, startWsPeer, type WsConnection } from '../helpers/peers';
import { collect, record } from '../helpers/observe';
import { of } from 'rxjs';
import { waitFor } from '../helpers/wait';

// The client as scripts use it, with the defaults (no lazyCloseTimeout, no logger given):
// await send() then for await, send-only producers, failing fast, bounded iteration.

type Price = { type: 'price'; symbol: string; price: number };
type Cmd = { type: 'subscribe' | 'unsubscribe'; symbol: string };

function script<In = unknown, Out = unknown>(url: string, options: Parameters<typeof connect<In, Out>>[1] = {}): RxSocket<In, Out> {
  const socket = connect<In, Out>(url, { reconnect: { initialDelay: 20, maxDelay: 100 }, ...options });
  onDispose(() => socket.close());
  return socket;
}

/** A feed: `subscribe` starts up to 400 prices (one every 5 ms) on that connection. */
function feed(conn: WsConnection): void {
  conn.ws.on('message', (data) => {
    const cmd = JSON.parse(String(data)) as Cmd;
    if (cmd.type !== 'subscribe') return;
    let price = 0;
    const timer = setInterval(() => {
      if (conn.ws.readyState !== 1 || price >= 400) return clearInterval(timer);
      conn.ws.send(JSON.stringify({ type: 'price', symbol: cmd.symbol, price: ++price }));
    }, 5);
  });
}

test('the README pattern: await send(), an await in between, then for await: the messages arrive on the same connection', async () => {
  const server = await startWsPeer({ onConnection: feed });
  const socket = script<Price, Cmd>(server.url);
  await socket.send({ type: 'subscribe', symbol: 'BTC' });
  await sleep(200); // well past any microtask: the socket lingers (lazyCloseTimeout 5000)
  const prices: number[] = [];
  for await (const msg of socket) {
    prices.push(msg.price);
    if (prices.length === 3) break;
  }
  expect(prices.length).toBe(3);
  expect(server.connections).toHaveLength(1);
});

test('a channel iterated with for await survives a server restart: the subscription is sent again', async () => {
  const server = await startWsPeer({ onConnection: feed });
  const socket = script<Price, Cmd>(server.url);
  const btc = socket.channel({
    subscribe: () => ({ type: 'subscribe', symbol: 'BTC' }),
    unsubscribe: () => ({ type: 'unsubscribe', symbol: 'BTC' }),
    filter: (m) => m.symbol === 'BTC',
  });
  const seen: number[] = [];
  let restarted = false;
  for await (const msg of btc) {
    seen.push(msg.price);
    if (seen.length === 2 && !restarted) {
      restarted = true;
      await server.stop();
      await server.start();
    }
    if (seen.length >= 6) break;
  }
  expect(server.connections.length).toBe(2);
  expect((await server.connection(2)).messages).toContain('{"type":"subscribe","symbol":"BTC"}');
});

test('a send-only producer: 10 sends 100 ms apart use one connection', async () => {
  const server = await startWsPeer();
  const socket = script<unknown, { n: number }>(server.url);
  for (let n = 1; n <= 10; n++) {
    await socket.send({ n });
    await sleep(100);
  }
  const conn = await server.connection(1);
  await waitFor(() => conn.messages.length === 10, 'ten messages');
  expect(server.connections).toHaveLength(1);
});

test('opened({ timeout }) against a server that is down rejects with ConnectTimeoutError within the bound', async () => {
  const port = await refusedPort();
  const socket = script(`ws://127.0.0.1:${port}`, { logger: false });
  const started = Date.now();
  await expect(socket.opened({ timeout: 300 })).rejects.toBeInstanceOf(ConnectTimeoutError);
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  expect(Date.now() - started).toBeLessThan(1500);
});

test('opened() with maxAttempts rejects with RetriesExhaustedError; opened() resolves at once when open', async () => {
  const port = await refusedPort();
  const down = script(`ws://127.0.0.1:${port}`, { reconnect: { initialDelay: 10, maxAttempts: 2 }, logger: false });
  await expect(down.opened()).rejects.toBeInstanceOf(RetriesExhaustedError);
  const server = await startWsPeer();
  const up = script(server.url);
  await up.opened();
  expect(up.state.status).toBe('open');
  await up.opened();
});

test('a slow for-await loop: the queue stays bounded, every drop is counted, nothing else is lost', async () => {
  const server = await startWsPeer({
    onConnection: (conn) => {
      for (let n = 1; n <= 1000; n++) conn.ws.send(String(n));
      conn.ws.send('"end"');
    },
  });
  const socket = script<number | 'end'>(server.url, { iteration: { size: 50 } });
  const loop = socket.iterate();
  const seen: Array<number | 'end'> = [];
  for await (const n of loop) {
    seen.push(n);
    if (n === 'end') break;
    await sleep(1);
  }
  expect(seen.length + loop.dropped).toBe(1001);
  expect(loop.dropped).toBeGreaterThan(0);
  expect(seen.length).toBeLessThanOrEqual(1001);
  // drop-oldest: what the loop saw is in order and ends with the newest
  const numbers = seen.filter((n): n is number => n !== 'end');
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
});

test("overflow 'error' ends the loop with IterationOverflowError; iterate() works on any Observable", async () => {
  const loop = iterate(of(1, 2, 3, 4), { size: 2, overflow: 'error' });
  await expect((async () => {
    for await (const n of loop) void n;
  })()).rejects.toBeInstanceOf(IterationOverflowError);
  const values: number[] = [];
  for await (const n of iterate(of(1, 2, 3))) values.push(n);
  expect(values).toEqual([1, 2, 3]);
});

test('return() while next() waits settles at once and lets go of the connection', async () => {
  const server = await startWsPeer();
  const socket = script(server.url, { lazyCloseTimeout: 0 });
  const rec = record(socket);
  const iterator = socket[Symbol.asyncIterator]();
  const pending = iterator.next();
  await waitFor(() => socket.state.status === 'open', 'open');
  const started = Date.now();
  await expect(iterator.return?.()).resolves.toMatchObject({ done: true });
  await expect(pending).resolves.toMatchObject({ done: true });
  expect(Date.now() - started).toBeLessThan(500);
  await waitFor(() => socket.state.status === 'idle', 'idle: the loop was the only holder');
  expect(rec.errors).toEqual([]);
});

test('metrics: reconnects, rtt and buffered bytes; reconnect() dials again at once', async () => {
  const server = await startWsPeer();
  const socket = script<unknown, string>(server.url, { heartbeat: { interval: 30, timeout: 500 } });
  collect(socket);
  await waitFor(() => socket.metrics.rtt !== undefined, 'a heartbeat round trip');
  expect(socket.metrics.rtt).toBeGreaterThanOrEqual(0);
  expect(socket.metrics.reconnects).toBe(0);
  await server.stop();
  void socket.send('héllo').catch(() => undefined); // 6 UTF-8 bytes + 2 quotes, waiting
  await waitFor(() => socket.metrics.buffered === 1, 'one waiting');
  expect(socket.metrics.bufferedBytes).toBe(8);
  await server.start();
  await waitFor(() => socket.state.status === 'open' && socket.metrics.buffered === 0, 'open again, flushed');
  expect(socket.metrics).toMatchObject({ reconnects: 1, buffered: 0, bufferedBytes: 0 });
  socket.reconnect();
  expect(socket.state).toMatchObject({ status: 'connecting', attempt: 1 });
  await waitFor(() => socket.state.status === 'open', 'open after reconnect()');
  expect(server.connections.length).toBe(3);
});

test('the default logger warns about failures nobody observes, at the 1st, 2nd and 4th, not per event', async () => {
  const warnings: string[] = [];
  const spy = jest.spyOn(console, 'warn').mockImplementation((message: string) => void warnings.push(message));
  onDispose(() => spy.mockRestore());
  const port = await refusedPort();
  const socket = script(`ws://127.0.0.1:${port}`, { reconnect: { initialDelay: 1, maxDelay: 2, maxAttempts: 6 } });
  await socket.opened().catch(() => undefined);
  // Retries 1, 2 and 4 of 5 (opened() observes the terminal error itself).
  expect(warnings).toHaveLength(3);
  expect(warnings[0]).toMatch(/^rxwire: the connection failed \(attempt 1\) and is retried: .*observe errors\$/);
  expect(warnings[2]).toMatch(/\(attempt 4\).*\(4 times so far\)$/);
  // Observed: no warning.
  const quietSocket = script(`ws://127.0.0.1:${port}`, { reconnect: { initialDelay: 1, maxAttempts: 2 } });
  quietSocket.errors$.subscribe();
  quietSocket.messages$.subscribe({ error: () => undefined });
  await waitFor(() => quietSocket.state.status === 'closed', 'closed');
  expect(warnings).toHaveLength(3);
  // Unobserved terminal close: one warning.
  const lonely = script(`ws://127.0.0.1:${port}`, { reconnect: false });
  lonely.send('x').catch(() => undefined);
  await waitFor(() => lonely.state.status === 'closed', 'closed');
  expect(warnings[3]).toMatch(/^rxwire: the socket closed for good/);
});
