import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository's root. */
export const root = resolve(__dirname, '..', '..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/ when `built` (a file of it) is missing or older than lib/: the specs that run the
 * package in a child process (the bin, other runtimes, exit checks) use what users get.
 */
export function ensureBuilt(built: string): void {
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource(join(root, 'lib'))) return;
  try {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe', timeout: 120_000 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: Buffer | string; stderr?: Buffer | string };
    throw new Error(`${built} is missing or stale and \`npm run build\` failed:\n${String(stdout)}\n${String(stderr)}`);
  }
}
