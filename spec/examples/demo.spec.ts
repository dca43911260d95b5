import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { onDispose } from '../helpers/dispose.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// examples/demo.ts as a newcomer runs it, in a child process: it must show reconnects, and it
// must exit by itself — after --duration, and on Ctrl-C (SIGINT) — with every handle closed.

const root = join(__dirname, '..', '..');

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Demo {
  child: ChildProcess;
  stdout(): string;
  exited: Promise<Exit>;
}

function runDemo(args: string[], port: number): Demo {
  // `node --import tsx` rather than the tsx CLI: one process, so a signal reaches the demo itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', ...args], {
    cwd: root,
    env: { ...process.env, PORT: String(port), FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  // Only if a test failed half-way: end the child this test started, by its own handle.
  onDispose(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  return { child, stdout: () => stdout, exited };
}

/** Resolves with the exit, or rejects after `ms`: the demo must exit by itself. */
function exitWithin(demo: Demo, ms: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    demo.exited.finally(() => clearTimeout(timer)),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the demo did not exit within ${ms} ms; output:\n${demo.stdout()}`)), ms);
    }),
  ]);
}

async function outputMatches(demo: Demo, pattern: RegExp, ms: number): Promise<void> {
  await waitFor(() => pattern.test(demo.stdout()), `${pattern} in the demo's output`, ms).catch((error: Error) => {
    throw new Error(`${error.message}; output:\n${demo.stdout()}`);
  });
}

test('with --duration 4 it shows open and reconnecting, then exits 0 by itself', async () => {
  const demo = runDemo(['--duration', '4'], await freePort());
  const { code, signal, stdout, stderr } = await exitWithin(demo, 15000);
  expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(stdout).toMatch(/state: open/);
  expect(stdout).toMatch(/state: reconnecting \(attempt \d+, last close 1012 service restart\)/);
  expect(stdout).toMatch(/^open +sent \d+ +echoed \d+ +waiting \d+ +dropped: timeout \d+, overflow \d+, closed \d+/m);
  expect(stdout).toMatch(/4 s elapsed: closing/);
  expect(stdout).toMatch(/state: closed/);
  expect(stdout).toMatch(/^Done\. \d+ sent, \d+ echoed/m);
}, 20000);

test('on SIGINT (Ctrl-C) it closes the socket and the server and exits 0 by itself', async () => {
  const demo = runDemo([], await freePort());
  await outputMatches(demo, /state: open/, 10000);
  demo.child.kill('SIGINT');
  const { code, signal, stdout, stderr } = await exitWithin(demo, 5000);
  expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(stdout).toMatch(/Ctrl-C: closing/);
  expect(stdout).toMatch(/state: closed/);
  expect(stdout).toMatch(/^Done\./m);
}, 20000);

test('a bad --duration is refused with the usage and exit code 2', async () => {
  const demo = runDemo(['--duration', 'soon'], await freePort());
  const { code, stderr } = await exitWithin(demo, 10000);
  expect(code).toBe(2);
  expect(stderr).toMatch(/Expected --duration to be a number of seconds > 0, got `soon`/);
  expect(stderr).toMatch(/Usage: npx tsx examples\/demo\.ts/);
}, 20000);
