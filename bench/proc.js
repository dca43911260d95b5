'use strict';
// Child processes for run.js: servers and one-shot clients, each with a hard timeout that kills
// it (SIGKILL) and turns the measurement into a failed row. Every child is tracked so that an
// interrupted run leaves nothing behind.

const { fork, spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const SERVER = path.join(__dirname, 'server.js');
const CLIENT = path.join(__dirname, 'client.js');

const live = new Set();

function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILL every child still running (on exit or interrupt of the orchestrator). */
function killAll() {
  for (const child of live) child.kill('SIGKILL');
}

function killAndWait(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const tail = (text, max = 400) => (text.length > max ? '…' + text.slice(-max) : text).trim();

/** A loopback port that nothing listens on (just released by the kernel). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts bench/server.js (or `script`, which speaks the same IPC) with `config`; resolves once it
 * listens, with `{ port, at, child, waitFor(type, ms), report(), kill() }`. Rejects if it does not
 * listen within `timeoutMs`.
 * With `config.deferListen` it resolves once the process is ready, and `listen()` (resolving with
 * the 'listening' message, or rejecting after `timeoutMs`) makes it listen.
 */
function startServer(config, { timeoutMs = 10000, script = SERVER } = {}) {
  const child = track(
    fork(script, [JSON.stringify({ lifetimeMs: 300000, ...config })], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    }),
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  let lastError = null;
  child.on('message', (msg) => {
    if (msg && msg.type === 'error') lastError = msg.message;
  });
  // Resolves with the first message of `type`, or null after `ms` or when the server exits.
  const waitFor = (type, ms) =>
    new Promise((resolve) => {
      const done = (value) => {
        clearTimeout(timer);
        child.off('message', onMsg);
        child.off('exit', onExit);
        resolve(value);
      };
      const timer = setTimeout(() => done(null), ms);
      const onMsg = (msg) => msg && msg.type === type && done(msg);
      const onExit = () => done(null);
      child.on('message', onMsg);
      child.once('exit', onExit);
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killAndWait(child);
      reject(new Error(`server did not listen within ${timeoutMs} ms`));
    }, timeoutMs);
    const handle = (msg) => ({
      port: msg.port,
      at: msg.at,
      child,
      waitFor,
      listen: async () => {
        const listening = waitFor('listening', timeoutMs);
        child.send({ cmd: 'listen' });
        const reply = await listening;
        if (!reply) throw new Error(lastError || `server did not listen within ${timeoutMs} ms`);
        return reply;
      },
      report: () => {
        const reply = waitFor('report', 5000);
        child.send({ cmd: 'report' });
        return reply;
      },
      kill: () => killAndWait(child),
    });
    child.on('message', (msg) => {
      if (msg.type === 'listening' || (msg.type === 'ready' && config.deferListen)) {
        clearTimeout(timer);
        resolve(handle(msg));
      } else if (msg.type === 'error') {
        clearTimeout(timer);
        killAndWait(child);
        reject(new Error(msg.message));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${signal || code}) ${tail(stderr)}`));
    });
  });
}

/**
 * Forks `script` with an IPC channel (server-side scenarios: the server under test and its
 * receivers), tracked like every child; `stderrTail()` gives the end of what it wrote to stderr.
 */
function spawnTracked(script, args, execArgv = []) {
  const child = track(fork(script, args, { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }));
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  child.stderrTail = () => tail(stderr);
  return child;
}

/**
 * Runs `client.js <scenario> <lib> <params>` (or `script`, which prints the same one JSON line)
 * with --expose-gc and resolves with its JSON line,
 * or `{ ok: false, error }` on timeout (after SIGKILL), crash, or missing output. `onMessage`
 * receives the client's IPC messages with the child, for coordinated scenarios.
 */
function runClient(scenario, lib, params, { timeoutMs, onMessage, script = CLIENT } = {}) {
  const child = track(
    fork(script, [scenario, lib, JSON.stringify(params)], {
      // BENCH_CLIENT_FLAGS: more node flags for the measured client (e.g. `--cpu-prof`).
      execArgv: ['--expose-gc', ...(process.env.BENCH_CLIENT_FLAGS || '').split(' ').filter(Boolean)],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  if (onMessage) child.on('message', (msg) => onMessage(msg, child));
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ ok: false, error: `killed after hard timeout ${timeoutMs} ms` });
      const line = stdout.trim().split('\n').pop();
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ ok: false, error: `client exited (${signal || code}) without a result ${tail(stderr)}` });
      }
    });
  });
}

/**
 * A `redis-server` of the bench's own on a free loopback port, without persistence, tracked like
 * every child; resolves with `{ url, child, kill() }` once it accepts connections. Rejects (after
 * killing it) if it is not ready within `timeoutMs` or cannot start (not installed: Debian's
 * package is `redis-server`).
 */
async function startRedis({ timeoutMs = 5000 } = {}) {
  const port = await freePort();
  const child = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  const handle = { url: `redis://127.0.0.1:${port}`, child, kill: () => killAndWait(child) };
  await new Promise((resolve, reject) => {
    const failed = (message) => {
      clearTimeout(timer);
      killAndWait(child).then(() => reject(new Error(message)));
    };
    const timer = setTimeout(() => failed(`redis-server not ready within ${timeoutMs} ms: ${tail(out)}`), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out = (out + chunk).slice(-4000);
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => (out = (out + chunk).slice(-4000)));
    child.once('error', (err) => failed(`cannot start redis-server (${err.code || err.message}; Debian: apt-get install redis-server)`));
    child.once('exit', (code, signal) => failed(`redis-server exited (${signal || code}): ${tail(out)}`));
  });
  return handle;
}

module.exports = { startServer, runClient, spawnTracked, startRedis, freePort, killAll, killAndWait, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
