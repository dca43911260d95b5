import { connect, SessionLostError, type RxSocket } from '../../lib/index.js';
import { listen, type Peer, type PeerClose, type Server } from '../../lib/server/index.js';
import { createFaultProxy, createRawClient, type RawClient } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose.js';
import { settledNow } from '../helpers/settle.js';
import '../helpers/tripwires.js';
import { sleep, waitFor } from '../helpers/wait.js';

// A session's resumeWindow on the server. A client whose connection died and that never comes
// back: its peer keeps the session (the same Peer, not connected), its outgoing reliable messages
// wait; at resumeWindow the session expires: every reliable message the client never acknowledged
// is reported on dropped$ with 'session-lost' (and its send() rejects), then messages$ completes
// and `closed` resolves. A client that comes back within the window gets the same Peer, and the
// messages it had not acknowledged, exactly once.

type Msg = { n: number };

const PROTOCOL = 'rxwire.session.1';
const WINDOW = 300;
/** Node's timers may fire up to ~2 ms early against performance.now() (spec/reliability/kit.ts). */
const TIMER_SLACK = 2;
/** A loose upper bound for a timer on a loaded 2-core machine: never the claim, only a guard. */
const LATE = 500;

async function serve(): Promise<Server<Msg, Msg>> {
  const server = listen<Msg, Msg>({ logger: false, session: { resumeWindow: WINDOW }, heartbeat: false, closeTimeout: 200 });
  onDispose(() => server.close({ timeout: 500 }));
  await server.ready;
  return server;
}

async function raw(url: string): Promise<RawClient> {
  const client = await createRawClient(url, { protocols: [PROTOCOL] });
  onDispose(() => client.destroy());
  return client;
}

const texts = (client: RawClient): string[] => client.frames.filter((f) => f.opcode === 0x1).map((f) => f.payload.toString());

/** One event log for a peer's streams, in the order they happened. */
function watch(peer: Peer<Msg, Msg>): string[] {
  const log: string[] = [];
  peer.dropped$.subscribe({ next: ({ payload, reason }) => log.push(`dropped ${payload.n} ${reason}`), complete: () => log.push('dropped$ complete') });
  peer.messages$.subscribe({ next: (msg) => log.push(`message ${msg.n}`), complete: () => log.push('messages$ complete') });
  void peer.closed.then(() => log.push('closed'));
  return log;
}

/** Sends `ns` reliably from the peer; each receipt's outcome lands in `outcomes`. */
function sendAll(peer: Peer<Msg, Msg>, ns: number[], outcomes: Map<number, string>): Array<Promise<void>> {
  return ns.map((n) => {
    const receipt = peer.send({ n });
    receipt.then(
      () => outcomes.set(n, 'acknowledged'),
      (error: { reason?: string }) => outcomes.set(n, `rejected ${error.reason ?? String(error)}`),
    );
    return receipt;
  });
}

/** A raw session client: says hello, returns the welcome. */
async function hello(client: RawClient, id: string | null, ack: number): Promise<{ id: string; resumed: boolean; ack: number }> {
  const before = texts(client).length;
  client.sendFrame({ opcode: 0x1, payload: `H${JSON.stringify({ v: 1, id, ack })}` });
  await waitFor(() => texts(client).length > before, 'the welcome');
  const welcome = texts(client)[before] as string;
  expect(welcome[0]).toBe('W');
  return JSON.parse(welcome.slice(1)) as { id: string; resumed: boolean; ack: number };
}

describe(`sessions: resumeWindow (${WINDOW} ms)`, () => {
  test('a client that never comes back: the same Peer waits, not connected; at resumeWindow its unacknowledged messages are dropped with session-lost, then messages$ completes and closed resolves', async () => {
    const server = await serve();
    const peers: Array<Peer<Msg, Msg>> = [];
    server.connections$.subscribe((peer) => peers.push(peer));
    const client = await raw(server.url);
    const { id } = await hello(client, null, 0);
    await waitFor(() => peers.length === 1, 'the peer');
    const peer = peers[0] as Peer<Msg, Msg>;
    const log = watch(peer);
    const outcomes = new Map<number, string>();
    // Three messages reach the client; it acknowledges two of them and sends one of its own.
    const receipts = sendAll(peer, [1, 2, 3], outcomes);
    await waitFor(() => texts(client).length === 4, 'three reliable messages at the client');
    expect(texts(client).slice(1)).toEqual(['R1:{"n":1}', 'R2:{"n":2}', 'R3:{"n":3}']);
    client.sendFrame({ opcode: 0x1, payload: 'R1/2:{"n":100}' });
    await waitFor(() => outcomes.size === 2, 'receipts for 1 and 2');
    expect([...outcomes]).toEqual([[1, 'acknowledged'], [2, 'acknowledged']]);

    // The client dies without a close frame and never comes back.
    const goneAt = performance.now();
    client.destroy();
    await waitFor(() => !peer.connected, 'the peer disconnected');
    // Sent while it is away: they wait in the retention.
    receipts.push(...sendAll(peer, [4, 5], outcomes));
    expect(peer.unacknowledged).toBe(3);
    expect(peer.sessionId).toBe(id);
    expect(server.peers.has(peer)).toBe(true);
    expect(await settledNow(receipts[2] as Promise<void>)).toBe('pending');
    expect(log).toEqual(['message 100']);

    const close = await peer.closed;
    const expiredAfter = performance.now() - goneAt;
    expect(expiredAfter).toBeGreaterThanOrEqual(WINDOW - TIMER_SLACK);
    expect(expiredAfter).toBeLessThan(WINDOW + LATE);
    await Promise.allSettled(receipts);
    expect(log).toEqual(['message 100', 'dropped 3 session-lost', 'dropped 4 session-lost', 'dropped 5 session-lost', 'messages$ complete', 'dropped$ complete', 'closed']);
    expect([...outcomes].sort(([a], [b]) => a - b)).toEqual([
      [1, 'acknowledged'],
      [2, 'acknowledged'],
      [3, 'rejected session-lost'],
      [4, 'rejected session-lost'],
      [5, 'rejected session-lost'],
    ]);
    expect(close).toMatchObject<Partial<PeerClose>>({ code: 1006, wasClean: false, initiator: 'client' });
    expect(peer.unacknowledged).toBe(0);
    expect(server.peers.has(peer)).toBe(false);
    // A send after the end is refused, never silent.
    await expect(peer.send({ n: 6 })).rejects.toMatchObject({ name: 'MessageDroppedError', reason: 'closed' });

    // Coming back now is too late: the session is gone, a hello for it gets a new one and a new Peer.
    const late = await raw(server.url);
    const welcome = await hello(late, id, 3);
    expect(welcome).toEqual({ id: expect.not.stringMatching(id), resumed: false, ack: 0 });
    await waitFor(() => peers.length === 2, 'a new peer');
    expect(peers[1]).not.toBe(peer);
  });

  test('a client that comes back within the window gets the same Peer (connections$ does not emit again) and exactly the messages it had not acknowledged', async () => {
    const server = await serve();
    const peers: Array<Peer<Msg, Msg>> = [];
    server.connections$.subscribe((peer) => peers.push(peer));
    const first = await raw(server.url);
    const { id } = await hello(first, null, 0);
    await waitFor(() => peers.length === 1, 'the peer');
    const peer = peers[0] as Peer<Msg, Msg>;
    const log = watch(peer);
    const outcomes = new Map<number, string>();
    const receipts = sendAll(peer, [1, 2, 3], outcomes);
    await waitFor(() => texts(first).length === 4, 'three reliable messages at the client');
    first.sendFrame({ opcode: 0x1, payload: 'R1/1:{"n":100}' }); // acknowledges 1 of 3; its own message 1
    await waitFor(() => outcomes.size === 1, 'the receipt of 1');
    first.destroy();
    await waitFor(() => !peer.connected, 'the peer disconnected');
    receipts.push(...sendAll(peer, [4], outcomes));

    // Back within the window, having received 1–3 (it had acknowledged only 1).
    const second = await raw(server.url);
    expect(await hello(second, id, 3)).toEqual({ id, resumed: true, ack: 1 });
    await waitFor(() => peer.connected, 'the peer connected again');
    // The receipts of 2 and 3 resolve from the hello; only 4 is new to the client.
    await waitFor(() => texts(second).length === 2, 'the message sent while away');
    expect(texts(second).slice(1)).toEqual(['R4:{"n":4}']);
    second.sendFrame({ opcode: 0x1, payload: 'R2/4:{"n":101}' });
    await Promise.all(receipts);
    expect([...outcomes].sort(([a], [b]) => a - b)).toEqual([1, 2, 3, 4].map((n) => [n, 'acknowledged']));
    expect(peer.unacknowledged).toBe(0);

    // The window passes (a sleep, to prove that nothing happens): the resumed session does not expire.
    await sleep(WINDOW + 100);
    expect(peers).toEqual([peer]);
    expect(await settledNow(peer.closed)).toBe('pending');
    expect(log).toEqual(['message 100', 'message 101']);
    expect(peer.sessionId).toBe(id);
  });

  test('an rxwire client kept away past the window (its reconnects refused): both ends report — SessionLostError with its unacknowledged count, and the server peer drops its own', async () => {
    const server = await serve();
    const peers: Array<Peer<Msg, Msg>> = [];
    server.connections$.subscribe((peer) => peers.push(peer));
    const proxy = await createFaultProxy({ target: server.url });
    onDispose(() => proxy.close());
    const socket: RxSocket<Msg, Msg> = connect<Msg, Msg>(proxy.url, { logger: false, session: true, heartbeat: false, reconnect: { initialDelay: 20, maxDelay: 20, jitter: false } });
    onDispose(() => socket.close());
    const clientErrors: Error[] = [];
    socket.errors$.subscribe((error) => clientErrors.push(error));
    const clientDrops: string[] = [];
    socket.dropped$.subscribe(({ payload, reason }) => clientDrops.push(`${payload.n} ${reason}`));
    await socket.opened();
    await waitFor(() => peers.length === 1, 'the peer');
    const peer = peers[0] as Peer<Msg, Msg>;
    const log = watch(peer);
    const oldId = peer.sessionId as string;

    proxy.accept('refuse');
    proxy.reset('rst');
    await waitFor(() => !peer.connected && socket.state.status === 'reconnecting', 'both ends apart');
    const apartAt = performance.now();
    const serverOutcomes = new Map<number, string>();
    const serverReceipts = sendAll(peer, [1, 2], serverOutcomes);
    const clientReceipts = [10, 11, 12].map((n) => socket.send({ n }));
    expect(socket.metrics.unacknowledged).toBe(3);

    await peer.closed;
    expect(performance.now() - apartAt).toBeGreaterThanOrEqual(WINDOW - TIMER_SLACK - 5); // apartAt was seen by a 5 ms poll
    await Promise.allSettled(serverReceipts);
    expect(log).toEqual(['dropped 1 session-lost', 'dropped 2 session-lost', 'messages$ complete', 'dropped$ complete', 'closed']);
    expect([...serverOutcomes]).toEqual([[1, 'rejected session-lost'], [2, 'rejected session-lost']]);

    // Let the client back in: its session is gone.
    proxy.accept('pass');
    const outcomes = await Promise.allSettled(clientReceipts);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { reason: string }).reason : o.status))).toEqual(['session-lost', 'session-lost', 'session-lost']);
    expect(clientDrops).toEqual(['10 session-lost', '11 session-lost', '12 session-lost']);
    const lost = clientErrors.filter((e): e is SessionLostError => e instanceof SessionLostError);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ sessionId: oldId, unacknowledged: 3 });
    await waitFor(() => peers.length === 2, 'the new session\'s peer');
    expect(peers[1]?.sessionId).toBe(lost[0]?.newSessionId);
    await waitFor(() => socket.state.status === 'open', 'open');
    expect(socket.state.session).toEqual({ id: lost[0]?.newSessionId, resumed: false });
    await expect(socket.send({ n: 13 })).resolves.toBeUndefined();
  });
});
