import '../helpers/tripwires';
import { eachValueFrom } from 'rxjs-for-await';
import { ConnectionClosedError } from '../../lib/index.js';
import { client, collect, record } from '../helpers/observe';
import { startWsPeer } from '../helpers/peers';
import { waitFor } from '../helpers/wait';

// Async iteration: `for await (const m of socket)` and `eachValueFrom(socket.messages$)` hold
// the connection like any messages$ subscriber; `break` lets go; close() ends the loop.

/** A server that sends 1, 2, 3, ... every 5 ms on each connection. */
function counting(): Promise<Awaited<ReturnType<typeof startWsPeer>>> {
  return startWsPeer({
    onConnection: (c) => {
      let n = 0;
      const timer = setInterval(() => c.ws.send(JSON.stringify(++n)), 5);
      c.ws.on('close', () => clearInterval(timer));
    },
  });
}

test('for await with break closes the connection (1000) when the loop was the last holder', async () => {
  const server = await counting();
  const socket = client<number>(server.url);
  const rec = record(socket);
  const got: number[] = [];
  for await (const n of socket) {
    got.push(n);
    if (n === 3) break;
  }
  expect(got).toEqual([1, 2, 3]);
  expect(await server.connections[0]?.closed).toEqual({ code: 1000, reason: '' });
  await waitFor(() => socket.state.status === 'idle', 'idle');
  expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'idle:0']);
});

test('break does not close the connection while another subscriber holds it', async () => {
  const server = await counting();
  const socket = client<number>(server.url);
  const other = collect(socket);
  for await (const n of socket) if (n === 2) break;
  const seen = other.values.length;
  await waitFor(() => other.values.length >= seen + 3, 'the other subscriber to keep receiving');
  expect(server.connections[0]?.close).toBeUndefined();
  expect(socket.state.status).toBe('open');
  other.subscription.unsubscribe();
  expect(await server.connections[0]?.closed).toEqual({ code: 1000, reason: '' });
});

test('eachValueFrom(socket.messages$) iterates the same way', async () => {
  const server = await counting();
  const socket = client<number>(server.url);
  const got: number[] = [];
  for await (const n of eachValueFrom(socket.messages$)) {
    got.push(n);
    if (got.length === 4) break;
  }
  expect(got).toEqual([1, 2, 3, 4]);
  expect(await server.connections[0]?.closed).toEqual({ code: 1000, reason: '' });
  expect(server.connections).toHaveLength(1);
});

test('iteration ends (without an error) when close() is called', async () => {
  const server = await counting();
  const socket = client<number>(server.url);
  const got: number[] = [];
  const loop = (async () => {
    for await (const n of socket) got.push(n);
    return 'ended';
  })();
  await waitFor(() => got.length >= 2, 'two messages');
  await socket.close();
  await expect(loop).resolves.toBe('ended');
  expect(got).toEqual(got.map((_, i) => i + 1)); // in order, none lost before the close
  expect(await server.connections[0]?.closed).toEqual({ code: 1000, reason: '' });
});

test('a loop started after close() ends at once', async () => {
  const server = await counting();
  const socket = client<number>(server.url);
  await socket.close();
  const got: number[] = [];
  for await (const n of socket) got.push(n);
  expect(got).toEqual([]);
  expect(server.connections).toHaveLength(0);
});

test('a close that is not retried makes the loop throw ConnectionClosedError', async () => {
  const server = await startWsPeer({
    onConnection: ({ ws }) => {
      ws.send('"last"');
      ws.close(1008, 'policy');
    },
  });
  const socket = client<string>(server.url, { reconnect: { initialDelay: 10 } });
  const got: string[] = [];
  const loop = (async () => {
    for await (const m of socket) got.push(m);
  })();
  await expect(loop).rejects.toBeInstanceOf(ConnectionClosedError);
  await expect(loop).rejects.toMatchObject({ code: 1008, reason: 'policy' });
  expect(got).toEqual(['last']);
});

test('a loop survives a retried close: it keeps iterating across the reconnect', async () => {
  const server = await counting();
  const socket = client<number>(server.url, { reconnect: { initialDelay: 10, jitter: false } });
  const got: number[] = [];
  for await (const n of socket) {
    got.push(n);
    if (got.length === 3) server.connections[0]?.ws.close(1012);
    if (server.connections.length === 2 && n === 3) break; // the third message of the second connection
  }
  expect(server.connections).toHaveLength(2);
  expect(got.slice(-3)).toEqual([1, 2, 3]);
  expect(await server.connections[1]?.closed).toEqual({ code: 1000, reason: '' });
});
