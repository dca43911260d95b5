import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { onDispose } from './dispose';

/**
 * Runs `example` (a path from the repository root, e.g. `examples/kraken-feed.ts`) as
 * `node --import tsx` with PORT=0, and resolves with its exit code and its output (stdout and
 * stderr, interleaved as they came). Rejects, with the output so far, if it has not exited within
 * `within` ms; a child still running at the end of the test is killed by the dispose registry.
 */
export async function runExample(example: string, within = 15_000): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', example], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, PORT: '0', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  onDispose(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exited,
    new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`no exit within ${within / 1000} s:\n${out}`)), within))),
  ]).finally(() => clearTimeout(timer));
  return { code, out };
}
