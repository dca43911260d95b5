import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { exportsOf, extractMarkdown, RUN_MARKER, sources, typeCheck, type MarkdownExample } from '../../scripts/check-examples.js';
import { onDispose } from '../helpers/dispose.js';
import { runExample } from '../helpers/run-example.js';
import '../helpers/tripwires.js';

// Keeps the README's examples honest. Every ```ts block must type-check against the package's own
// types (lib/, with the placeholders scripts/check-examples.js declares for README.md: `url`,
// `socket`, `In`, `Out`). A block with `<!-- readme-run -->` on the line directly above its fence
// is also run: its ws:// or wss:// URLs are replaced by a local feed server's, it is written to
// .scratch/ as an ES module ('rxwire' resolving to lib/) and run with `node --import tsx`; it must
// exit by itself, with code 0, within RUN_WITHIN ms.

const root = join(__dirname, '..', '..');
const README = join(root, 'README.md');
const RUN_WITHIN = 10_000;

/**
 * Runnable blocks known not to pass yet, matched by their code: `{ match: /await socket\.send/,
 * why: 'hangs: ...' }`. Each is still run, as `test.failing`: it must fail, so its entry has to
 * go once the cause is fixed. None at present: the main example's `messages$` subscription holds
 * the connection from the start, so `await send()` and `for await` share it even with the default
 * lazyCloseTimeout of 0.
 */
const KNOWN_FAILURES: ReadonlyArray<{ match: RegExp; why: string }> = [];

const blocks = extractMarkdown(README);
const runnable = blocks.filter((block) => block.run);

/**
 * The feed the README's examples talk to: `{ type: 'subscribe', symbol }` starts a stream of
 * `{ type: 'price', symbol, price }` on that connection, one every 10 ms, rising by 250 from
 * 99,000 (past 100,000 within a few messages), until the connection closes.
 */
async function feedServer(): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('error', () => {});
  wss.on('connection', (ws: WebSocket) => {
    ws.on('error', () => {});
    const streams: NodeJS.Timeout[] = [];
    ws.on('close', () => streams.forEach(clearInterval));
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type?: unknown; symbol?: unknown };
      if (msg.type !== 'subscribe' || typeof msg.symbol !== 'string') return;
      const symbol = msg.symbol;
      let price = 99_000;
      streams.push(
        setInterval(() => {
          price += 250;
          ws.send(JSON.stringify({ type: 'price', symbol, price }));
        }, 10),
      );
    });
  });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  onDispose(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  const { port } = wss.address() as { port: number };
  return `ws://127.0.0.1:${port}/feed`;
}

/** The block as a runnable ES module: local URL, 'rxwire' from lib/. Returns its path from root. */
function writeRunnable(block: MarkdownExample, url: string): string {
  const scratch = join(root, '.scratch');
  mkdirSync(scratch, { recursive: true });
  const dir = mkdtempSync(join(scratch, 'readme-run-'));
  onDispose(() => rmSync(dir, { recursive: true, force: true }));
  const lib = relative(dir, join(root, 'lib')).split('\\').join('/');
  const code = block.code
    .replace(/(['"`])wss?:\/\/[^'"`\s]*\1/g, JSON.stringify(url))
    .replace(/from (['"])rxwire\/testing\1/g, `from '${lib}/testing/index.ts'`)
    .replace(/from (['"])rxwire\1/g, `from '${lib}/index.ts'`);
  // .mts: the package is CommonJS, and README examples use top-level await.
  const file = join(dir, `readme-line-${block.line}.mts`);
  writeFileSync(file, `${code}\nexport {};\n`);
  return relative(root, file);
}

test(`README.md has ${RUN_MARKER} blocks to run`, () => {
  expect(runnable.length).toBeGreaterThan(0);
});

test('every ```ts block of README.md type-checks against the package types', () => {
  const errors = typeCheck(blocks, exportsOf(sources(join(root, 'lib'))));
  expect(errors).toEqual([]);
}, 60_000);

describe(`README.md blocks marked ${RUN_MARKER} run against a local feed and exit 0 by themselves`, () => {
  for (const block of runnable) {
    const known = KNOWN_FAILURES.find((failure) => failure.match.test(block.code));
    const name = `README.md:${block.line}${known ? ` (known failure: ${known.why})` : ''}`;
    (known ? test.failing : test)(
      name,
      async () => {
        const { code, out } = await runExample(writeRunnable(block, await feedServer()), RUN_WITHIN);
        expect({ code, out }).toEqual({ code: 0, out: expect.any(String) });
      },
      RUN_WITHIN + 5_000,
    );
  }
});
