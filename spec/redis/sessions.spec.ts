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

test('a node SIGKILLed mid-stream: the client resumes its session on another node, nothing lost or duplicated either way', async () => {
  const redis = await startRedis();
  onDispose(() => redis.stop());
  const a = await startNode('a', redis.url);
  const b = await startNode('b', redis.url);
  let target = a.url;
  const socket = connect<{ n: number; node: string }, { n: number }>(() => target, { logger: false, session: true, reconnect: { initialDelay: 10, maxDelay: 100 } });
  onDispose(() => socket.close());
  const answers: Array<{ n: number; node: string }> = [];
  socket.messages$.subscribe((message) => answers.push(message));
  const errors: Error[] = [];
  socket.errors$.subscribe((error) => errors.push(error));
  const TOTAL = 3000;
  const receipts: Array<Promise<void>> = [];
  let killedAt = 0;
  let firstAfterKill = 0;
  for (let n = 0; n < TOTAL; n++) {
    receipts.push(socket.send({ n }));
    if (n % 100 === 99) await receipts[n - 50]; // a window: a few hundred in flight
    if (n === 1500) {
      a.proc.kill('SIGKILL'); // mid-stream: messages in flight both ways
      killedAt = Date.now();
      target = b.url;
      const seen = answers.length;
      void waitFor(() => answers.length > seen, 'an answer after the kill', 20_000).then(() => (firstAfterKill = Date.now()), () => undefined);
    }
  }
  await Promise.all(receipts); // every receipt resolves: nothing was rejected
  await waitFor(() => answers.length >= TOTAL, `every answer (${answers.length} of ${TOTAL})`, 20_000);
  expect(answers.map(({ n }) => n)).toEqual(Array.from({ length: TOTAL }, (_, n) => n)); // once each, in order
  expect(new Set(answers.map(({ node }) => node))).toEqual(new Set(['a', 'b']));
  expect(errors.filter((e) => e instanceof SessionLostError)).toEqual([]);
  expect(socket.state.session?.resumed).toBe(true);
  expect(b.inbox.filter((m) => m.type === 'session')).toHaveLength(1); // b took the session over
  expect((await a.exited).signal).toBe('SIGKILL');
  console.log(`resumed on another node: first answer ${firstAfterKill - killedAt} ms after the kill`);
  await socket.close();
  b.proc.send({ cmd: 'close' });
  const closed = await waitFor(() => b.inbox.find((m) => m.type === 'closed'), 'b closed');
  expect(closed.errors).toBe(0);
  expect(await b.exited).toEqual({ code: 0, signal: null }); // it exits by itself
}, 60_000);
