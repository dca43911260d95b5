import { once } from 'node:events';
import { lastValueFrom, toArray } from 'rxjs';
import { WebSocket } from 'ws';
import { connect, ConnectionClosedError } from '../../lib/index.js';
import { listen, type Peer, type Server, type ServerOptions } from '../../lib/server/index.js';
import { createFaultProxy } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose.js';
import { thrown } from '../helpers/thrown.js';
import '../helpers/tripwires.js';
import { sleep, waitFor } from '../helpers/wait.js';

// rxwire/server against real clients on 127.0.0.1: plain `ws` clients (what a foreign client
// does) and rxwire clients. Every accepted client is a Peer with its own writer and queue.

type Msg = Record<string, unknown>;

async function serve(options: ServerOptions<Msg, Msg> = {}): Promise<Server<Msg, Msg>> {
  const server = listen<Msg, Msg>({ logger: false, ...options });
  onDispose(() => server.close({ timeout: 500 }));
  await server.ready;
  return server;
}

/** A plain ws client that records what it receives (parsed) and how it closed. */
async function wsClient(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
  const ws = new WebSocket(url, options);
  const received: Msg[] = [];
  ws.on('message', (data) => received.push(JSON.parse(String(data)) as Msg));
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  onDispose(() => ws.terminate());
  await once(ws, 'open');
  return { ws, received, closed };
}

/** A plain ws client that records only the `i` of each `{"i":…,…}` it receives (no parse of the rest: 100 of them share two cores). */
async function indexClient(url: string) {
  const ws = new WebSocket(url);
  const received: number[] = [];
  ws.on('message', (data: Buffer) => received.push(Number(/^\{"i":(\d+)/.exec(data.toString('latin1', 0, 24))?.[1])));
  ws.on('error', () => undefined);
  onDispose(() => ws.terminate());
  await once(ws, 'open');
  return { ws, received };
}

/** The next `n` peers the server accepts. */
function nextPeers(server: Server<Msg, Msg>, n: number): Promise<Array<Peer<Msg, Msg>>> {
  return new Promise((resolve) => {
    const peers: Array<Peer<Msg, Msg>> = [];
    const subscription = server.connections$.subscribe((peer) => {
      peers.push(peer);
      if (peers.length === n) {
        subscription.unsubscribe();
        resolve(peers);
      }
    });
  });
}

describe('listen(): peers', () => {
  test('echo with a plain ws client; the request is known; messages$ completes when the client closes', async () => {
    const server = await serve({ path: '/ws' });
    expect(server.url).toBe(`ws://127.0.0.1:${server.port}/ws`);
    const accepted = nextPeers(server, 1);
    const client = await wsClient(`${server.url}?room=7`, { headers: { 'x-test': 'yes' } });
    const [peer] = (await accepted) as [Peer<Msg, Msg>];
    const seen = lastValueFrom(peer.messages$.pipe(toArray()));
    peer.messages$.subscribe((msg) => void peer.send({ echo: msg }));
    client.ws.send(JSON.stringify({ n: 1 }));
    client.ws.send(JSON.stringify({ n: 2 }));
    await waitFor(() => client.received.length === 2, 'two echoes');
    expect(client.received).toEqual([{ echo: { n: 1 } }, { echo: { n: 2 } }]);
    expect(peer.request).toMatchObject({ url: '/ws?room=7', remoteAddress: '127.0.0.1', protocol: '' });
    expect(peer.request.headers['x-test']).toBe('yes');
    expect(server.peers.has(peer)).toBe(true);
    client.ws.close(4000, 'bye');
    expect(await seen).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await peer.closed).toEqual({ code: 4000, reason: 'bye', wasClean: true, initiator: 'client' });
    await waitFor(() => server.peers.size === 0, 'the peer gone from peers');
  });

  test('no message is lost between accept and the first subscription; a late subscriber gets them first, in order', async () => {
    const server = await serve();
    const accepted = nextPeers(server, 1);
    const client = await wsClient(server.url);
    for (let n = 1; n <= 3; n++) client.ws.send(JSON.stringify({ n }));
    const [peer] = (await accepted) as [Peer<Msg, Msg>];
    await sleep(100); // the application is slow to subscribe: the messages arrive meanwhile
    const got: Msg[] = [];
    peer.messages$.subscribe((msg) => got.push(msg));
    client.ws.send(JSON.stringify({ n: 4 }));
    await waitFor(() => got.length === 4, 'all four messages');
    expect(got).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
  });

  test('more than holdLimit messages before the first subscription close the peer with 1008, reported', async () => {
    const server = await serve({ holdLimit: 2 });
    const accepted = nextPeers(server, 1);
    const client = await wsClient(server.url);
    const [peer] = (await accepted) as [Peer<Msg, Msg>];
    const errors: Error[] = [];
    peer.errors$.subscribe((e) => errors.push(e));
    for (let n = 1; n <= 3; n++) client.ws.send(JSON.stringify({ n }));
    expect(await client.closed).toEqual({ code: 1008, reason: 'hold limit' });
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('holdLimit')]);
    expect((await peer.closed).initiator).toBe('server');
  });

  test('an rxwire client end to end: request/answer through send(), and the server closing with 1001 is retried by the client', async () => {
    const server = await serve();
    server.connections$.subscribe((peer) => peer.messages$.subscribe((msg) => void peer.send({ id: msg.id, ok: true })));
    const socket = connect<Msg, Msg>(server.url, { logger: false, reconnect: { initialDelay: 10, jitter: false } });
    onDispose(() => socket.close());
    socket.messages$.subscribe({ error: () => undefined }); // holds the connection
    await expect(socket.request({ id: 1 }, { match: (m) => m.id === 1, timeout: 2000 })).resolves.toEqual({ id: 1, ok: true });
    const [peer] = [...server.peers] as [Peer<Msg, Msg>];
    await peer.close(1001, 'going away');
    await waitFor(() => server.peers.size === 1 && socket.state.status === 'open' && socket.metrics.reconnects === 1, 'the client back');
    await expect(socket.request({ id: 2 }, { match: (m) => m.id === 2, timeout: 2000 })).resolves.toEqual({ id: 2, ok: true });
  });

  test('per-peer order under 50 concurrent producers: one writer per peer', async () => {
    const server = await serve();
    const accepted = nextPeers(server, 1);
    const client = await wsClient(server.url);
    const [peer] = (await accepted) as [Peer<Msg, Msg>];
    const producers = Array.from({ length: 50 }, async (_, p) => {
      for (let i = 0; i < 20; i++) {
        await peer.send({ p, i });
        if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    await Promise.all(producers);
    await waitFor(() => client.received.length === 1000, 'all 1000 messages');
    for (let p = 0; p < 50; p++) {
      expect(client.received.filter((m) => m.p === p).map((m) => m.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    }
  });
});

describe('broadcast and topics', () => {
  test('broadcast serializes once and reaches every peer but `except`; filter selects', async () => {
    let serialized = 0;
    const server = await serve({ serialize: (m) => (serialized++, JSON.stringify(m)) });
    const accepted = nextPeers(server, 3);
    const clients = [await wsClient(server.url), await wsClient(server.url), await wsClient(server.url)]; // in accept order
    const peers = await accepted;
    expect(server.broadcast({ all: true })).toBe(3);
    expect(server.broadcast({ but: 1 }, { except: peers[0] })).toBe(2);
    expect(server.broadcast({ only: 3 }, { filter: (p) => p === peers[2] })).toBe(1);
    expect(serialized).toBe(3);
    const byId = new Map(peers.map((peer, i) => [peer, clients[i] as (typeof clients)[number]]));
    await waitFor(() => clients.reduce((sum, c) => sum + c.received.length, 0) === 6, 'the six deliveries');
    expect(byId.get(peers[0] as Peer<Msg, Msg>)?.received).toEqual([{ all: true }]);
    expect(byId.get(peers[1] as Peer<Msg, Msg>)?.received).toEqual([{ all: true }, { but: 1 }]);
    expect(byId.get(peers[2] as Peer<Msg, Msg>)?.received).toEqual([{ all: true }, { but: 1 }, { only: 3 }]);
  });

  test('a broadcast goes out as a text frame with its exact UTF-8, to plain clients and to session clients alike, at every length encoding', async () => {
    // Framed once for all plain peers (7-bit, 16-bit and 64-bit payload lengths): still text frames
    // a standard client parses, in order, among ws's own frames (a ping between them).
    const server = await serve({ session: true });
    const accepted = nextPeers(server, 3);
    const plain = [new WebSocket(server.url), new WebSocket(server.url)];
    const frames: Array<Array<[string, boolean]>> = [[], []];
    for (const [i, ws] of plain.entries()) {
      onDispose(() => ws.terminate());
      ws.on('message', (data, isBinary) => frames[i]?.push([String(data), isBinary]));
      await once(ws, 'open');
    }
    const socket = connect<Msg, Msg>(server.url, { session: true, logger: false });
    onDispose(() => socket.close());
    const viaSession: Msg[] = [];
    socket.messages$.subscribe((m) => viaSession.push(m));
    const peers = (await accepted) as unknown as Array<{ ping(): void }>;
    const pinged = plain.map((ws) => once(ws, 'ping'));
    const messages = [{ text: 'é € 😀 中文' }, { text: 'é'.repeat(100) }, { text: '€'.repeat(30_000) }]; // 36, 213 and 90,011 bytes of JSON
    expect(server.broadcast(messages[0] as Msg)).toBe(3);
    for (const peer of peers) peer.ping(); // a frame of ws's own between two prepared ones
    expect(server.broadcast(messages[1] as Msg)).toBe(3);
    expect(server.broadcast(messages[2] as Msg)).toBe(3);
    await waitFor(() => frames.every((f) => f.length === 3) && viaSession.length === 3, 'the nine deliveries');
    const expected = messages.map((m) => [JSON.stringify(m), false]);
    expect(frames).toEqual([expected, expected]);
    expect(viaSession).toEqual(messages);
    await Promise.all(pinged);
  });

  test('publish reaches the peers that joined the topic, until they leave or close', async () => {
    const server = await serve();
    const accepted = nextPeers(server, 2);
    const [a, b] = await Promise.all([wsClient(server.url), wsClient(server.url)]);
    const [pa, pb] = (await accepted) as [Peer<Msg, Msg>, Peer<Msg, Msg>];
    pa.join('news');
    pb.join('news');
    pb.join('sport');
    expect(server.publish('news', { t: 1 })).toBe(2);
    expect(server.publish('sport', { t: 2 })).toBe(1);
    pb.leave('news');
    expect(server.publish('news', { t: 3 })).toBe(1);
    expect(server.publish('nobody', { t: 4 })).toBe(0);
    expect([...pb.topics]).toEqual(['sport']);
    await waitFor(() => a?.received.length === 2 && b?.received.length === 2, 'deliveries');
    expect(a?.received).toEqual([{ t: 1 }, { t: 3 }]);
    expect(b?.received).toEqual([{ t: 1 }, { t: 2 }]);
    b?.ws.close();
    await pb.closed;
    expect(server.publish('sport', { t: 5 })).toBe(0);
  });
});

describe('slow consumers', () => {
  test('a stalled client: 1,000 broadcasts of 8 KB to 100 peers; the other 99 get all, in order; the stalled queue stays bounded and its drops are reported', async () => {
    const server = await serve({ buffer: { size: 100, bytes: 256 * 1024 }, highWaterMark: 64 * 1024 });
    const proxy = await createFaultProxy({ target: server.url });
    onDispose(() => proxy.close());
    const accepted = nextPeers(server, 100);
    const healthy = await Promise.all(Array.from({ length: 99 }, () => indexClient(server.url)));
    await wsClient(proxy.url); // connected last: the last peer accepted
    const peers = await accepted;
    const stalledPeer = peers[99] as Peer<Msg, Msg>;
    proxy.set('down', { kind: 'stall' });
    const drops: string[] = [];
    stalledPeer.dropped$.subscribe(({ reason }) => drops.push(reason));
    let maxBuffered = 0;
    const pad = 'x'.repeat(8000); // 8 MB in all: more than the kernel's socket buffers hold
    const healthyPeers = peers.slice(0, 99);
    for (let i = 0; i < 1000; i++) {
      server.broadcast({ i, pad });
      maxBuffered = Math.max(maxBuffered, stalledPeer.buffered);
      // A producer at the pace of the healthy clients: they keep up, the stalled one cannot.
      if (i % 20 === 19) await waitFor(() => healthyPeers.every((peer) => peer.buffered === 0), 'the healthy queues to drain');
    }
    await waitFor(() => healthy.every((c) => c.received.length === 1000), 'every healthy client has all 1000', 10_000);
    for (const c of healthy) expect(c.received).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(maxBuffered).toBeLessThanOrEqual(100);
    expect(drops.length).toBeGreaterThan(0);
    expect(new Set(drops)).toEqual(new Set(['overflow']));
    expect(stalledPeer.buffered).toBeLessThanOrEqual(100);
  }, 30_000);

  test("slowConsumer: 'close' closes a stalled peer with 1013 'slow consumer'", async () => {
    const server = await serve({ buffer: { size: 5 }, highWaterMark: 1024, slowConsumer: 'close' });
    const proxy = await createFaultProxy({ target: server.url });
    onDispose(() => proxy.close());
    const accepted = nextPeers(server, 1);
    await wsClient(proxy.url);
    const [peer] = (await accepted) as [Peer<Msg, Msg>];
    proxy.set('down', { kind: 'stall' });
    const pad = 'y'.repeat(50_000); // 10 MB in all: more than the kernel's socket buffers hold
    for (let i = 0; i < 200 && !(peer as unknown as { ended: boolean }).ended; i++) {
      server.broadcast({ i, pad });
      await new Promise((resolve) => setImmediate(resolve));
    }
    proxy.set('down', { kind: 'pass' });
    const close = await peer.closed;
    expect(close).toMatchObject({ code: 1013, reason: 'slow consumer', initiator: 'server' });
  }, 20_000);
});

describe('heartbeat, admission, limits', () => {
  test('a client that ignores pings is terminated within interval + timeout (initiator heartbeat); one that answers stays', async () => {
    const server = await serve({ heartbeat: { interval: 100, timeout: 100 } });
    const accepted = nextPeers(server, 2);
    const silent = await wsClient(server.url, { autoPong: false });
    const alive = await wsClient(server.url);
    const [first, second] = (await accepted) as [Peer<Msg, Msg>, Peer<Msg, Msg>];
    const started = Date.now();
    const close = await first.closed;
    expect(close).toMatchObject({ code: 1006, initiator: 'heartbeat', reason: 'heartbeat timeout' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await silent.closed).code).toBe(1006);
    await sleep(350); // three more rounds: the answering client is still there
    expect(server.peers.has(second)).toBe(true);
    void alive;
  });

  test('allowedOrigins: a foreign Origin is refused with 403 before the upgrade; no Origin and a listed one are admitted', async () => {
    const server = await serve({ allowedOrigins: ['https://app.example'] });
    const refused = new WebSocket(server.url, { origin: 'https://evil.example' });
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(403);
    refused.on('error', () => undefined);
    await wsClient(server.url, { origin: 'https://app.example' });
    await wsClient(server.url);
    expect(server.peers.size).toBe(2);
  });

  test('verify: { status } refuses with it; an rxwire client refused with 401 does not retry', async () => {
    const server = await serve({ verify: (request) => (request.url.includes('token=good') ? true : request.url.includes('busy') ? { status: 429 } : false) });
    const busy = new WebSocket(`${server.url}?busy`);
    busy.on('error', () => undefined);
    const [, response] = (await once(busy, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(429);
    const socket = connect(`${server.url}?token=bad`, { logger: false, reconnect: { initialDelay: 10, jitter: false } });
    onDispose(() => socket.close());
    const error = await lastValueFrom(socket.messages$).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ code: 1006, status: 401 });
    expect(socket.state).toMatchObject({ status: 'closed', attempt: 1 });
    await wsClient(`${server.url}?token=good`);
  });

  test('a flooding client is closed with 1008 (inboundRate) while another carries on; a message over maxPayload closes with 1009', async () => {
    const server = await serve({ inboundRate: { perSecond: 20, burst: 5 }, maxPayload: 1000 });
    const accepted = nextPeers(server, 3);
    const flood = await wsClient(server.url);
    const calm = await wsClient(server.url);
    const big = await wsClient(server.url);
    const [pf, pc] = (await accepted) as [Peer<Msg, Msg>, Peer<Msg, Msg>];
    pc.messages$.subscribe((m) => void pc.send(m));
    pf.messages$.subscribe();
    for (let i = 0; i < 50; i++) flood.ws.send(JSON.stringify({ i }));
    expect(await flood.closed).toEqual({ code: 1008, reason: 'rate limit' });
    calm.ws.send(JSON.stringify({ still: 'here' }));
    await waitFor(() => calm.received.length === 1, 'the calm client answered');
    big.ws.send(JSON.stringify({ pad: 'z'.repeat(2000) }));
    expect((await big.closed).code).toBe(1009);
  });

  test('options are checked at listen() with precise messages', () => {
    expect(thrown(() => listen({ prot: 1 } as never)).message).toBe('Unknown option `prot`: did you mean `port`?');
    expect(thrown(() => listen({ slowConsumer: 'wait' } as never)).message).toBe("Expected `slowConsumer` to be 'drop-newest', 'drop-oldest' or 'close', got `wait` (string)");
    expect(thrown(() => listen({ buffer: { size: -1 } })).message).toBe('Expected `buffer.size` to be an integer >= 0 (or Infinity), got `-1` (number)');
    expect(thrown(() => listen({ path: 'ws' })).message).toBe("Expected `path` to be a string starting with '/', got `ws` (string)");
  });
});

describe('shutdown', () => {
  test('close(): queues flush, every peer closes with 1001, the report counts them; new upgrades are refused; idempotent', async () => {
    const server = listen<Msg, Msg>({ logger: false });
    await server.ready;
    const accepted = nextPeers(server, 5);
    const clients = await Promise.all(Array.from({ length: 5 }, () => wsClient(server.url)));
    await accepted;
    for (let i = 0; i < 100; i++) server.broadcast({ i });
    const closing = server.close({ timeout: 2000 });
    expect(server.close()).toBe(closing);
    const report = await closing;
    expect(report).toEqual({ peers: 5, closedCleanly: 5, terminated: 0, dropped: 0 });
    for (const c of clients) {
      expect(await c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
      expect(c.received).toHaveLength(100);
    }
    const late = new WebSocket(server.url);
    const [error] = (await once(late, 'error')) as [Error & { code?: string }];
    expect(error.code).toBe('ECONNREFUSED');
  });

  test('a peer that does not answer the close is terminated at the timeout', async () => {
    const server = listen<Msg, Msg>({ logger: false, heartbeat: false });
    await server.ready;
    const proxy = await createFaultProxy({ target: server.url });
    onDispose(() => proxy.close());
    const accepted = nextPeers(server, 2);
    await wsClient(server.url);
    await wsClient(proxy.url);
    await accepted;
    proxy.set('both', { kind: 'blackhole' });
    const report = await server.close({ timeout: 300 });
    expect(report).toMatchObject({ peers: 2, closedCleanly: 1, terminated: 1 });
  });
});
