import { lastValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { connect, ConnectionClosedError, MessageDroppedError, SessionLostError, SessionUnsupportedError, type RxSocket } from '../../lib/index.js';
import { listen, type Peer, type Server, type ServerOptions } from '../../lib/server/index.js';
import { createFaultProxy } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// Resumable sessions end to end: rxwire clients and rxwire servers on 127.0.0.1, connections
// broken by the fault proxy. Reliable messages are delivered exactly once and in order across
// reconnects, receipts resolve, and a session that cannot be resumed is reported.

type Msg = { n: number; kind?: string };

async function serve(options: ServerOptions<Msg, Msg> = {}): Promise<Server<Msg, Msg>> {
  const server = listen<Msg, Msg>({ logger: false, session: true, ...options });
  onDispose(() => server.close({ timeout: 500 }));
  await server.ready;
  return server;
}

function client(url: string, options: Parameters<typeof connect<Msg, Msg>>[1] = {}): RxSocket<Msg, Msg> {
  const socket = connect<Msg, Msg>(url, { logger: false, session: true, reconnect: { initialDelay: 10, maxDelay: 50 }, ...options });
  onDispose(() => socket.close());
  return socket;
}

/** Every peer the server accepts, in order. */
function peersOf(server: Server<Msg, Msg>): Array<Peer<Msg, Msg>> {
  const peers: Array<Peer<Msg, Msg>> = [];
  server.connections$.subscribe((peer) => peers.push(peer));
  return peers;
}

describe('sessions: negotiation', () => {
  test('a session client and a session server agree on rxwire.session.1; state$ names the session', async () => {
    const server = await serve();
    const peers = peersOf(server);
    const socket = client(server.url);
    const states: Array<{ id: string; resumed: boolean } | undefined> = [];
    socket.state$.subscribe((state) => state.status === 'open' && states.push(state.session));
    await socket.opened();
    await waitFor(() => peers.length === 1, 'the peer');
    const peer = peers[0] as Peer<Msg, Msg>;
    expect(peer.request.protocol).toBe('rxwire.session.1');
    expect(peer.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(states).toEqual([{ id: peer.sessionId, resumed: false }]);
    expect(peer.connected).toBe(true);
  });

  test('a session client meeting a server without sessions fails with SessionUnsupportedError, not retried', async () => {
    const server = await serve({ session: false });
    const socket = client(server.url);
    const error = await lastValueFrom(socket.messages$).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as ConnectionClosedError).cause).toBeInstanceOf(SessionUnsupportedError);
    expect(socket.state.status).toBe('closed');
    expect(socket.metrics.reconnects).toBe(0);
  });

  test('plain clients keep working with a session server: no framing, no session', async () => {
    const server = await serve();
    const peers = peersOf(server);
    server.connections$.subscribe((peer) => peer.messages$.subscribe((msg) => void peer.send({ n: msg.n + 1 })));
    const plain = connect<Msg, Msg>(server.url, { logger: false });
    onDispose(() => plain.close());
    const answer = plain.request({ n: 1 }, { match: (msg) => msg.n === 2, timeout: 2000 });
    await expect(answer).resolves.toEqual({ n: 2 });
    expect(peers[0]?.sessionId).toBeUndefined();
    // A raw ws client that offers the session subprotocol among others to a server without sessions does not get it.
    const plainServer = await serve({ session: false });
    const ws = new WebSocket(plainServer.url, ['rxwire.session.1', 'chat']);
    onDispose(() => ws.terminate());
    await new Promise((resolve) => ws.once('open', resolve));
    expect(ws.protocol).toBe('chat');
  });

  test("delivery: 'reliable' without a session is a TypeError; bad session options are refused at construction", async () => {
    const server = await serve({ session: false });
    const plain = connect<Msg, Msg>(server.url, { logger: false });
    onDispose(() => plain.close());
    await expect(plain.send({ n: 1 }, { delivery: 'reliable' })).rejects.toThrow(/needs a session/);
    expect(() => connect('ws://127.0.0.1:1', { session: { delivery: 'sometimes' as never } })).toThrow(/session.delivery/);
    expect(() => connect('ws://127.0.0.1:1', { session: { retain: { size: 0 } } })).toThrow(/session.retain.size/);
    expect(() => connect('ws://127.0.0.1:1', { session: { ackInteval: 5 } as never })).toThrow(/ackInterval/);
    expect(() => listen({ session: { resumeWindow: -1 } })).toThrow(/session.resumeWindow/);
  });
});

describe('sessions: delivery', () => {
  test('reliable sends resolve at the receipt; both directions exactly once and in order', async () => {
    const server = await serve();
    const peers = peersOf(server);
    const socket = client(server.url);
    const fromClient: number[] = [];
    server.connections$.subscribe((peer) => peer.messages$.subscribe((msg) => fromClient.push(msg.n)));
    const fromServer: number[] = [];
    socket.messages$.subscribe((msg) => fromServer.push(msg.n));
    const receipts = Array.from({ length: 100 }, (_, n) => socket.send({ n }));
    await Promise.all(receipts);
    expect(fromClient).toEqual(Array.from({ length: 100 }, (_, n) => n)); // acknowledged means delivered
    expect(socket.metrics.unacknowledged).toBe(0);
    const peer = peers[0] as Peer<Msg, Msg>;
    await Promise.all(Array.from({ length: 100 }, (_, n) => peer.send({ n })));
    expect(fromServer).toEqual(Array.from({ length: 100 }, (_, n) => n));
    expect(peer.unacknowledged).toBe(0);
  });

  test('reliable messages cross a reset link: replayed from the first unacknowledged, no gap, no duplicate; the peer is the same', async () => {
    const server = await serve();
    const proxy = await createFaultProxy({ target: server.url });
    onDispose(() => proxy.close());
    const peers = peersOf(server);
    const fromClient: number[] = [];
    server.connections$.subscribe((peer) => peer.messages$.subscribe((msg) => fromClient.push(msg.n)));
    const socket = client(proxy.url);
    const fromServer: number[] = [];
    socket.messages$.subscribe((msg) => fromServer.push(msg.n));
    await socket.opened();
    await waitFor(() => peers.length === 1, 'the peer');
    const peer = peers[0] as Peer<Msg, Msg>;
    const sessionId = peer.sessionId;
    const receipts: Array<Promise<void>> = [];
    for (let n = 0; n < 2000; n++) {
      receipts.push(socket.send({ n }), peer.send({ n }));
      if (n % 400 === 399) proxy.reset('rst');
    }
    await Promise.all(receipts);
    expect(fromClient).toEqual(Array.from({ length: 2000 }, (_, n) => n));
    await waitFor(() => fromServer.length === 2000, 'every message from the server');
    expect(fromServer).toEqual(Array.from({ length: 2000 }, (_, n) => n));
    expect(peers).toHaveLength(1); // connections$ did not emit the resumed session again
    expect(peer.sessionId).toBe(sessionId);
    expect(socket.state.session).toEqual({ id: sessionId, resumed: true });
    expect(socket.metrics.reconnects).toBeGreaterThanOrEqual(1);
  });

  test('volatile messages are not retained: sent = delivered + dropped with a reason', async () => {
    const server = await serve({ session: { delivery: 'volatile' } });
    const received: number[] = [];
    server.connections$.subscribe((peer) => peer.messages$.subscribe((msg) => received.push(msg.n)));
    const socket = client(server.url, { session: { delivery: 'volatile' }, buffer: { size: 10 } });
    const outcomes = await Promise.allSettled(Array.from({ length: 50 }, (_, n) => socket.send({ n })));
    const dropped = outcomes.filter((o) => o.status === 'rejected');
    for (const o of dropped) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(MessageDroppedError);
    await waitFor(() => received.length === 50 - dropped.length, 'every message not dropped');
    expect(socket.metrics.unacknowledged).toBe(0);
  });
});

describe('sessions: loss', () => {
  test('the server restarted: SessionLostError with the exact count, each unacknowledged message rejected with session-lost', async () => {
    let server = await serve();
    const port = server.port;
    const socket = client(server.url);
    await socket.opened();
    const first = socket.state.session?.id as string;
    const errors: Error[] = [];
    socket.errors$.subscribe((e) => errors.push(e));
    const drops: Array<[number, string]> = [];
    socket.dropped$.subscribe(({ payload, reason }) => drops.push([payload.n, reason]));
    await server.close({ timeout: 200 });
    // Sent while the server is down: retained, never acknowledged by the session they belong to.
    const pending = Array.from({ length: 7 }, (_, n) => socket.send({ n }));
    expect(socket.metrics.unacknowledged).toBe(7);
    server = await serve({ port });
    const outcomes = await Promise.allSettled(pending);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ name: 'MessageDroppedError', reason: 'session-lost' });
    }
    expect(drops).toEqual(Array.from({ length: 7 }, (_, n) => [n, 'session-lost']));
    const lost = errors.filter((e): e is SessionLostError => e instanceof SessionLostError);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ sessionId: first, unacknowledged: 7 });
    await waitFor(() => socket.state.status === 'open', 'open again');
    expect(socket.state.session).toEqual({ id: lost[0]?.newSessionId, resumed: false });
    // The new session works.
    await expect(socket.send({ n: 99 })).resolves.toBeUndefined();
  });
});

describe('sessions: the client drops its connection itself', () => {
  test('reconnect() keeps the session: the connection closes without a status code (1005), the session resumes, nothing is lost', async () => {
    const server = await serve();
    const peers = peersOf(server);
    const fromClient: number[] = [];
    server.connections$.subscribe((peer) => peer.messages$.subscribe((msg) => fromClient.push(msg.n)));
    const socket = client(server.url);
    const errors: Error[] = [];
    socket.errors$.subscribe((error) => errors.push(error));
    await socket.opened();
    const id = socket.state.session?.id;
    await socket.send({ n: 1 });
    const resumed = new Promise<void>((resolve) => socket.state$.subscribe((state) => state.status === 'open' && state.session?.resumed && resolve()));
    socket.reconnect();
    await resumed;
    await socket.send({ n: 2 });
    expect(fromClient).toEqual([1, 2]);
    expect(socket.state.session).toEqual({ id, resumed: true });
    expect(peers).toHaveLength(1); // the same peer: the session was not ended by the close
    expect(errors.filter((e) => e instanceof SessionLostError)).toEqual([]);
  });
});
