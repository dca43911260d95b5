import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { listen } from '../../lib/server/index.js';
import { createFaultProxy } from '../../lib/testing/index.js';
import { ensureBuilt, root } from '../helpers/build.js';
import { onDispose } from '../helpers/dispose.js';

// rxwire under Deno and Bun (their npm packages ship the binaries): each build against a local
// rxwire/server behind the fault proxy — JSON and binary echo, a server restart with buffered sends
// delivered once and in order, the heartbeat finding a blackholed connection, close() against a
// dead peer bounded by closeTimeout, and the process exiting by itself.

const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
const builds = { node: join(root, 'dist', 'cjs', 'index.js'), native: join(root, 'dist', 'esm', 'browser.js') };

beforeAll(() => ensureBuilt(builds.native), 130_000);

const cases: Array<[runtime: 'deno' | 'bun', build: keyof typeof builds]> = [
  ['deno', 'native'],
  ['deno', 'node'],
  ['bun', 'native'],
  ['bun', 'node'],
];

test.each(cases)('%s, the %s build', async (runtime, build) => {
  const server = listen<Record<string, unknown> | Uint8Array, unknown>({ logger: false, serialize: (m) => (m instanceof Uint8Array ? m : JSON.stringify(m)) });
  onDispose(() => server.close({ timeout: 500 }));
  await server.ready;
  server.connections$.subscribe((peer) =>
    peer.messages$.subscribe((m) => void peer.send(m instanceof Uint8Array || m.type !== 'ping' ? m : { type: 'pong' }).catch(() => undefined)),
  );
  const proxy = await createFaultProxy({ target: server.url });
  onDispose(() => proxy.close());
  const command = runtime === 'deno' ? [bin('deno'), 'run', '-A', '--quiet', 'spec/runtimes/check.mjs'] : [bin('bun'), 'spec/runtimes/check.mjs'];
  const child = spawn(command[0] as string, [...command.slice(1), builds[build], proxy.url], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  onDispose(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(child, 'exit');
  const phases: Array<Record<string, unknown>> = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const phase = JSON.parse(line) as Record<string, unknown>;
    phases.push(phase);
    if (phase.phase === 'echoed') for (const peer of server.peers) void peer.close(1012, 'restart');
    if (phase.phase === 'resumed' || phase.phase === 'back') proxy.set('both', { kind: 'blackhole' });
    if (phase.phase === 'zombie') proxy.set('both', { kind: 'pass' });
    if (phase.phase === 'closed' || phase.phase === 'error' || phase.phase === 'failed') break;
  }
  // Deno keeps a closed WebSocket's resource (and the process) until its TCP connection ends, which
  // against a dead peer is when TCP gives up: end it as that would (a reset), then it must exit.
  proxy.reset('rst');
  const closedAt = Date.now();
  const [code] = (await exited) as [number | null];
  expect({ phases, stderr }).toEqual({
    phases: [
      { phase: 'echoed', json: { type: 'echo', n: 1 }, binary: [1, 2, 255] },
      { phase: 'resumed', echoes: [2, 3, 4] },
      { phase: 'zombie' },
      { phase: 'back' },
      { phase: 'closed', ms: expect.any(Number), lastClose: expect.any(Number) },
    ],
    stderr: '',
  });
  expect(phases[4]?.ms).toBeLessThan(1000); // closeTimeout 300, not TCP's minutes
  // rxwire reports 1006 when it had to give up on the close; Deno and Bun report their own 1000 at once.
  expect([1000, 1006]).toContain(phases[4]?.lastClose);
  expect(code).toBe(0);
  expect(Date.now() - closedAt).toBeLessThan(2000); // it exits by itself
}, 60_000);

test.each(['deno', 'bun'] as const)('a resumable session under %s (the native build): receipts and answers across a reset link', async (runtime) => {
  const server = listen<{ n: number }, { n: number }>({ logger: false, session: true });
  onDispose(() => server.close({ timeout: 500 }));
  await server.ready;
  let sessions = 0;
  server.connections$.subscribe((peer) => {
    sessions++;
    peer.messages$.subscribe((m) => void peer.send({ n: m.n }).catch(() => undefined));
  });
  const proxy = await createFaultProxy({ target: server.url });
  onDispose(() => proxy.close());
  const command = runtime === 'deno' ? [bin('deno'), 'run', '-A', '--quiet', 'spec/runtimes/session-check.mjs'] : [bin('bun'), 'spec/runtimes/session-check.mjs'];
  const child = spawn(command[0] as string, [...command.slice(1), builds.native, proxy.url], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  onDispose(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = once(child, 'exit');
  let done: Record<string, unknown> | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    const phase = JSON.parse(line) as Record<string, unknown>;
    if (phase.phase === 'first-receipt') proxy.reset('rst');
    else done = phase;
  }
  const [code] = (await exited) as [number | null];
  expect({ done, stderr, code }).toEqual({
    done: { phase: 'done', answers: Array.from({ length: 100 }, (_, n) => n), errors: [], session: true, reconnects: expect.any(Number) },
    stderr: '',
    code: 0,
  });
  expect(done?.reconnects).toBeGreaterThanOrEqual(1); // the reset happened mid-stream
  expect(sessions).toBe(1); // and the session was resumed: one peer
}, 60_000);
