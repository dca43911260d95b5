import { firstValueFrom, toArray } from 'rxjs';
import { createTestServer, type Received, type TestServer, type TestServerOptions } from '../../lib/testing/test-server.js';
import { DisposedError } from '../../lib/testing/errors.js';
import { probe, terminate, within, type Probe } from './helpers.js';
import { waitFor } from '../helpers/wait';
import { track } from '../helpers/dispose';

async function server(options?: TestServerOptions): Promise<TestServer> {
  return track(await createTestServer(options), (s) => s.close());
}

async function openClient(url: string): Promise<Probe> {
  const client = track(probe(url), terminate);
  await within(client.opened, 10_000, 'client open');
  return client;
}

describe('createTestServer', () => {
  test('echoes text as text and binary as binary, and reports both on received$', async () => {
    const s = await server({ echo: true });
    expect(s.url).toBe(`ws://127.0.0.1:${s.port}/`);
    const received: Received[] = [];
    s.received$.subscribe((message) => received.push(message));
    const client = await openClient(s.url);
    client.ws.send('text');
    client.ws.send(Buffer.from([1, 2, 3]));
    await waitFor(() => client.messages.length === 2, 'two echoes');
    expect(client.messages.map((m) => [m.data.toString('hex'), m.isBinary])).toEqual([
      [Buffer.from('text').toString('hex'), false],
      ['010203', true],
    ]);
    const serverSide = await s.waitForConnection();
    expect(received).toEqual([
      { client: serverSide, data: 'text', isBinary: false },
      { client: serverSide, data: Buffer.from([1, 2, 3]), isBinary: true },
    ]);
  });

  test('without echo it stays silent', async () => {
    const s = await server();
    const client = await openClient(s.url);
    client.ws.send('ping?');
    await within(firstValueFrom(s.received$), 10_000, 'received');
    expect(client.messages).toHaveLength(0);
  });

  test('waitForConnection hands out clients in connection order, even those that came first', async () => {
    const s = await server();
    const first = await openClient(`${s.url}?n=1`);
    const second = await openClient(`${s.url}?n=2`);
    expect(s.clients.size).toBe(2);
    const a = await s.waitForConnection();
    const b = await s.waitForConnection();
    const third = s.waitForConnection();
    const c = await openClient(`${s.url}?n=3`);
    a.send('1');
    b.send('2');
    (await within(third, 10_000, 'third client')).send('3');
    await waitFor(() => [first, second, c].every((p) => p.messages.length === 1), 'one message each');
    expect([first, second, c].map((p) => p.messages[0]?.data.toString())).toEqual(['1', '2', '3']);
  });

  test('closeAll sends the code and reason; terminateAll gives 1006', async () => {
    const s = await server();
    const polite = await openClient(s.url);
    await s.closeAll(4001, 'bye');
    expect(await within(polite.closed, 10_000, 'polite close')).toEqual({ code: 4001, reason: 'bye' });
    expect(s.clients.size).toBe(0);
    const rude = await openClient(s.url);
    await s.terminateAll();
    expect((await within(rude.closed, 10_000, 'rude close')).code).toBe(1006);
    expect(s.clients.size).toBe(0);
  });

  test('stop keeps the port, refuses connections, and restart listens on the same port again', async () => {
    const s = await server({ echo: true });
    const port = s.port;
    const before = await openClient(s.url);
    await s.stop();
    expect((await within(before.closed, 10_000, 'close on stop')).code).toBe(1006);
    const refused = track(probe(s.url), terminate);
    await within(refused.closed, 10_000, 'refused');
    expect(refused.errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ECONNREFUSED']);
    await s.restart();
    expect(s.port).toBe(port);
    const after = await openClient(`ws://127.0.0.1:${port}/`);
    after.ws.send('again');
    await waitFor(() => after.messages.length === 1, 'echo after restart');
    expect(after.messages[0]?.data.toString()).toBe('again');
  });

  test('wsOptions reach the WebSocketServer', async () => {
    const s = await server({ wsOptions: { maxPayload: 10 } });
    const client = await openClient(s.url);
    client.ws.send('x'.repeat(100));
    expect((await within(client.closed, 10_000, 'close')).code).toBe(1009);
  });

  test('close completes received$ and rejects waits', async () => {
    const s = await createTestServer();
    const all = firstValueFrom(s.received$.pipe(toArray()));
    const pending = expect(s.waitForConnection()).rejects.toThrow(DisposedError);
    await s.close();
    await pending;
    await expect(s.waitForConnection()).rejects.toThrow('The test server was closed while this call was waiting');
    expect(await all).toEqual([]);
    await expect(s.restart()).rejects.toThrow(DisposedError);
  });

  test('the deprecated dispose() and waitForClient() are the same as close() and waitForConnection()', async () => {
    const s = await createTestServer();
    const claimed = s.waitForClient();
    const client = track(probe(s.url), terminate);
    await within(client.opened, 10_000, 'client open');
    expect((await claimed).readyState).toBe(1);
    const pending = expect(s.waitForClient()).rejects.toThrow(DisposedError);
    await s.dispose();
    await pending;
    expect(s.dispose).toBe(s.close);
    await expect(s.close()).resolves.toBeUndefined(); // idempotent
    expect(s.clients.size).toBe(0);
  });
});
