import { connect, createServer, type Server, type Socket } from 'node:net';
import { createFaultProxy, type FaultProxy } from '../../lib/testing/fault-proxy.js';
import { createTestServer, type TestServer } from '../../lib/testing/test-server.js';
import { InvalidOptionError, NotLoopbackError } from '../../lib/testing/errors.js';
import { pingWithin, probe, terminate, within, type Probe } from './helpers.js';
import { deferred, waitFor, sleep } from '../helpers/wait';
import { track } from '../helpers/dispose';

async function setup(): Promise<{ server: TestServer; proxy: FaultProxy }> {
  const server = track(await createTestServer({ echo: true }), (s) => s.close());
  const proxy = track(await createFaultProxy({ target: server.url }), (p) => p.close());
  return { server, proxy };
}

async function openClient(url: string): Promise<Probe> {
  const client = track(probe(url), terminate);
  await within(client.opened, 10_000, 'client open');
  return client;
}

describe('createFaultProxy', () => {
  test('pass forwards both ways and counts bytes per link', async () => {
    const { server, proxy } = await setup();
    const client = await openClient(proxy.url);
    client.ws.send('hello');
    await waitFor(() => client.messages.length === 1, 'echo');
    expect(client.messages[0]?.data.toString()).toBe('hello');
    expect(server.clients.size).toBe(1);
    const [link, ...others] = proxy.links();
    expect(others).toHaveLength(0);
    expect(link).toMatchObject({ id: 1, open: true, hung: false });
    expect(link?.bytesUp).toBeGreaterThan(5);
    expect(link?.bytesDown).toBeGreaterThan(5);
  });

  test('blackhole down: a ping gets no pong while the link stays open, and pass restores it', async () => {
    const { server, proxy } = await setup();
    const client = await openClient(proxy.url);
    const before = proxy.links()[0]?.bytesDown;
    proxy.set('down', { kind: 'blackhole' });
    expect(await pingWithin(client.ws, 1000)).toBeUndefined();
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    expect(server.clients.size).toBe(1);
    expect(proxy.links()[0]).toMatchObject({ open: true, bytesDown: before });
    proxy.set('down', { kind: 'pass' });
    expect((await pingWithin(client.ws, 10_000))?.toString()).toBe('probe');
  });

  test('blackhole up swallows messages and even the FIN: the server keeps a zombie', async () => {
    const { server, proxy } = await setup();
    const client = await openClient(proxy.url);
    const received: unknown[] = [];
    server.received$.subscribe((message) => received.push(message));
    const serverSide = await server.waitForConnection();
    proxy.set('up', { kind: 'blackhole' });
    client.ws.send('lost');
    await terminate(client);
    await sleep(500);
    expect(received).toHaveLength(0);
    expect(server.clients.has(serverSide)).toBe(true);
    expect(serverSide.readyState).toBe(serverSide.OPEN);
  });

  test('stall: the client buffers and stays buffered, then pass delivers everything in order', async () => {
    const { server, proxy } = await setup();
    const client = await openClient(proxy.url);
    const received: string[] = [];
    server.received$.subscribe(({ data }) => received.push((data as Buffer).subarray(0, 8).toString()));
    proxy.set('up', { kind: 'stall' });
    const count = 128;
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    for (let i = 0; i < count; i++) client.ws.send(Buffer.concat([Buffer.from(String(i).padStart(8, '0')), chunk]));
    await sleep(300);
    const held = client.ws.bufferedAmount;
    expect(held).toBeGreaterThan(4 * 1024 * 1024);
    await sleep(700);
    // Stalled means not draining: the kernel may take a last segment, never megabytes.
    expect(client.ws.bufferedAmount).toBeGreaterThan(held - 1024 * 1024);
    expect(received).toHaveLength(0);
    proxy.set('up', { kind: 'pass' });
    await waitFor(() => received.length === count, 'all messages after resume', 20_000);
    expect(received).toEqual(Array.from({ length: count }, (_, i) => String(i).padStart(8, '0')));
    await waitFor(() => client.ws.bufferedAmount === 0, 'client drained');
  });

  test('delay holds every chunk at least `ms` and keeps the order despite jitter', async () => {
    const { server, proxy } = await setup();
    const client = await openClient(proxy.url);
    let received = 0;
    server.received$.subscribe(() => received++);
    proxy.set('down', { kind: 'delay', ms: 300, jitterMs: 200 });
    const sentAt = Date.now();
    // One echo at a time, so that each reaches the proxy as its own chunk with its own jitter.
    for (let i = 0; i < 20; i++) {
      client.ws.send(String(i));
      await waitFor(() => received === i + 1, `message ${i} at the server`);
    }
    await waitFor(() => client.messages.length === 20, '20 echoes');
    expect(client.messages.map((m) => m.data.toString())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect((client.messages[0]?.at ?? 0) - sentAt).toBeGreaterThanOrEqual(290);
  });

  test('a fault set before connecting applies to new links (the handshake is delayed)', async () => {
    const { proxy } = await setup();
    proxy.set('both', { kind: 'delay', ms: 200 });
    const started = Date.now();
    await openClient(proxy.url);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  });

  test('throttle caps the throughput', async () => {
    const { proxy } = await setup();
    const client = await openClient(proxy.url);
    proxy.set('down', { kind: 'throttle', bytesPerSec: 100_000 });
    const payload = Buffer.alloc(200_000, 7);
    const sentAt = Date.now();
    client.ws.send(payload);
    await waitFor(() => client.messages.length === 1, 'throttled echo', 15_000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1800);
    expect(client.messages[0]?.data.equals(payload)).toBe(true);
  });

  test('slice cuts chunks into pieces with gaps and the message stays intact', async () => {
    const { proxy } = await setup();
    const client = await openClient(proxy.url);
    proxy.set('both', { kind: 'slice', bytes: 16, gapMs: 5 });
    const text = 'x'.repeat(1000);
    const sentAt = Date.now();
    client.ws.send(text);
    await waitFor(() => client.messages.length === 1, 'sliced echo');
    expect(client.messages[0]?.data.toString()).toBe(text);
    // 1000+ bytes in 16-byte pieces 5 ms apart, each way: at least 62 gaps of 5 ms per direction
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(2 * 62 * 5);
  });

  test('limit fin: the link ends after exactly N more bytes and the ws client sees 1006', async () => {
    const { server, proxy } = await setup();
    const client = await openClient(proxy.url);
    const received: unknown[] = [];
    server.received$.subscribe((message) => received.push(message));
    const before = proxy.links()[0]?.bytesUp ?? 0;
    proxy.set('up', { kind: 'limit', bytes: 100, then: 'fin' });
    client.ws.send('y'.repeat(1000));
    expect((await within(client.closed, 10_000, 'client close')).code).toBe(1006);
    await waitFor(() => proxy.links()[0]?.open === false, 'link closed');
    expect((proxy.links()[0]?.bytesUp ?? 0) - before).toBe(100);
    expect(received).toHaveLength(0);
  });

  describe('limit on raw TCP', () => {
    async function sink(): Promise<{ port: number; bytes: () => number; ended: Promise<void> }> {
      let total = 0;
      const ended = deferred();
      const server: Server = track(
        createServer((socket) => {
          socket.on('error', () => undefined);
          socket.on('data', (chunk: Buffer) => (total += chunk.length));
          socket.on('end', () => ended.resolve());
          socket.on('close', () => ended.resolve());
        }),
        (s) => new Promise((resolve) => s.close(resolve)),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { port: (server.address() as { port: number }).port, bytes: () => total, ended: ended.promise };
    }

    function rawClient(port: number): { socket: Socket; outcome: Promise<string> } {
      const socket = track(connect({ port, host: '127.0.0.1' }), (s) => s.destroy());
      const outcome = new Promise<string>((resolve) => {
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
        socket.on('end', () => resolve('end'));
      });
      socket.resume();
      return { socket, outcome };
    }

    test.each([
      ['fin', 'end'],
      ['rst', 'ECONNRESET'],
    ] as const)('then %s: exactly 10 bytes pass and the client sees %s', async (then, expected) => {
      const target = await sink();
      const proxy = track(await createFaultProxy({ target: { port: target.port } }), (p) => p.close());
      proxy.set('up', { kind: 'limit', bytes: 10, then });
      const { socket, outcome } = rawClient(proxy.port);
      socket.write(Buffer.alloc(100, 1));
      expect(await within(outcome, 10_000, 'client outcome')).toBe(expected);
      await within(target.ended, 10_000, 'target end');
      expect(target.bytes()).toBe(10);
      expect(proxy.links()[0]?.bytesUp).toBe(10);
    });
  });

  test('accept refuse resets new connections; pass lets the next one through', async () => {
    const { server, proxy } = await setup();
    proxy.accept('refuse');
    const refused = track(probe(proxy.url), terminate);
    expect((await within(refused.closed, 10_000, 'refused close')).code).toBe(1006);
    await expect(refused.opened).rejects.toThrow('closed before open');
    expect(refused.errors.length).toBe(1);
    expect(server.clients.size).toBe(0);
    expect(proxy.links()).toHaveLength(0);
    proxy.accept('pass');
    await openClient(proxy.url);
    expect(server.clients.size).toBe(1);
  });

  test('a target that is down resets the client instead of leaving it hanging', async () => {
    const { server, proxy } = await setup();
    await server.stop();
    const client = track(probe(proxy.url), terminate);
    expect((await within(client.closed, 10_000, 'client close')).code).toBe(1006);
    await expect(client.opened).rejects.toThrow('closed before open');
    await waitFor(() => proxy.links()[0]?.open === false, 'link closed');
    expect(proxy.links()[0]).toMatchObject({ bytesUp: 0, bytesDown: 0 });
  });

  test('accept hang: TCP is accepted, the handshake never completes', async () => {
    const { server, proxy } = await setup();
    proxy.accept('hang');
    const client = track(probe(proxy.url, undefined, { handshakeTimeout: 500 }), terminate);
    await within(client.closed, 10_000, 'handshake timeout');
    expect(client.errors.map((e) => e.message)).toEqual(['Opening handshake has timed out']);
    await waitFor(() => proxy.links()[0]?.open === false, 'hung socket closed after the client gave up');
    expect(proxy.links()).toEqual([{ id: 1, bytesUp: 0, bytesDown: 0, open: false, hung: true }]);
    expect(server.clients.size).toBe(0);
  });

  test.each(['rst', 'fin'] as const)('reset(%s) ends live links: client and server both see 1006', async (how) => {
    const { server, proxy } = await setup();
    const client = await openClient(proxy.url);
    const serverSide = await server.waitForConnection();
    const serverClosed = deferred<number>();
    serverSide.once('close', (code) => serverClosed.resolve(code));
    proxy.reset(how);
    expect((await within(client.closed, 10_000, 'client close')).code).toBe(1006);
    expect(await within(serverClosed.promise, 10_000, 'server close')).toBe(1006);
    await waitFor(() => proxy.links()[0]?.open === false, 'link closed');
  });

  test('close() destroys live links and resolves', async () => {
    const { proxy } = await setup();
    const client = await openClient(proxy.url);
    proxy.set('down', { kind: 'delay', ms: 60_000 });
    client.ws.send('never echoed');
    await proxy.close();
    expect((await within(client.closed, 10_000, 'client close')).code).toBe(1006);
    expect(proxy.links()[0]?.open).toBe(false);
    expect(client.messages).toHaveLength(0);
  });

  test('validates its options with precise messages', async () => {
    const { proxy } = await setup();
    expect(() => proxy.set('up', { kind: 'throttle', bytesPerSec: 0 })).toThrow(
      new InvalidOptionError('bytesPerSec', 'a finite number > 0', 0),
    );
    expect(() => proxy.set('up', { kind: 'throttle', bytesPerSec: 0 })).toThrow(
      'Expected `bytesPerSec` to be a finite number > 0, got `0` (number)',
    );
    expect(() => proxy.set('sideways' as 'up', { kind: 'pass' })).toThrow(
      "Expected `direction` to be one of 'up', 'down', 'both', got `sideways` (string)",
    );
    expect(() => proxy.set('up', { kind: 'slice', bytes: 0.5 })).toThrow(
      'Expected `bytes` to be an integer >= 1, got `0.5` (number)',
    );
    expect(() => proxy.accept('maybe' as 'pass')).toThrow(InvalidOptionError);
    await expect(createFaultProxy({ target: 'ws://10.0.0.1:80/' })).rejects.toThrow(NotLoopbackError);
    await expect(createFaultProxy({ target: { port: 70_000 } })).rejects.toThrow(
      'Expected `target.port` to be an integer from 1 to 65535, got `70000` (number)',
    );
  });

  test('url() uses the target path by default and accepts another', async () => {
    const server = track(await createTestServer(), (s) => s.close());
    const proxy = track(await createFaultProxy({ target: `${server.url}chat?room=1` }), (p) => p.close());
    expect(proxy.url).toBe(`ws://127.0.0.1:${proxy.port}/chat?room=1`);
    expect(proxy.urlFor('other')).toBe(`ws://127.0.0.1:${proxy.port}/other`);
  });
});
