import { connect } from '../../lib/index.js';
import type { ChatLine, NodeMessage } from '../../examples/cluster/node.js';
import { onDispose } from '../helpers/dispose.js';
import { startRedis, subscribed } from '../helpers/redis.js';
import { startExample, type RunningExample } from '../helpers/run-example.js';
import '../helpers/tripwires.js';
import { poke, waitFor } from '../helpers/wait.js';

// examples/cluster/ as its README runs it: a real redis-server, three node processes
// (examples/cluster/node.ts), and the client (examples/cluster/client.ts) in a process of its own,
// its lines on stdin. An rxwire client of the spec's own on another node talks with it through
// Redis; the client's node is SIGKILLed and it carries on through the next node, its session
// resumed; at the end of stdin the client exits by itself, and so do the nodes on SIGTERM.

/** A node; `url` as it prints it (`ws://127.0.0.1:<port>/`). */
async function startNode(name: string, redisUrl: string): Promise<RunningExample & { url: string }> {
  const node = startExample('examples/cluster/node.ts', { env: { NODE: name, REDIS_URL: redisUrl } });
  const [, url] = (await node.output(new RegExp(`${name}: listening on (ws://\\S+)`), 20_000)) as [string, string];
  return Object.assign(node, { url });
}

test('three nodes on one redis-server: a client talks through another node, survives its node being killed, and everything exits by itself', async () => {
  const redis = await startRedis();
  const [n1, n2, n3] = await Promise.all(['node-1', 'node-2', 'node-3'].map((name) => startNode(name, redis.url)));
  if (!n1 || !n2 || !n3) throw new Error('three nodes');

  const alice = startExample('examples/cluster/client.ts', { env: { NAME: 'alice' }, args: [n1.url, n2.url, n3.url] });
  await alice.output(new RegExp(`connected to ${n1.url} \\(session [\\w-]+, new\\)`), 20_000);

  // The spec's own client, on node-2.
  const bob = connect<NodeMessage, ChatLine>(`${n2.url}?name=bob`, { logger: false, reconnect: false });
  onDispose(() => bob.close());
  const heard: NodeMessage[] = [];
  bob.messages$.subscribe({ next: (message) => void (heard.push(message), poke()), error: () => undefined });
  await bob.opened({ timeout: 10_000 });
  await subscribed(redis.url, ['rxwire:t:lobby'], 2); // node-1 (alice) and node-2 (bob) are in the room

  alice.child.stdin?.write('hello from alice\n');
  await waitFor(() => heard.find((m) => m.type === 'said' && m.text === 'hello from alice'), 'alice at bob');
  expect(heard).toEqual([{ type: 'said', from: 'alice', text: 'hello from alice', via: 'node-1' }]);
  await alice.output(/\[via node-1\] alice: hello from alice/); // her own line, back from the room

  await bob.send({ text: 'hi alice' });
  await alice.output(/\[via node-2\] bob: hi alice/);

  // alice's node dies: she reconnects to the next node, which takes her session over from Redis.
  const mark = alice.out().length;
  n1.child.kill('SIGKILL');
  expect(await n1.exited).toMatchObject({ signal: 'SIGKILL' });
  await alice.output(new RegExp(`connected to ${n2.url} \\(session [\\w-]+, resumed\\)`), 15_000, mark);
  await n2.output(/node-2: alice is here \(session [\w-]+\)/);

  alice.child.stdin?.write('after the failover\n');
  await waitFor(() => heard.find((m) => m.type === 'said' && m.text === 'after the failover'), 'alice at bob after the failover', 10_000);
  expect(heard.filter((m) => m.type === 'said' && m.from === 'alice')).toEqual([
    { type: 'said', from: 'alice', text: 'hello from alice', via: 'node-1' },
    { type: 'said', from: 'alice', text: 'after the failover', via: 'node-2' }, // once each, nothing doubled by the replay
  ]);

  // End of stdin: alice waits for her receipts, closes, and exits by itself.
  alice.child.stdin?.end();
  expect(await alice.exited).toEqual({ code: 0, signal: null });
  expect(alice.out()).toContain('2 of 2 lines acknowledged, closing');
  expect(alice.err()).toBe('');

  await bob.close();
  for (const node of [n2, n3]) {
    node.child.kill('SIGTERM');
    expect(await node.exited).toEqual({ code: 0, signal: null });
    expect(node.out()).toMatch(/closed \(\d+ of \d+ peers closed cleanly\)/);
    expect(node.err()).toBe('');
  }
}, 90_000);
