import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SEED, SOAK } from './kit';

/**
 * The summary table of the reliability suite. Each scenario reports the figure it measured and
 * the bound it asserted; each spec file prints its rows after its tests, and the last reliability
 * file of the run to finish prints the whole table. Files of one Jest run find each other through
 * a file in the temp directory named after the Jest process; `RXWIRE_FIGURES_FILE` (set by
 * `scripts/reliability.js`) collects the rows elsewhere.
 */

export interface FigureRow {
  /** The spec file, without `.spec.ts`. */
  readonly file: string;
  readonly scenario: string;
  /** What was measured, with units. */
  readonly measured: string;
  /** What the spec asserted about it. */
  readonly asserted: string;
}

const rows: FigureRow[] = [];
let file = '';

/** In a Jest worker the run is the parent process; in band, this process. */
const runId = /jest-worker/.test(process.argv[1] ?? '') ? process.ppid : process.pid;
const dir = join(tmpdir(), 'rxwire-reliability');
const runFile = join(dir, `run-${runId}.jsonl`);

function currentFile(): string {
  const path = expect.getState().testPath ?? '';
  return basename(path).replace(/\.spec\.ts$/, '');
}

/** Records one row of the summary table. */
export function figure(scenario: string, measured: string, asserted: string): void {
  file ||= currentFile();
  const row: FigureRow = { file, scenario, measured, asserted };
  rows.push(row);
  const line = `${JSON.stringify(row)}\n`;
  const target = process.env.RXWIRE_FIGURES_FILE;
  if (target) appendFileSync(target, line);
  appendFileSync(runFile, line);
}

export function table(of: readonly FigureRow[]): string {
  const escape = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| scenario | measured | asserted |', '|---|---|---|'];
  for (const row of of) lines.push(`| ${escape(`${row.file}: ${row.scenario}`)} | ${escape(row.measured)} | ${escape(row.asserted)} |`);
  return lines.join('\n');
}

function header(): string {
  const seed = `0x${SEED.toString(16)}`;
  return `rxwire reliability — seed ${seed} (RXWIRE_SEED=${SEED} replays it), ${SOAK ? 'soak sizes (RXWIRE_SOAK=1)' : 'CI sizes (RXWIRE_SOAK=1 for the soak sizes)'}`;
}

beforeAll(() => {
  mkdirSync(dir, { recursive: true });
  // Files of runs older than a day are leftovers.
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > 86_400_000) rmSync(path, { force: true });
    } catch {
      // another run removed it
    }
  }
});

afterAll(() => {
  file ||= currentFile();
  appendFileSync(runFile, `${JSON.stringify({ file, done: true })}\n`);
  if (rows.length > 0) process.stderr.write(`\n${header()}\n${table(rows)}\n`);

  const expected = readdirSync(__dirname).filter((name) => name.endsWith('.spec.ts')).map((name) => name.replace(/\.spec\.ts$/, ''));
  const entries = readFileSync(runFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as FigureRow & { done?: true });
  const done = new Set(entries.filter((e) => e.done).map((e) => e.file));
  if (!expected.every((name) => done.has(name))) return;
  const all = entries.filter((e) => !e.done).sort((a, b) => a.file.localeCompare(b.file));
  process.stderr.write(`\n== reliability summary ==\n${header()}\n${table(all)}\n`);
  rmSync(runFile, { force: true });
});
