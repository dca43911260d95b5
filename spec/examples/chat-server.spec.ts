import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join as joinPath } from 'node:path';
import { WebSocket } from 'ws';
import { connect, type ConnectionState } from '../../lib/index.js';
import { startChatServer, type ChatServer, type ChatServerOptions, type ClientMessage, type ServerMessage } from '../../examples/chat-server.js';
import { onDispose } from '../helpers/dispose.js';
import '../helpers/tripwires.js';
import { poke, waitFor } from '../helpers/wait.js';

// examples/chat-server.ts with real clients on 127.0.0.1: plain `ws` clients and an rxwire client.
// Absence ("a client in another room got nothing") is proven with a FIFO sentinel, never a sleep:
// each peer has one writer, so what the server queued for a client before the sentinel reaches it
// before the sentinel.

const root = joinPath(__dirname, '..', '..');

type Joined = Extract<ServerMessage, { type: 'joined' }>;

/** A chat client, whichever library it uses: what it received, in order, and a way to send. */
interface Client {
  readonly received: ServerMessage[];
  send(message: ClientMessage | Record<string, unknown>): void;
}

async function chat(options: ChatServerOptions = {}): Promise<ChatServer> {
  const started = await startChatServer({ port: 0, logger: false, log: () => undefined, ...options });
  onDispose(() => started.close());
  return started;
}

/** A plain `ws` client: what a browser or any other library does. */
async function wsClient(url: string): Promise<Client & { closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url);
  const received: ServerMessage[] = [];
  ws.on('message', (data) => void (received.push(JSON.parse(String(data)) as ServerMessage), poke()));
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  onDispose(() => ws.terminate());
  await once(ws, 'open');
  return { received, closed, send: (message) => ws.send(JSON.stringify(message)) };
}

/** An rxwire client, its states recorded. */
function rxClient(url: string): Client & { states: ConnectionState[] } {
  const socket = connect<ServerMessage, ClientMessage | Record<string, unknown>>(url, { logger: false, reconnect: { initialDelay: 10, jitter: false } });
  onDispose(() => socket.close());
  const received: ServerMessage[] = [];
  const states: ConnectionState[] = [];
  socket.messages$.subscribe({ next: (message) => void (received.push(message), poke()), error: () => undefined });
  socket.state$.subscribe((state) => void (states.push(state), poke()));
  return { received, states, send: (message) => void socket.send(message) };
}

/**
 * Joins `room` and resolves with the client's peer id, from its acknowledgement: the first
 * `joined` of that room it receives is its own (others' joins reach it only once it is a member).
 */
async function join(client: Client, room: string): Promise<string> {
  client.send({ type: 'join', room });
  const ack = await waitFor(() => client.received.find((m): m is Joined => m.type === 'joined' && m.room === room), `the ack of joining ${room}`);
  return ack.peer;
}

/** Waits until `client` has received `count` messages. */
const receivedCount = (client: Client, count: number, what: string): Promise<boolean> => waitFor(() => client.received.length >= count, what);

describe('examples/chat-server.ts in-process', () => {
  test('join: the joiner gets its acknowledgement, members get later joins; the peer is in the topic', async () => {
    const server = await chat();
    const alice = await wsClient(server.url);
    const a = await join(alice, 'lobby');
    expect(alice.received).toEqual([{ type: 'joined', room: 'lobby', peer: a }]);
    const bob = rxClient(server.url);
    const b = await join(bob, 'lobby');
    expect(b).not.toBe(a);
    expect(bob.received).toEqual([{ type: 'joined', room: 'lobby', peer: b }]);
    await receivedCount(alice, 2, "bob's join at alice");
    expect(alice.received).toEqual([
      { type: 'joined', room: 'lobby', peer: a },
      { type: 'joined', room: 'lobby', peer: b },
    ]);
    const topics = Object.fromEntries([...server.server.peers].map((peer) => [peer.id, [...peer.topics]]));
    expect(topics).toEqual({ [a]: ['lobby'], [b]: ['lobby'] });
  });

  test('say reaches everyone in the room, the sender included, and nobody in another room', async () => {
    const server = await chat();
    const carol = await wsClient(server.url);
    const c = await join(carol, 'kitchen');
    const alice = await wsClient(server.url);
    const a = await join(alice, 'lobby');
    const bob = rxClient(server.url);
    const b = await join(bob, 'lobby');
    await receivedCount(alice, 2, "bob's join at alice");

    alice.send({ type: 'say', room: 'lobby', text: 'hello' });
    await receivedCount(alice, 3, 'hello back at alice');
    await receivedCount(bob, 2, 'hello at bob');
    // Sentinels, sent after the lobby's message was published: had it been queued for carol, it
    // would reach her before her own kitchen message; alice's second line does the same for her.
    carol.send({ type: 'say', room: 'kitchen', text: 'sentinel' });
    await receivedCount(carol, 2, "carol's sentinel");
    alice.send({ type: 'say', room: 'lobby', text: 'still here' });
    await receivedCount(alice, 4, "alice's sentinel");
    await receivedCount(bob, 3, "alice's sentinel at bob");

    const said = (room: string, from: string, text: string): ServerMessage => ({ type: 'said', room, from, text });
    expect(carol.received).toEqual([{ type: 'joined', room: 'kitchen', peer: c }, said('kitchen', c, 'sentinel')]);
    expect(alice.received).toEqual([
      { type: 'joined', room: 'lobby', peer: a },
      { type: 'joined', room: 'lobby', peer: b },
      said('lobby', a, 'hello'),
      said('lobby', a, 'still here'),
    ]);
    expect(bob.received).toEqual([{ type: 'joined', room: 'lobby', peer: b }, said('lobby', a, 'hello'), said('lobby', a, 'still here')]);
  });

  test('leave: the room is told, the leaver gets nothing more from it; errors go to their sender only', async () => {
    const server = await chat();
    const alice = await wsClient(server.url);
    const a = await join(alice, 'lobby');
    const bob = await wsClient(server.url);
    const b = await join(bob, 'lobby');
    await receivedCount(alice, 2, "bob's join at alice");

    bob.send({ type: 'leave', room: 'lobby' });
    await receivedCount(bob, 2, "bob's leave acknowledged");
    await receivedCount(alice, 3, "bob's leave at alice");
    alice.send({ type: 'say', room: 'lobby', text: 'bob?' });
    await receivedCount(alice, 4, "alice's line back");
    // Bob's next messages are answered after alice's line was published: it would be ahead of them.
    bob.send({ type: 'say', room: 'lobby', text: 'let me back' });
    bob.send({ type: 'dance', room: 'lobby' });
    await receivedCount(bob, 4, 'the two errors at bob');
    alice.send({ type: 'say', room: 'lobby', text: 'sentinel' });
    await receivedCount(alice, 5, "alice's sentinel");

    expect(bob.received).toEqual([
      { type: 'joined', room: 'lobby', peer: b },
      { type: 'left', room: 'lobby', peer: b },
      { type: 'error', message: 'join lobby first' },
      { type: 'error', message: "expected `type` to be 'join', 'leave' or 'say'" },
    ]);
    expect(alice.received).toEqual([
      { type: 'joined', room: 'lobby', peer: a },
      { type: 'joined', room: 'lobby', peer: b },
      { type: 'left', room: 'lobby', peer: b },
      { type: 'said', room: 'lobby', from: a, text: 'bob?' },
      { type: 'said', room: 'lobby', from: a, text: 'sentinel' },
    ]);
  });

  test('close(): a notice, flushed before every client is closed with 1001; the report counts them; idempotent', async () => {
    const server = await chat();
    const alice = await wsClient(server.url);
    await join(alice, 'lobby');
    const bob = rxClient(server.url);
    await join(bob, 'kitchen');

    const closing = server.close();
    expect(server.close()).toBe(closing);
    expect(await closing).toEqual({ peers: 2, closedCleanly: 2, terminated: 0, dropped: 0 });
    expect(await alice.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(alice.received.at(-1)).toEqual({ type: 'notice', text: 'server shutting down' });
    // The rxwire client saw the 1001 and, as its table says for 1001, is retrying.
    await waitFor(() => bob.states.some((s) => s.status === 'reconnecting' && s.lastClose?.code === 1001), 'bob reconnecting after 1001');
    expect(bob.received.at(-1)).toEqual({ type: 'notice', text: 'server shutting down' });
    expect(server.server.peers.size).toBe(0);
    const late = new WebSocket(server.url);
    const [error] = (await once(late, 'error')) as [Error & { code?: string }];
    expect(error.code).toBe('ECONNREFUSED');
  });
});

describe('`npx tsx examples/chat-server.ts`', () => {
  test.each(['SIGINT', 'SIGTERM'] as const)('prints its URL, serves, and on %s closes its clients with 1001 and exits 0 by itself', async (signal) => {
    // `node --import tsx` rather than the tsx CLI: one process, so the signal reaches the example.
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/chat-server.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => void ((stdout += chunk), poke()));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void ((stderr += chunk), poke()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, sig) => resolve({ code, signal: sig })));
    onDispose(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); // only if the test failed half-way
      return exited;
    });

    const [, url] = (await waitFor(() => /chat: listening on (ws:\/\/\S+)/.exec(stdout), 'the URL in the output', 10_000)) as RegExpExecArray;
    const client = await wsClient(url as string);
    await join(client, 'lobby');
    child.kill(signal);
    expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      exited,
      new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`no exit within 8 s:\n${stdout}${stderr}`)), 8000))),
    ]).finally(() => clearTimeout(timer));
    expect({ ...exit, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(stdout).toContain(`chat: ${signal}, closing`);
    expect(stdout).toContain('chat: closed (1 peer: 1 closed cleanly, 0 terminated; 0 queued messages dropped)');
  }, 20_000);
});
