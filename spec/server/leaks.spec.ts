import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from 'ws';
import { connect } from '../../lib/index.js';
import { listen } from '../../lib/server/index.js';
import { ensureBuilt, root } from '../helpers/build.js';
import { onDispose } from '../helpers/dispose.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// The server leaves nothing behind: a process whose server is closed exits by itself (with peers
// connected at the time, and with an rxwire client in the same process), and thousands of
// connect/close cycles leave no peer, topic, listener or heap growth.

const builtEntry = join(root, 'dist', 'cjs', 'server', 'index.js');

const childScript = `
const { listen } = require(process.env.RXWIRE_SERVER);
const { connect } = require(process.env.RXWIRE_CLIENT);
const { WebSocket } = require('ws');
const log = (line) => process.stdout.write(line + '\\n');
(async () => {
  const server = listen({ port: 0, heartbeat: { interval: 50, timeout: 50 }, logger: false });
  await server.ready;
  server.connections$.subscribe((peer) => { peer.join('all'); peer.messages$.subscribe((m) => void peer.send(m)); });
  const raw = new WebSocket(server.url);
  raw.on('error', () => {});
  await new Promise((r) => raw.once('open', r));
  const socket = connect(server.url, { logger: false });
  socket.messages$.subscribe({ error: () => {} });
  await socket.opened({ timeout: 2000 });
  server.publish('all', { hello: 1 });
  await new Promise((r) => raw.once('message', r));
  const report = await server.close({ timeout: 4000 });
  log(JSON.stringify(report));
  await socket.close();
  log('done');
})();
`;

test('a process whose server is closed (two peers connected, one an rxwire client) exits by itself', async () => {
  ensureBuilt(builtEntry);
  const child = spawn(process.execPath, ['-e', childScript], {
    cwd: root,
    env: { ...process.env, RXWIRE_SERVER: builtEntry, RXWIRE_CLIENT: join(root, 'dist', 'cjs', 'index.js') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onDispose(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  let doneAt = 0;
  child.stdout.on('data', (chunk) => {
    out += String(chunk);
    if (out.includes('done')) doneAt ||= Date.now();
  });
  child.stderr.on('data', (chunk) => (err += String(chunk)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  expect({ code, signal, err }).toEqual({ code: 0, signal: null, err: '' });
  const [report, done] = out.trim().split('\n');
  expect(JSON.parse(report as string)).toMatchObject({ peers: 2, terminated: 0 });
  expect(done).toBe('done');
  expect(Date.now() - doneAt).toBeLessThan(1500); // at once: no timer left (the shutdown's timeout is 4 s here)
}, 60_000);

test('10,000 connect/close cycles: no peer, topic or handle left, and the heap does not grow', async () => {
  const server = listen<unknown, unknown>({ logger: false });
  onDispose(() => server.close({ timeout: 500 }));
  await server.ready;
  server.connections$.subscribe((peer) => {
    peer.join('room');
    peer.messages$.subscribe(() => void peer.send({ ok: true }));
  });
  const cycle = async (): Promise<void> => {
    const ws = new WebSocket(server.url);
    ws.on('error', () => undefined);
    await once(ws, 'open');
    ws.send('{"hi":1}');
    await once(ws, 'message');
    ws.close();
    await once(ws, 'close');
  };
  const batch = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i += 20) await Promise.all(Array.from({ length: 20 }, cycle));
    await waitFor(() => server.peers.size === 0, 'every peer gone');
  };
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  await batch(2000); // warm-up: code, pools and caches settle (the first batch grows ~0.5 KB/cycle, later ones do not)
  await new Promise((settle) => setTimeout(settle, 100)); // closed sockets' last callbacks
  gc();
  const before = process.memoryUsage().heapUsed;
  const handles = (): string[] => process.getActiveResourcesInfo().filter((kind) => kind !== 'Timeout').sort();
  const handlesBefore = handles();
  await batch(8000);
  await new Promise((settle) => setTimeout(settle, 100));
  gc();
  const growth = process.memoryUsage().heapUsed - before;
  expect(server.peers.size).toBe(0);
  expect(handles()).toEqual(handlesBefore); // no socket or server handle left behind
  expect(server.publish('room', { x: 1 })).toBe(0); // the topic is empty
  // A leak of one peer per cycle would be ≥ 2 KB each (16 MB); 128 B per cycle is noise.
  expect(growth).toBeLessThan(8000 * 128);
  const client = connect(server.url, { logger: false, lazyCloseTimeout: 0 });
  await expect(client.request({ hi: 2 }, { match: () => true, timeout: 2000 })).resolves.toEqual({ ok: true });
  await client.close();
}, 120_000);
