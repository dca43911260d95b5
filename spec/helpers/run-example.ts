import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { onDispose } from './dispose';
import { poke, waitFor } from './wait';

/** An example running in a child process: its output so far, and how it ended. */
export interface RunningExample {
  readonly child: ChildProcess;
  /** stdout and stderr, interleaved as they came. */
  out(): string;
  /** stderr alone. */
  err(): string;
  /** Resolves with the exit code and the signal once it has exited (and its pipes closed). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first match of `pattern` in the output (from `from` on), within `within` ms. */
  output(pattern: RegExp, within?: number, from?: number): Promise<RegExpMatchArray>;
}

/**
 * Starts `example` (a path from the repository root, e.g. `examples/cluster/node.ts`) as
 * `node --import tsx` (one process, so that a signal reaches the example itself) with PORT=0 and
 * `env`, `args` on its command line, stdin a pipe. The dispose registry kills it (SIGKILL) if it
 * still runs at the end of the test.
 */
export function startExample(example: string, { env = {}, args = [] }: { env?: Record<string, string>; args?: readonly string[] } = {}): RunningExample {
  const child = spawn(process.execPath, ['--import', 'tsx', example, ...args], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, PORT: '0', FORCE_COLOR: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => void ((out += chunk), poke()));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => void ((out += chunk), (err += chunk), poke()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  onDispose(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  const output = (pattern: RegExp, within = 15_000, from = 0): Promise<RegExpMatchArray> =>
    waitFor(() => out.slice(from).match(pattern), `${example} to print ${String(pattern)}`, within).catch((error: Error) => {
      throw new Error(`${error.message}; it printed:\n${out}`);
    });
  return { child, out: () => out, err: () => err, exited, output };
}

/**
 * Runs `example` (a path from the repository root, e.g. `examples/kraken-feed.ts`) as
 * `node --import tsx` with PORT=0, and resolves with its exit code and its output (stdout and
 * stderr, interleaved as they came). Rejects, with the output so far, if it has not exited within
 * `within` ms; a child still running at the end of the test is killed by the dispose registry.
 */
export async function runExample(example: string, within = 15_000): Promise<{ code: number | null; out: string }> {
  const running = startExample(example);
  running.child.stdin?.end();
  let timer: NodeJS.Timeout | undefined;
  const { code } = await Promise.race([
    running.exited,
    new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`no exit within ${within / 1000} s:\n${running.out()}`)), within))),
  ]).finally(() => clearTimeout(timer));
  return { code, out: running.out() };
}
