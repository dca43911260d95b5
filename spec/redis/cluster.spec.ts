import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { connect, type RxSocket } from '../../lib/index.js';
import { ensureBuilt, root } from '../helpers/build.js';
import { onDispose } from '../helpers/dispose.js';
import { startRedis, subscribed, type RedisProcess } from '../helpers/redis.js';
import '../helpers/tripwires.js';
import { poke, waitFor } from '../helpers/wait.js';

// Three server processes with the Redis broker (spec/redis/fixtures/cluster-node.js, the built
// package), 300 rxwire clients spread over them by a URL function that rotates the nodes. Every
// peer joins 'all'. Each client checks its own stream as it comes: in order, no duplicate.

const DIST = join(root, 'dist', 'cjs');
const FIXTURE = join(__dirname, 'fixtures', 'cluster-node.js');
const CLIENTS = 300;

interface NodeMessage {
  type: string;
  [key: string]: unknown;
}

/** A node process: its IPC messages, awaitable by type. */
interface ClusterNode {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly inbox: NodeMessage[];
  readonly exited: Promise<{ code: number | null; signal: string | null; at: number }>;
  next(type: string, predicate?: (message: NodeMessage) => boolean, within?: number): Promise<NodeMessage>;
  send(message: object): void;
}

async function startNode(redis: RedisProcess): Promise<ClusterNode> {
  const proc = fork(FIXTURE, [], { env: { ...process.env, RXWIRE_DIST: DIST, REDIS_URL: redis.url }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const inbox: NodeMessage[] = [];
  proc.on('message', (message: NodeMessage) => void (inbox.push(message), poke()));
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  onDispose(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    return exited;
  });
  const next = (type: string, predicate: (message: NodeMessage) => boolean = () => true, within = 10_000): Promise<NodeMessage> =>
    waitFor(
      () => {
        const fault = inbox.find((m) => m.type === 'fault');
        if (fault) throw new Error(`node: ${String(fault.message)}\n${stderr}`);
        const index = inbox.findIndex((m) => m.type === type && predicate(m));
        return index >= 0 ? (inbox.splice(index, 1)[0] as NodeMessage) : undefined;
      },
      `a '${type}' from a node`,
      within,
    );
  const send = (message: object): void => void (proc.connected && proc.send(message));
  const { url } = (await next('listening')) as unknown as { url: string };
  return { proc, url, inbox, exited, next, send };
}

/** An rxwire client whose URL function rotates over `urls` from `start`; it checks order and duplicates as messages come. */
function client(urls: readonly string[], start: number): { socket: RxSocket<{ seq: number }, never>; seqs: number[]; faults: string[] } {
  let turn = start;
  const socket = connect<{ seq: number }, never>(() => urls[turn++ % urls.length] as string, {
    logger: false,
    reconnect: { initialDelay: 10, maxDelay: 200 },
    heartbeat: false,
  });
  onDispose(() => socket.close());
  const seqs: number[] = [];
  const faults: string[] = [];
  socket.messages$.subscribe({
    next: ({ seq }) => {
      const last = seqs.at(-1);
      if (last !== undefined && seq <= last) faults.push(`${seq} after ${last}`);
      seqs.push(seq); // no poke per message: waits over 300 clients poll instead
    },
    error: (error: unknown) => faults.push(String(error)),
  });
  return { socket, seqs, faults };
}

async function cluster(): Promise<{ redis: RedisProcess; nodes: ClusterNode[]; clients: ReturnType<typeof client>[] }> {
  ensureBuilt(join(DIST, 'redis', 'index.js'));
  const redis = await startRedis();
  const nodes = await Promise.all([startNode(redis), startNode(redis), startNode(redis)]);
  await Promise.all(nodes.map((n) => n.next('health', (m) => m.status === 'up')));
  const urls = nodes.map((n) => n.url);
  const clients = Array.from({ length: CLIENTS }, (_, i) => client(urls, i));
  await Promise.all(clients.map(({ socket }) => socket.opened({ timeout: 10_000 })));
  await subscribed(redis.url, ['rxwire:t:all'], 3); // each node: one subscription for its 100 peers
  return { redis, nodes, clients };
}

/** Closes every node that still runs and checks that each exits by itself, at once, with code 0. */
async function closeAll(nodes: ClusterNode[]): Promise<void> {
  const running = nodes.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
  for (const n of running) n.send({ cmd: 'close' });
  for (const n of running) {
    const closed = await n.next('closed');
    const exit = await Promise.race([n.exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 3000))]);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(closed).toMatchObject({ dropped: 0 });
    expect(n.inbox.filter((m) => m.type === 'fault')).toEqual([]);
  }
}

test('10,000 messages published on one node reach all 300 clients on three nodes, in order, once each', async () => {
  const deadline = Date.now() + 50_000; // one budget for the stream: on a loaded 2-core machine, publishing alone can take half of it
  const { nodes, clients } = await cluster();
  const [publisher] = nodes as [ClusterNode];
  publisher.send({ cmd: 'publish', from: 0, n: 10_000, batch: 200 });
  expect(await publisher.next('published', undefined, deadline - Date.now())).toMatchObject({ sent: 10_000, relayErrors: 0 });
  await waitFor(() => clients.every(({ seqs }) => seqs.length >= 10_000), 'every client has 10,000 messages', Math.max(1000, deadline - Date.now())).catch(async (error: Error) => {
    const counts = clients.map(({ seqs }) => seqs.length);
    const byNode = [0, 1, 2].map((k) => counts.filter((_, i) => i % 3 === k)).map((c) => `${Math.min(...c)}–${Math.max(...c)}`);
    const states = clients.map(({ socket }) => socket.state.status).filter((x) => x !== 'open');
    for (const n of nodes) n.send({ cmd: 'stats' });
    await Promise.all(nodes.map((n) => n.next('stats', undefined, 2000).catch(() => undefined)));
    throw new Error(`${error.message}: counts by node ${byNode.join(' | ')}; clients not open: ${states.join() || 'none'}; nodes said ${JSON.stringify(nodes.map((n) => n.inbox))}`);
  });
  const wrong = clients.filter(({ seqs, faults }) => faults.length > 0 || seqs.length !== 10_000 || seqs[0] !== 0 || seqs[9_999] !== 9_999);
  expect(wrong.map(({ seqs, faults }) => ({ count: seqs.length, first: seqs[0], last: seqs.at(-1), faults: faults.slice(0, 3) }))).toEqual([]);
  await closeAll(nodes);
}, 60_000);

test('Redis restarted mid-stream: publishes fail loudly, health goes down, delivery resumes within 2 s of its return, the gap is reported; a SIGKILLed node\'s clients move to the others', async () => {
  const { redis, nodes, clients } = await cluster();
  const [publisher, second, third] = nodes as [ClusterNode, ClusterNode, ClusterNode];
  publisher.send({ cmd: 'publish', from: 0, n: 100_000, everyMs: 2, until: true });
  await waitFor(() => clients.every(({ seqs }) => seqs.length > 20), 'the stream flowing everywhere');

  const stoppedAt = Date.now();
  await redis.stop();
  await Promise.all(nodes.map((n) => n.next('health', (m) => m.status === 'down')));
  publisher.send({ cmd: 'stats' });
  await waitFor(() => (publisher.send({ cmd: 'stats' }), publisher.inbox.some((m) => m.type === 'stats' && (m.relayErrors as number) > 0)), 'relay errors during the outage');
  await redis.start();
  const back = Date.now();
  await Promise.all(nodes.map((n) => n.next('health', (m) => m.status === 'up')));
  const lastBefore = Math.max(...clients.map(({ seqs }) => seqs.at(-1) as number));
  await waitFor(() => clients.every(({ seqs }) => (seqs.at(-1) as number) > lastBefore + 5), 'delivery resumed everywhere', 2000);
  const resumedIn = Date.now() - back;
  expect(resumedIn).toBeLessThan(2000);
  for (const n of [second, third]) {
    const { gap } = (await n.next('gap')) as unknown as { gap: { topics: string[]; broadcast: boolean; from: number; to: number } };
    expect(gap).toMatchObject({ topics: ['all'], broadcast: true });
    expect(gap.from).toBeGreaterThanOrEqual(stoppedAt - 50);
    expect(gap.to).toBeGreaterThanOrEqual(back - 50);
  }

  third.proc.kill('SIGKILL');
  await third.exited;
  const moved = clients.filter((_, i) => i % 3 === 2);
  await waitFor(() => {
    for (const n of [publisher, second]) n.send({ cmd: 'stats' });
    const peers = [publisher, second].map((n) => [...n.inbox].reverse().find((m) => m.type === 'stats')?.peers as number | undefined);
    return peers[0] !== undefined && peers[1] !== undefined && peers[0] + peers[1] === CLIENTS;
  }, 'all 300 clients on the two nodes left', 10_000);
  const mark = Math.max(...clients.map(({ seqs }) => seqs.at(-1) as number));
  await waitFor(() => moved.every(({ seqs }) => (seqs.at(-1) as number) > mark), 'the moved clients receive again', 5000);
  publisher.send({ cmd: 'stop' });
  await publisher.next('published');
  expect(clients.flatMap(({ faults }) => faults)).toEqual([]); // in order, no duplicate, through all of it
  await closeAll([publisher, second]);
}, 60_000);
