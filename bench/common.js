'use strict';
// What the server, the client and the orchestrator must agree on: message shape, clock, and the
// one backoff schedule every library is configured with.

const { performance } = require('node:perf_hooks');

/** Milliseconds since the epoch with sub-ms resolution; comparable across processes on one host. */
function wallClock() {
  return performance.timeOrigin + performance.now();
}

// `{"seq":123456,"pad":"xxx…"}` is 64 bytes for a six-digit seq; shorter seqs give 59–63 bytes.
const PAD = 'x'.repeat(41);

/** The ~64-byte message as an object (what a client hands to its library). */
function message(seq) {
  return { seq, pad: PAD };
}

/** The same message as the JSON text the server writes (identical to JSON.stringify(message)). */
function pad64(seq) {
  return '{"seq":' + seq + ',"pad":"' + PAD + '"}';
}

/**
 * The reconnect schedule given to every library: first retry after 100 ms, doubling, capped at
 * 1000 ms, no jitter, the attempt counter reset once a connection has lived 100 ms.
 */
const BACKOFF = Object.freeze({ initialDelay: 100, maxDelay: 1000, factor: 2, resetAfter: 100 });

/** Delay before retry `retry` (1 = first retry) under BACKOFF. */
function backoffDelay(retry) {
  const { initialDelay, maxDelay, factor } = BACKOFF;
  return Math.min(maxDelay, initialDelay * Math.pow(factor, Math.max(0, retry - 1)));
}

/**
 * A measurement's child process: `emit` prints its one JSON result line and exits; `fail` emits
 * `{ ok: false, error }`, as do an uncaught error and the deadline; a lost parent ends it.
 */
function measurementProcess(deadlineMs) {
  let emitted = false;
  const emit = (result, code = 0) => {
    if (emitted) return;
    emitted = true;
    process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(code));
  };
  const fail = (err) => emit({ ok: false, error: String((err && err.message) || err) }, 1);
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => fail(`client deadline ${deadlineMs} ms`), deadlineMs || 60000);
  return { emit, fail };
}

module.exports = { wallClock, message, pad64, PAD, BACKOFF, backoffDelay, measurementProcess };
