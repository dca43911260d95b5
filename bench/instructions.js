'use strict';
// Client CPU per sent message in instruction counts, which a shared VM does not blur the way it
// blurs wall time (the same cell of `npm run bench` varies by up to 2× between runs here; these
// counts repeat within about 0.5%).
//
//   npm run bench:instructions [-- --libs ws,ws-corked,rxwire] [--small 20000] [--large 100000] [--scenario send|send-await]
//
// For each library, bench/client.js's `send` scenario (or `send-await`: `await` on every send) runs twice under
// `valgrind --tool=cachegrind --cache-sim=no`, with `small` and with `large` timed messages (after
// the same warm-up), each against a fresh sink server in its own process (not under valgrind).
// The difference of the two totals divided by the difference of the counts is the marginal cost
// of one more message: start-up, module loading, JIT warm-up and the connection cancel out.
// Needs valgrind (Debian: apt-get install valgrind). Writes bench/results/instructions.json.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, killAll } = require('./proc.js');

const CLIENT = path.join(__dirname, 'client.js');
const RESULTS = path.join(__dirname, 'results');
const KNOWN = ['ws', 'ws-corked', 'rxwire', 'rxjs', 'rws', 'websocket-ts'];
const WARM = 10000;
const BATCH = 500;
const RUN_TIMEOUT_MS = 300000; // valgrind runs node ~30-50× slower

function parseArgs(argv) {
  const opts = { libs: ['ws', 'ws-corked', 'rxwire'], small: 20000, large: 100000, scenario: 'send' };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`Expected a value after ${argv[i]}`);
      return argv[++i];
    };
    if (argv[i] === '--libs') opts.libs = value().split(',').filter(Boolean);
    else if (argv[i] === '--small') opts.small = Number(value());
    else if (argv[i] === '--large') opts.large = Number(value());
    else if (argv[i] === '--scenario') opts.scenario = value();
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  for (const lib of opts.libs) if (!KNOWN.includes(lib)) throw new Error(`unknown library ${lib} (known: ${KNOWN.join(', ')})`);
  if (!['send', 'send-await'].includes(opts.scenario)) throw new Error(`Expected --scenario send or send-await, got ${opts.scenario}`);
  const { small, large } = opts;
  if (!Number.isInteger(small) || !Number.isInteger(large) || small < 1000 || large > 1e6 || large - small < 10000) {
    throw new Error(`Expected integers with 1000 <= --small, --large <= 1000000 and --large - --small >= 10000, got ${small} and ${large}`);
  }
  return opts;
}

/** Total instructions (valgrind's "I refs") of one client process sending `n` messages. */
async function countInstructions(lib, n, scenario) {
  const server = await startServer({ mode: 'sink', n: WARM + n, warm: WARM });
  try {
    const params = { url: `ws://127.0.0.1:${server.port}`, n, warm: WARM, batch: BATCH, deadlineMs: RUN_TIMEOUT_MS - 10000 };
    const args = ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null'];
    args.push(process.execPath, '--expose-gc', CLIENT, scenario, lib, JSON.stringify(params));
    const child = spawn('valgrind', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    const [code, signal] = await new Promise((resolve, reject) => {
      child.once('error', (err) => reject(err.code === 'ENOENT' ? new Error('valgrind not found (Debian: apt-get install valgrind)') : err));
      child.once('exit', (c, s) => resolve([c, s]));
    });
    clearTimeout(timer);
    let result;
    try {
      result = JSON.parse(stdout.trim().split('\n').pop());
    } catch {
      throw new Error(`${lib} n=${n}: client exited (${signal || code}) without a result: ${stderr.slice(-400)}`);
    }
    if (!result.ok) throw new Error(`${lib} n=${n}: ${result.error}`);
    const match = /I\s+refs:\s+([\d,]+)/.exec(stderr);
    if (!match) throw new Error(`${lib} n=${n}: no instruction count in valgrind's output: ${stderr.slice(-400)}`);
    return Number(match[1].replace(/,/g, ''));
  } finally {
    await server.kill();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const rows = [];
  for (const lib of opts.libs) {
    const small = await countInstructions(lib, opts.small, opts.scenario);
    const large = await countInstructions(lib, opts.large, opts.scenario);
    const perMessage = (large - small) / (opts.large - opts.small);
    process.stderr.write(`${lib}: ${Math.round(perMessage).toLocaleString('en')} instructions per message\n`);
    rows.push({ lib, small, large, perMessage });
  }
  const of = (name) => rows.find((r) => r.lib === name);
  const ratio = (row, base) => (base ? `${(row.perMessage / base.perMessage).toFixed(2)}×` : '–');
  const lines = [
    `## Client instructions per sent message, ${opts.scenario === 'send' ? 'send' : '`await` on every send'} (valgrind, ${opts.small.toLocaleString('en')} vs ${opts.large.toLocaleString('en')} messages)`,
    '',
    '| library | instructions / msg | ÷ ws | ÷ ws-corked |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.lib} | ${Math.round(r.perMessage).toLocaleString('en')} | ${ratio(r, of('ws'))} | ${ratio(r, of('ws-corked'))} |`),
    '',
    'Lower is better. The client process only: the server runs outside valgrind.',
  ];
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, 'instructions.json'), JSON.stringify({ warm: WARM, batch: BATCH, ...opts, node: process.version, rows }, null, 2) + '\n');
  process.stdout.write(lines.join('\n') + '\n');
}

process.on('exit', killAll);
main().catch((err) => {
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
});
