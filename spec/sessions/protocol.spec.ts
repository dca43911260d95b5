import { connect } from '../../lib/index.js';
import { listen, type Peer, type Server } from '../../lib/server/index.js';
import { createRawClient, type RawClient } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// Protocol violations on a session connection (docs/protocol.md, lib/core/session-frames.ts),
// written by hand through a raw client that offers rxwire.session.1: a first frame that is not a
// hello, a reliable frame that skips a sequence number, an acknowledgement of what was never
// sent. Each closes that connection with 1002 (a close frame with that code reaches the client);
// nothing crashes (the tripwires count uncaught exceptions and unhandled rejections), and the
// server goes on serving a well-behaved session client.

type Msg = { n: number };

const PROTOCOL = 'rxwire.session.1';
const CLOSE = 0x8;

async function serve(): Promise<Server<Msg, Msg>> {
  const server = listen<Msg, Msg>({ logger: false, session: true, heartbeat: false, closeTimeout: 200 });
  onDispose(() => server.close({ timeout: 500 }));
  await server.ready;
  return server;
}

/** A raw client that offers the session subprotocol and, like a well-behaved one, answers a close frame. */
async function raw(server: Server<Msg, Msg>): Promise<RawClient> {
  const client = await createRawClient(server.url, { protocols: [PROTOCOL] });
  onDispose(() => client.destroy());
  expect(client.response.headers['sec-websocket-protocol']).toBe(PROTOCOL);
  client.frames$.subscribe((f) => f.opcode === CLOSE && client.sendClose(1002));
  return client;
}

const text = (client: RawClient, payload: string): void => client.sendFrame({ opcode: 0x1, payload });

/** The close frame the server sent before the socket closed: its code, or undefined if none came. */
async function closeCode(client: RawClient): Promise<number | undefined> {
  await client.closed;
  const close = client.frames.find((f) => f.opcode === CLOSE);
  return close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : undefined;
}

/** The server's text frames to this client so far (the welcome first). */
const texts = (client: RawClient): string[] => client.frames.filter((f) => f.opcode === 0x1).map((f) => f.payload.toString());

/** Says hello for a new session and returns the welcome, parsed. */
async function hello(client: RawClient, ack = 0, id: string | null = null): Promise<{ id: string; resumed: boolean; ack: number }> {
  text(client, `H${JSON.stringify({ v: 1, id, ack })}`);
  await waitFor(() => texts(client).length >= 1, 'the welcome');
  const welcome = texts(client)[0] as string;
  expect(welcome[0]).toBe('W');
  return JSON.parse(welcome.slice(1)) as { id: string; resumed: boolean; ack: number };
}

/** A well-behaved session client gets its message echoed: the server survived. */
async function stillServes(server: Server<Msg, Msg>): Promise<void> {
  const good = connect<Msg, Msg>(server.url, { logger: false, session: true });
  onDispose(() => good.close());
  const echoed = good.request({ n: 42 }, { match: (msg) => msg.n === 43, timeout: 2000 });
  await expect(echoed).resolves.toEqual({ n: 43 });
}

/** Every peer the server accepts, in order; each answers n with n + 1 and records what it got in `received`. */
function echoing(server: Server<Msg, Msg>, received: number[] = []): Array<Peer<Msg, Msg>> {
  const peers: Array<Peer<Msg, Msg>> = [];
  server.connections$.subscribe((peer) => {
    peers.push(peer);
    peer.messages$.subscribe((msg) => {
      received.push(msg.n);
      void peer.send({ n: msg.n + 1 }).catch(() => undefined);
    });
  });
  return peers;
}

describe('sessions: protocol violations close the connection with 1002', () => {
  test.each([
    ['a volatile message', 'V{"n":1}'],
    ['a reliable message', 'R1:{"n":1}'],
    ['an acknowledgement', 'A0'],
    ['a welcome', 'W{"id":"x","resumed":false,"ack":0}'],
    ['an unknown kind', 'X'],
    ['a hello of version 2', 'H{"v":2,"id":null,"ack":0}'],
    ['a hello that is not JSON', 'H{v:1}'],
    ['a hello with a negative ack', 'H{"v":1,"id":null,"ack":-1}'],
  ])('the first frame is %s: 1002, no peer', async (_what, frame) => {
    const server = await serve();
    const peers = echoing(server);
    const client = await raw(server);
    text(client, frame);
    expect(await closeCode(client)).toBe(1002);
    expect(texts(client)).toEqual([]); // no welcome
    expect(peers).toEqual([]);
    await stillServes(server);
    expect(peers).toHaveLength(1);
  });

  test('a reliable frame with a gap in its sequence: 1002; what came before it was delivered once', async () => {
    const server = await serve();
    const received: number[] = [];
    const peers = echoing(server, received);
    const client = await raw(server);
    const welcome = await hello(client);
    expect(welcome).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), resumed: false, ack: 0 });
    text(client, 'R1:{"n":1}');
    text(client, 'R2:{"n":2}');
    const peer = peers[0] as Peer<Msg, Msg>;
    const errors: Error[] = [];
    peer.errors$.subscribe((error) => errors.push(error));
    text(client, 'R4:{"n":4}'); // 3 is missing
    expect(await closeCode(client)).toBe(1002);
    expect(received).toEqual([1, 2]);
    // Reported on the peer; the session waits for a resume, as after any other lost connection.
    await waitFor(() => !peer.connected, 'the peer disconnected');
    expect(errors.map((e) => e.name)).toEqual(['SessionProtocolError']);
    expect(server.peers.has(peer)).toBe(true); // not ended: still the server's
    expect(peers).toHaveLength(1);
    await stillServes(server);
  });

  test('not a violation: a reliable frame the server already has (a replay) is acknowledged and discarded, not delivered twice', async () => {
    const server = await serve();
    const received: number[] = [];
    echoing(server, received);
    const client = await raw(server);
    await hello(client);
    text(client, 'R1:{"n":1}');
    text(client, 'R1:{"n":1}');
    text(client, 'R2:{"n":2}');
    text(client, 'R1:{"n":1}');
    await waitFor(() => texts(client).length >= 3, 'two echoes');
    expect(received).toEqual([1, 2]);
    await waitFor(() => texts(client).some((t) => t === 'A2' || /^R\d+\/2:/.test(t)), 'the acknowledgement of 2', 2000);
  });

  test('an acknowledgement beyond what the server sent (an A frame, and one piggybacked on a reliable frame): 1002', async () => {
    const server = await serve();
    const peers = echoing(server);
    // The server sent nothing reliable yet: A1 acknowledges a message that does not exist.
    const first = await raw(server);
    await hello(first);
    text(first, 'A1');
    expect(await closeCode(first)).toBe(1002);
    // The server sent one reliable message (the echo of n: 1); R2/2 acknowledges two.
    const second = await raw(server);
    await hello(second);
    text(second, 'R1:{"n":1}');
    await waitFor(() => texts(second).length === 2, 'the echo');
    expect(texts(second)[1]).toMatch(/^R1(\/1)?:\{"n":2\}$/);
    text(second, 'R2/2:{"n":3}');
    expect(await closeCode(second)).toBe(1002);
    expect(peers).toHaveLength(2);
    await stillServes(server);
  });

  test('a hello that resumes a session with an ack beyond what the server sent in it: 1002, the server does not crash', async () => {
    const server = await serve();
    const peers = echoing(server);
    const first = await raw(server);
    const { id } = await hello(first);
    text(first, 'R1:{"n":1}');
    await waitFor(() => texts(first).length === 2, 'the echo');
    first.destroy();
    await first.closed;
    const peer = peers[0] as Peer<Msg, Msg>;
    await waitFor(() => !peer.connected, 'the session waiting for its client');
    // The server sent one reliable message in this session; the client claims two.
    const again = await raw(server);
    text(again, `H${JSON.stringify({ v: 1, id, ack: 2 })}`);
    expect(await closeCode(again)).toBe(1002);
    // The session was not touched: a correct hello resumes it, with nothing to replay.
    const honest = await raw(server);
    expect(await hello(honest, 1, id)).toEqual({ id, resumed: true, ack: 1 });
    await waitFor(() => peer.connected, 'the session resumed');
    text(honest, 'R2/1:{"n":5}');
    await waitFor(() => texts(honest).length === 2, 'the echo');
    expect(texts(honest)[1]).toMatch(/^R2(\/2)?:\{"n":6\}$/);
    expect(peers).toEqual([peer]);
    await stillServes(server);
  });

  test('a hello for a new session (no id, or one the server does not know) carries an ack that means nothing: ignored, a new session', async () => {
    const server = await serve();
    const peers = echoing(server);
    for (const id of [null, 'no-such-session']) {
      const client = await raw(server);
      const welcome = await hello(client, 5, id);
      expect(welcome).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), resumed: false, ack: 0 });
      text(client, 'R1:{"n":1}');
      await waitFor(() => texts(client).length === 2, 'the echo');
      expect(texts(client)[1]).toMatch(/^R1(\/1)?:\{"n":2\}$/);
    }
    expect(peers).toHaveLength(2);
  });
});
