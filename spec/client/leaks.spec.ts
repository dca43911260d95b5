import '../helpers/tripwires';
import { spawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { ConnectionClosedError, DecodeError } from '../../lib/index.js';
import { ensureBuilt, root } from '../helpers/build';
import { client, collect, record, trackedWebSocket } from '../helpers/observe';
import { refusedPort, startRawPeer, startWsPeer } from '../helpers/peers';
import { waitFor, sleep } from '../helpers/wait';

// Leaks: a process that used the built package exits by itself; a thousand reconnects leave
// nothing behind; a malformed message is reported and the stream goes on.

const builtEntry = join(root, 'dist', 'cjs', 'index.js');

function ensureBuiltClient(): void {
  ensureBuilt(builtEntry);
  const built = require(builtEntry) as { connect?: unknown };
  if (typeof built.connect !== 'function') {
    throw new Error(`${builtEntry} does not export connect(): run \`npm run build\` and check the build`);
  }
}

/**
 * The child: uses the built package through `require`, in one of a few ways that must all leave
 * the event loop empty. It prints what it did; the parent checks that it exits by itself.
 */
const childScript = `
const { connect } = require(process.env.RXWIRE_ENTRY);
const log = (line) => process.stdout.write(line + '\\n');
const url = process.env.RXWIRE_URL;
const fast = { initialDelay: 20, jitter: false };
switch (process.env.RXWIRE_MODE) {
  case 'close-after-message': {
    const socket = connect(url, { reconnect: fast });
    socket.messages$.subscribe((m) => {
      log('message ' + JSON.stringify(m));
      socket.close().then(() => log('done'));
    });
    break;
  }
  case 'close-while-reconnecting': {
    const socket = connect(url, { reconnect: fast });
    let errors = 0;
    socket.errors$.subscribe(() => ++errors === 2 && socket.close().then(() => log('done')));
    socket.messages$.subscribe();
    break;
  }
  case 'close-unanswered': {
    const socket = connect(url, { closeTimeout: 200 });
    socket.messages$.subscribe();
    socket.state$.subscribe((s) => s.status === 'open' && socket.close().then(() => log('done')));
    break;
  }
  case 'idle-after-unsubscribe': {
    const socket = connect(url);
    const sub = socket.messages$.subscribe(() => sub.unsubscribe());
    socket.state$.subscribe((s) => s.status === 'idle' && s.attempt === 0 && sub.closed && log('done'));
    break;
  }
  case 'for-await-break': {
    const socket = connect(url, { lazyCloseTimeout: 0 }); // the default lingers 5 s after the loop
    (async () => {
      for await (const m of socket) { log('message ' + JSON.stringify(m)); break; }
      log('done');
    })();
    break;
  }
  case 'fatal-close': {
    const socket = connect(url, { reconnect: fast });
    socket.messages$.subscribe({ error: (e) => log('done ' + e.name + ' ' + e.code) });
    break;
  }
}
`;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from printing `done` to exiting. */
  exitAfterDone: number;
}

function runChild(mode: string, url: string, within: number): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-e', childScript], {
      cwd: root,
      env: { ...process.env, RXWIRE_ENTRY: builtEntry, RXWIRE_URL: url, RXWIRE_MODE: mode },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let doneAt = NaN;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (Number.isNaN(doneAt) && /^done/m.test(stdout)) doneAt = Date.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child (${mode}) did not exit by itself within ${within} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, within);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, exitAfterDone: Date.now() - doneAt });
    });
  });
}

describe('a child process using the built package exits by itself', () => {
  beforeAll(ensureBuiltClient, 180_000);

  test('after receiving a message and calling close()', async () => {
    const server = await startWsPeer({ onConnection: ({ ws }) => ws.send(JSON.stringify({ hello: 'world' })) });
    const result = await runChild('close-after-message', server.url, 8000);
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'message {"hello":"world"}\ndone\n' });
    expect(result.exitAfterDone).toBeLessThan(1000);
    expect(await server.connections[0]?.closed).toEqual({ code: 1000, reason: '' });
  });

  test('after close() during the backoff wait (server down)', async () => {
    const port = await refusedPort();
    const result = await runChild('close-while-reconnecting', `ws://127.0.0.1:${port}/`, 8000);
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'done\n' });
    expect(result.exitAfterDone).toBeLessThan(1000);
  });

  test('after close() against a server that never answers the close frame (terminated at closeTimeout)', async () => {
    const peer = await startRawPeer({ handshake: true, allowHalfOpen: true });
    const result = await runChild('close-unanswered', peer.url, 8000);
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'done\n' });
    expect(result.exitAfterDone).toBeLessThan(1000);
  });

  test('after its only subscriber left (idle holds nothing), without close()', async () => {
    const server = await startWsPeer({ onConnection: ({ ws }) => ws.send('1') });
    const result = await runChild('idle-after-unsubscribe', server.url, 8000);
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'done\n' });
    expect(result.exitAfterDone).toBeLessThan(1000);
    expect(await server.connections[0]?.closed).toEqual({ code: 1000, reason: '' });
  });

  test('after a for await loop breaks', async () => {
    const server = await startWsPeer({ onConnection: ({ ws }) => ws.send('"first"') });
    const result = await runChild('for-await-break', server.url, 8000);
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'message "first"\ndone\n' });
    expect(result.exitAfterDone).toBeLessThan(1000);
  });

  test('after a fatal close from the server, without close()', async () => {
    const server = await startWsPeer({ onConnection: ({ ws }) => ws.close(1008, 'policy') });
    const result = await runChild('fatal-close', server.url, 8000);
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: 'done ConnectionClosedError 1008\n' });
    expect(result.exitAfterDone).toBeLessThan(1000);
  });
});

type Counts = Record<string, number>;

function countBy(items: readonly string[]): Counts {
  const counts: Counts = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

function listenerCounts(emitter: EventEmitter): Counts {
  const counts: Counts = {};
  for (const name of emitter.eventNames()) counts[String(name)] = emitter.listenerCount(name);
  return counts;
}

function rawSocket(ws: WebSocket): EventEmitter {
  return (ws as unknown as { _socket: EventEmitter })._socket;
}

/** Entries of `now` above `before`, by resource type. */
function growth(before: Counts, now: Counts): Counts {
  const grown: Counts = {};
  for (const [type, count] of Object.entries(now)) if (count > (before[type] ?? 0)) grown[type] = count - (before[type] ?? 0);
  return grown;
}

test('1,000 reconnects leave listener counts unchanged and no growth in active handles', async () => {
  const reconnects = 1000;
  const server = await startWsPeer({ onConnection: (c) => c.index > 1 && c.index <= reconnects && c.ws.close(1012, 'again') });
  const tracked = trackedWebSocket();
  const socket = client(server.url, { WebSocket: tracked.WebSocket, reconnect: { initialDelay: 0, jitter: false } });
  const rec = record(socket);
  const messages = collect(socket);
  const first = await server.connection(1);
  await waitFor(() => socket.state.status === 'open', 'open');
  await sleep(20); // let the handshake's own short-lived handles settle

  const baseline = {
    resources: countBy(process.getActiveResourcesInfo()),
    process: listenerCounts(process),
    ws: listenerCounts(tracked.instances[0] as WebSocket),
    raw: listenerCounts(rawSocket(tracked.instances[0] as WebSocket)),
  };

  first.ws.close(1012, 'again');
  await server.connection(reconnects + 1, 30_000);
  await waitFor(() => socket.state.status === 'open' && socket.state.attempt === reconnects + 1, 'open after the last reconnect', 5000);
  await waitFor(() => server.openCount() === 1, 'the server to see only the last connection open', 5000);

  let resources: Counts = {};
  for (let tries = 0; tries < 100; tries++) {
    resources = countBy(process.getActiveResourcesInfo());
    if (Object.keys(growth(baseline.resources, resources)).length === 0) break;
    await sleep(20);
  }
  const last = tracked.instances[reconnects] as WebSocket;
  expect(growth(baseline.resources, resources)).toEqual({});
  expect(listenerCounts(process)).toEqual(baseline.process);
  expect(listenerCounts(last)).toEqual(baseline.ws);
  expect(listenerCounts(rawSocket(last))).toEqual(baseline.raw);

  expect(tracked.instances).toHaveLength(reconnects + 1);
  expect(tracked.instances.filter((ws) => ws.listenerCount('error') === 0)).toEqual([]);
  expect(tracked.instances.slice(0, reconnects).filter((ws) => ws.readyState !== 3)).toEqual([]);
  expect(rec.errors).toHaveLength(reconnects);
  expect(rec.errors.filter((e) => !(e instanceof ConnectionClosedError && e.code === 1012))).toEqual([]);
  expect(messages.errored || messages.completed).toBe(false);
}, 60_000);

test('malformed JSON: one DecodeError per bad message on errors$, and later messages arrive', async () => {
  const server = await startWsPeer({
    onConnection: ({ ws }) => {
      for (const text of ['not json', '{"ok":1}', '{bad', '', '{"ok":2}']) ws.send(text);
      ws.send(Buffer.from([1, 2, 3]), { binary: true });
      ws.send('{"ok":3}');
    },
  });
  const socket = client(server.url, { reconnect: { initialDelay: 10 } });
  const timeline: Array<[string, unknown]> = [];
  const rec = record(socket);
  socket.errors$.subscribe((e) => timeline.push(['error', e instanceof DecodeError ? e.payload : e.name]));
  const messages = collect(socket, (m) => timeline.push(['message', m instanceof Uint8Array ? Array.from(m) : m]));
  await waitFor(() => messages.values.length === 4, 'four good messages');

  expect(timeline).toEqual([
    ['error', 'not json'],
    ['message', { ok: 1 }],
    ['error', '{bad'],
    ['error', ''],
    ['message', { ok: 2 }],
    ['message', [1, 2, 3]],
    ['message', { ok: 3 }],
  ]);
  expect(rec.errors).toHaveLength(3);
  for (const error of rec.errors) {
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).cause).toBeInstanceOf(SyntaxError);
    expect((error as DecodeError).data).toBe((error as DecodeError).payload); // the deprecated name
  }
  expect(messages.values[2]).toBeInstanceOf(Uint8Array);
  expect(messages.errored).toBe(false);
  expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1']);
  expect(server.connections).toHaveLength(1);
});
