import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { connect, ConnectionClosedError, MessageDroppedError, SessionLostError } from '../../lib/index.js';
import { onDispose } from '../helpers/dispose.js';
import '../helpers/tripwires.js';
import { deferred, poke, waitFor } from '../helpers/wait.js';

// The server process killed (SIGKILL) in the middle of a stream of reliable messages and started
// again on the same port: its sessions died with it. The client reports exactly one
// SessionLostError whose count is exactly its unacknowledged reliable messages (those written
// and never acknowledged, and those still waiting for room in the retention), and rejects each of
// them with 'session-lost', on its promise and on dropped$; every other send resolved, and each of
// those was delivered to the old server (a receipt means delivery). Nothing is silent, and the
// socket goes on in a new session. The server is a real child process (session-server.ts).

type Msg = { n: number };

const root = resolve(__dirname, '..', '..');
const script = join(__dirname, 'session-server.ts');
/** Small, so that messages sent while the server is down wait for room: they are lost too. */
const RETAIN = 50;

interface ServerProcess {
  readonly port: number;
  /** `n` of every message the server delivered, in order. */
  readonly got: number[];
  /** Resolves once it exited and its output was read to the end. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
  /** Ends its stdin: it closes its server and must exit by itself. */
  shutDown(): void;
}

async function startServer(port: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, String(port)], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  // 'close', not 'exit': by then its stdout has been read to the end.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('close', (code, signal) => done({ code, signal })));
  onDispose(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const ready = deferred<number>();
  const got: number[] = [];
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const lines = stdout.split('\n');
    stdout = lines.pop() as string;
    for (const line of lines) {
      if (line.startsWith('GOT ')) got.push(Number(line.slice(4)));
      else if (line.startsWith('READY ')) ready.resolve(Number(line.slice(6)));
    }
    poke();
  });
  void exited.then(({ code, signal }) => ready.reject(new Error(`the server exited (${code ?? signal}) before it was ready: ${stderr}`)));
  const timer = setTimeout(() => ready.reject(new Error(`the server was not ready within 15 s: ${stderr}`)), 15_000);
  const bound = await ready.promise.finally(() => clearTimeout(timer));
  return { port: bound, got, exited, kill: () => child.kill('SIGKILL'), shutDown: () => child.stdin.end() };
}

test('SIGKILL and restart on the same port: one SessionLostError with the exact count; each unacknowledged message rejected with session-lost; receipts meant delivery; the new session works', async () => {
  const first = await startServer(0);
  const url = `ws://127.0.0.1:${first.port}`;
  const socket = connect<Msg, Msg>(url, {
    logger: false,
    session: { retain: { size: RETAIN } },
    heartbeat: false,
    reconnect: { initialDelay: 10, maxDelay: 50 },
  });
  onDispose(() => socket.close());
  const errors: Error[] = [];
  socket.errors$.subscribe((error) => errors.push(error));
  const drops: Array<{ n: number; reason: string }> = [];
  socket.dropped$.subscribe(({ payload, reason }) => drops.push({ n: payload.n, reason }));
  const outcomes = new Map<number, string>();
  const send = (n: number): Promise<void> => {
    const receipt = socket.send({ n });
    receipt.then(
      () => outcomes.set(n, 'resolved'),
      (error: unknown) => outcomes.set(n, error instanceof MessageDroppedError ? error.reason : String(error)),
    );
    return receipt;
  };
  let n = 0;

  // 1. A session with its receipts: 200 messages, every one acknowledged.
  await Promise.all(Array.from({ length: 200 }, () => send(n++)));
  const sessionId = socket.state.session?.id as string;
  expect(socket.state.session).toEqual({ id: sessionId, resumed: false });

  // 2. 30 messages written as the server dies: some may be acknowledged before it does.
  for (let i = 0; i < 30; i++) void send(n++).catch(() => undefined);
  first.kill();
  expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
  await waitFor(() => socket.state.status === 'reconnecting', 'the client to notice');

  // 3. 40 more while it is down: never written, some of them waiting for room (retain.size 50).
  const whileDown: number[] = [];
  for (let i = 0; i < 40; i++) {
    whileDown.push(n);
    void send(n++).catch(() => undefined);
  }
  const unacknowledged = socket.metrics.unacknowledged;
  const pending = [...Array(n).keys()].filter((k) => !outcomes.has(k));
  expect(unacknowledged).toBe(pending.length);
  expect(unacknowledged).toBeGreaterThan(RETAIN); // some wait for room: the count includes them

  // 4. The server restarts on the same port, without the session.
  const second = await startServer(first.port);
  await waitFor(() => outcomes.size === n, 'every send settled', 10_000);
  const lost = errors.filter((e): e is SessionLostError => e instanceof SessionLostError);
  expect(lost).toHaveLength(1);
  const [error] = lost as [SessionLostError];
  const rejected = [...outcomes].filter(([, outcome]) => outcome !== 'resolved').map(([k]) => k).sort((a, b) => a - b);
  expect(error.sessionId).toBe(sessionId);
  expect(error.unacknowledged).toBe(unacknowledged);
  expect(rejected).toEqual(pending);
  expect(new Set(outcomes.values())).toEqual(new Set(['resolved', 'session-lost']));
  expect(drops).toEqual(pending.map((k) => ({ n: k, reason: 'session-lost' }))); // dropped$ too, in order
  expect(rejected).toEqual(expect.arrayContaining(whileDown));
  // A receipt is a delivery: every resolved message reached the old server, once, in order.
  const resolvedNs = [...outcomes].filter(([, outcome]) => outcome === 'resolved').map(([k]) => k).sort((a, b) => a - b);
  expect(resolvedNs.length).toBeGreaterThanOrEqual(200);
  expect(first.got.slice(0, resolvedNs.length)).toEqual(resolvedNs);
  expect(new Set(first.got).size).toBe(first.got.length);
  // Nothing else on errors$: the lost connection and the refused attempts, then the loss.
  expect(errors.filter((e) => !(e instanceof ConnectionClosedError) && e !== error)).toEqual([]);

  // 5. The new session works: its receipts resolve, the new server has each message once, in order.
  await waitFor(() => socket.state.status === 'open', 'open');
  expect(socket.state.session).toEqual({ id: error.newSessionId, resumed: false });
  expect(error.newSessionId).not.toBe(sessionId);
  const after = Array.from({ length: 20 }, (_, i) => 1000 + i);
  await Promise.all(after.map((k) => send(k)));
  await waitFor(() => second.got.length >= after.length, 'the new server to report them'); // its stdout lags its acks
  expect(second.got).toEqual(after);
  expect(socket.metrics.unacknowledged).toBe(0);
  expect(lost).toHaveLength(1);

  // 6. A graceful shutdown of the second server: it exits by itself (no timer or socket left).
  await socket.close();
  second.shutDown();
  expect(await second.exited).toEqual({ code: 0, signal: null });
}, 30_000);
