import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { connect, SessionLostError } from '../../lib/index.js';
import { ensureBuilt, root } from '../helpers/build.js';
import { onDispose } from '../helpers/dispose.js';
import { startRedis } from '../helpers/redis.js';
import '../helpers/tripwires.js';
import { poke, waitFor } from '../helpers/wait.js';

// Sessions that outlive their node: two server processes keep their sessions in one real
// redis-server (`session: { store: 'broker' }`). A client's node is SIGKILLed mid-stream; the client
// reconnects to the other node, which takes the session over from Redis: every reliable message
// in both directions arrives once, in order, and every receipt resolves.

const DIST = join(root, 'dist', 'cjs');
const FIXTURE = join(__dirname, 'fixtures', 'session-node.js');

beforeAll(() => ensureBuilt(join(DIST, 'redis', 'index.js')), 130_000);

interface Node {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly inbox: Array<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

async function startNode(name: string, redisUrl: string): Promise<Node> {
  const proc = fork(FIXTURE, [], { env: { ...process.env, RXWIRE_DIST: DIST, REDIS_URL: redisUrl, NODE_NAME: name }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const inbox: Array<Record<string, unknown>> = [];
  proc.on('message', (message: Record<string, unknown>) => void (inbox.push(message), poke()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  onDispose(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    return exited;
  });
  const listening = await waitFor(() => {
    const fault = inbox.find((m) => m.type === 'fault');
    if (fault) throw new Error(`${name}: ${String(fault.message)}\n${stderr}`);
    return inbox.find((m) => m.type === 'listening');
  }, `${name} listening`);
  return { proc, url: listening.url as string, inbox, exited };
}

test('300 session clients on three nodes, a node SIGKILLed mid-stream: its clients resume their sessions on the other two, nothing lost or duplicated either way', async () => {
  const redis = await startRedis();
  onDispose(() => redis.stop());
  const nodes = await Promise.all(['a', 'b', 'c'].map((name) => startNode(name, redis.url)));
  const [a, b, c] = nodes as [Node, Node, Node];
  let killed = false;
  const CLIENTS = 300;
  const TOTAL = 100;
  // Client i starts on node i % 3; after the kill, a client of a's goes to b or c.
  const clients = Array.from({ length: CLIENTS }, (_, i) => {
    let turn = i;
    const pick = (): string => {
      const node = nodes[turn++ % 3] as Node;
      return killed && node === a ? pick() : node.url;
    };
    const socket = connect<{ n: number; node: string }, { n: number }>(pick, { logger: false, session: true, reconnect: { initialDelay: 10, maxDelay: 100 } });
    onDispose(() => socket.close());
    const answers: Array<{ n: number; node: string }> = [];
    socket.messages$.subscribe((message) => answers.push(message));
    const lost: Error[] = [];
    socket.errors$.subscribe((error) => error instanceof SessionLostError && lost.push(error));
    return { socket, answers, lost, onA: i % 3 === 0 };
  });
  await Promise.all(clients.map(({ socket }) => socket.opened()));
  let killedAt = 0;
  let firstAfterKill = 0;
  const produce = async ({ socket }: (typeof clients)[number]): Promise<void> => {
    const receipts: Array<Promise<void>> = [];
    for (let n = 0; n < TOTAL; n++) {
      receipts.push(socket.send({ n }));
      if (n % 20 === 19) await receipts[n - 10]; // a window: messages in flight both ways
    }
    await Promise.all(receipts); // every receipt resolves: nothing was rejected
  };
  const producing = Promise.all(clients.map(produce));
  const watched = clients.find((client) => client.onA) as (typeof clients)[number];
  await waitFor(() => watched.answers.length >= TOTAL / 2, 'half of the stream');
  a.proc.kill('SIGKILL'); // mid-stream
  killed = true;
  killedAt = Date.now();
  const seen = watched.answers.length;
  void waitFor(() => watched.answers.length > seen, 'an answer after the kill', 20_000).then(() => (firstAfterKill = Date.now()), () => undefined);
  await producing;
  // Every answer, too: a message handled on a and the answer its handler sent were stored together
  // or not at all, so b either replays the answer or handles the message again — never both.
  await waitFor(() => clients.every(({ answers }) => answers.length >= TOTAL), 'every answer', 20_000);
  for (const { answers, lost, socket, onA } of clients) {
    expect(answers.map(({ n }) => n)).toEqual(Array.from({ length: TOTAL }, (_, n) => n)); // once each, in order
    expect(lost).toEqual([]);
    if (onA) {
      expect(new Set(answers.map(({ node }) => node)).has('a')).toBe(true);
      expect(socket.state.session?.resumed).toBe(true); // on another node, after the kill
    }
  }
  // a's clients were mid-stream: the rest of their streams came from b and c.
  const fromOthers = clients.filter(({ onA }) => onA).map(({ answers }) => answers.filter(({ node }) => node !== 'a').length);
  expect(fromOthers.reduce((sum, n) => sum + n, 0)).toBeGreaterThan(0);
  const takenOver = [b, c].reduce((sum, node) => sum + node.inbox.filter((m) => m.type === 'session').length, 0);
  expect(takenOver).toBe(CLIENTS); // 200 sessions began there, 100 were taken over from a
  expect((await a.exited).signal).toBe('SIGKILL');
  console.log(`resumed on another node: first answer ${firstAfterKill - killedAt} ms after the kill`);
  await Promise.all(clients.map(({ socket }) => socket.close()));
  for (const node of [b, c]) {
    node.proc.send({ cmd: 'close' });
    const closed = await waitFor(() => node.inbox.find((m) => m.type === 'closed'), 'the node closed');
    expect(closed.errors).toBe(0);
    expect(await node.exited).toEqual({ code: 0, signal: null }); // it exits by itself
  }
}, 90_000);
