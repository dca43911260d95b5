'use strict';
// npm run bench [-- --quick] [--reps K] [--only send,rtt] [--libs ws,rxwire]
//
// Compares raw ws, corked raw ws, rxwire, rxjs webSocket, reconnecting-websocket and websocket-ts
// over eight loopback scenarios; servers (raw ws, rxwire, socket.io) in three server-side ones;
// and what resumable sessions cost (plain rxwire against session volatile and reliable) in two. Each measurement runs in a fresh client process against a fresh
// server process; repetitions go round-robin over the libraries. Writes bench/results/latest.md,
// latest.json and send-throughput.svg, and prints the markdown. Progress goes to stderr.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { SCENARIOS } = require('./scenarios.js');
const { LIBS, loadRxwire, loadRxwireServer, RXWIRE_PATH } = require('./adapters.js');
const { SERVER_LIBS } = require('./server-scenarios.js');
const { SESSION_LIBS } = require('./session-scenarios.js');

const KNOWN_LIBS = [...new Set([...LIBS, ...SERVER_LIBS, ...SESSION_LIBS])];
const { killAll } = require('./proc.js');
const { summarizeScenario, markdown, sendChart } = require('./report.js');

const RESULTS = path.join(__dirname, 'results');

const USAGE = `usage: node bench/run.js [--quick] [--reps K] [--only ${SCENARIOS.map((s) => s.name).join(',')}] [--libs ${KNOWN_LIBS.join(',')}]
  --quick     small sizes, 1 repetition (send: 3) unless --reps is given: a sanity run
  --reps K    repetitions per library and scenario (default 5; see --quick)
  --only      scenarios to run (comma-separated)
  --libs      libraries to run (comma-separated; ws is the baseline of the ratios, plain rxwire
              that of the session scenarios' variants)`;

function parseArgs(argv) {
  const opts = { quick: false, reps: null, only: null, libs: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--reps') opts.reps = Number(value());
    else if (arg === '--only') opts.only = value().split(',').filter(Boolean);
    else if (arg === '--libs') opts.libs = value().split(',').filter(Boolean);
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  if (opts.reps !== null && (!Number.isInteger(opts.reps) || opts.reps < 1 || opts.reps > 50)) {
    throw new Error(`Expected --reps to be an integer in 1..50, got ${opts.reps}`);
  }
  const names = SCENARIOS.map((s) => s.name);
  for (const s of opts.only || []) if (!names.includes(s)) throw new Error(`unknown scenario ${s} (known: ${names.join(', ')})`);
  for (const l of opts.libs || []) if (!KNOWN_LIBS.includes(l)) throw new Error(`unknown library ${l} (known: ${KNOWN_LIBS.join(', ')})`);
  return opts;
}

function version(pkg) {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    return 'missing';
  }
}

function machineInfo() {
  const cpus = os.cpus();
  let rev = 'unknown';
  try {
    rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: leave unknown
  }
  const dist = RXWIRE_PATH;
  const distTime = fs.existsSync(dist) ? fs.statSync(dist).mtime.toISOString() : 'not built';
  return {
    date: new Date().toISOString(),
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadStart: os.loadavg()[0].toFixed(2),
    loadEnd: null,
    versions: {
      rxwire: `${require('../package.json').version} (git ${rev}, ${path.relative(path.join(__dirname, '..'), dist)} ${distTime})`,
      ws: version('ws'),
      rxjs: version('rxjs'),
      'reconnecting-websocket': version('reconnecting-websocket'),
      'websocket-ts': version('websocket-ts'),
      'socket.io': version('socket.io'),
      'socket.io-client': version('socket.io-client'),
      '@socket.io/redis-adapter': version('@socket.io/redis-adapter'),
      redis: version('redis'),
      'redis-server': redisServerVersion(),
    },
  };
}

/** `redis-server --version`'s version (the cluster scenarios start one), or 'missing'. */
function redisServerVersion() {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))[1];
  } catch {
    return 'missing';
  }
}

/** Write-then-rename, so an interrupted run never leaves a half-written result (*.tmp is ignored). */
function writeAtomic(name, text) {
  const file = path.join(RESULTS, name);
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

function progressLine(scenario, res, secs) {
  if (!res.ok) return `FAILED: ${res.error}`;
  const m = scenario.metrics[0];
  const v = res[m.key];
  const shown = typeof v === 'number' ? v.toLocaleString('en', { maximumFractionDigits: m.digits }) : String(v);
  return `${shown} ${m.label} (${secs.toFixed(1)} s)`;
}

/**
 * Repetitions of `scenario`: `--reps` if given; else 5, or with --quick the scenario's
 * `quickReps` (1 unless set: send takes 3, because one short run on a shared VM can land anywhere
 * between 1.2× and 2.3× raw ws, and issue 3 checks its target with --quick).
 */
function repsFor(scenario, opts) {
  if (opts.reps !== null) return opts.reps;
  return opts.quick ? (scenario.quickReps ?? 1) : 5;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const machine = machineInfo();
  const selected = SCENARIOS.filter((s) => !opts.only || opts.only.includes(s.name));
  for (const s of selected) if (s.check) s.check(); // settings from the environment, before anything runs
  // The client scenarios need rxwire's connect(), the server-side ones its rxwire/server listen().
  const errorOf = (mod) => (mod instanceof Error ? mod.message : null);
  const rxwireErrors = { client: errorOf(loadRxwire()), server: errorOf(loadRxwireServer()) };
  for (const e of new Set(Object.values(rxwireErrors))) if (e) process.stderr.write(`note: ${e}; rxwire rows will show it\n`);

  const sections = [];
  const libsUsed = new Set();
  for (const scenario of selected) {
    const params = opts.quick ? scenario.quick : scenario.full;
    const reps = repsFor(scenario, opts);
    const libs = scenario.libs.filter((l) => !opts.libs || opts.libs.includes(l));
    if (libs.length === 0) continue;
    const byLib = Object.fromEntries(libs.map((l) => [l, []]));
    // Session scenarios run rxwire at both ends, in every row.
    const rxwireError =
      scenario.side === 'session' ? rxwireErrors.client || rxwireErrors.server : rxwireErrors[scenario.side === 'server' ? 'server' : 'client'];
    for (let rep = 0; rep < reps; rep++) {
      // Rotate the start so no library always runs first (cold machine) or last.
      const order = libs.map((_, i) => libs[(i + rep) % libs.length]);
      for (const lib of order) {
        // Server-side and session scenarios print their own notes; this list is the client libraries'.
        if (!scenario.side) libsUsed.add(lib);
        const label = `[${scenario.name} ${rep + 1}/${reps}] ${lib}`;
        if ((lib === 'rxwire' || scenario.side === 'session') && rxwireError) {
          byLib[lib].push({ ok: false, error: rxwireError });
          process.stderr.write(`${label}: skipped (${rxwireError})\n`);
          continue;
        }
        const t0 = Date.now();
        let res;
        try {
          res = await scenario.run(lib, params, scenario.timeoutMs);
        } catch (err) {
          res = { ok: false, error: err.message };
        }
        byLib[lib].push(res);
        process.stderr.write(`${label}: ${progressLine(scenario, res, (Date.now() - t0) / 1000)}\n`);
      }
    }
    sections.push({ scenario, params, reps, rows: summarizeScenario(scenario, byLib) });
  }

  machine.loadEnd = os.loadavg()[0].toFixed(2);
  const ordered = LIBS.filter((l) => libsUsed.has(l));
  const md = markdown({ machine, options: opts, sections, libsUsed: ordered });
  fs.mkdirSync(RESULTS, { recursive: true });
  writeAtomic('latest.md', md);
  const json = {
    machine,
    options: opts,
    scenarios: Object.fromEntries(
      sections.map((s) => [
        s.scenario.name,
        {
          title: s.scenario.title,
          params: s.params,
          reps: s.reps,
          primary: s.scenario.primary,
          libraries: Object.fromEntries(
            Object.entries(s.rows).map(([lib, row]) => [lib, { summary: row.metrics, ratioToWs: row.ratio, runs: row.runs }]),
          ),
          // ratioToWs divides by this row (session scenarios: plain rxwire).
          baseline: s.scenario.baseline || 'ws',
        },
      ]),
    ),
  };
  writeAtomic('latest.json', JSON.stringify(json, null, 2) + '\n');
  const send = sections.find((s) => s.scenario.name === 'send');
  if (send) writeAtomic('send-throughput.svg', sendChart(send.rows, machine, { ...opts, reps: send.reps }));
  process.stdout.write(md);
  process.stderr.write(`\nwrote ${path.relative(process.cwd(), RESULTS)}/latest.md, latest.json${send ? ', send-throughput.svg' : ''}\n`);
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

main().catch((err) => {
  process.stderr.write(`${err.message}\n${err.message.startsWith('unknown') || err.message.startsWith('Expected') ? USAGE + '\n' : ''}`);
  process.exitCode = 1;
});
