import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

/**
 * Runs a scenario of measure.ts in a child process (`node --expose-gc --import tsx`), which must
 * exit by itself: a handle left behind by the library keeps it alive past `within` ms, and the
 * child is then killed and reported as a leak.
 */

export const root = resolve(__dirname, '..', '..');
export const measureScript = join(__dirname, 'measure.ts');

export interface ChildRun<T> {
  readonly result: T;
  readonly code: number | null;
  /** Milliseconds from printing the result to exiting: how long the event loop took to empty. */
  readonly exitAfterResult: number;
  readonly stderr: string;
}

export function runScenario<T>(scenario: string, options: object, within: number): Promise<ChildRun<T>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', measureScript, scenario, JSON.stringify(options)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let resultAt = NaN;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (Number.isNaN(resultAt) && stdout.includes('RESULT ')) resultAt = Date.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`The ${scenario} child did not exit by itself within ${within} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, within);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (line === undefined) return reject(new Error(`The ${scenario} child exited with ${code} and no result\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      resolvePromise({ result: JSON.parse(line.slice('RESULT '.length)) as T, code, exitAfterResult: Date.now() - resultAt, stderr });
    });
  });
}
