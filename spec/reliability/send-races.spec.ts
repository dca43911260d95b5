import '../helpers/tripwires';
import { connect, MessageDroppedError, type RxSocket } from '../../lib/index.js';
import { createFaultProxy, createTestServer, type FaultProxy } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { prng, SEED, sized } from './kit';
import { sleep, waitFor } from '../helpers/wait';
import { Scope } from '../helpers/scope';

// send() in every racy state, many times over: while idle (the send opens the connection, and
// the state$ observer that sees 'connecting' sends again, inside the first send), inside every
// observer of every stream, in the same tick as a reset and the turns after it, during the backoff
// wait, in the same tick as close() and inside the observers close() runs, and after close.
// Whatever the arguments: 0 synchronous throws, every call settles, and from the moment close()
// is called every call rejects with 'closed'.

const CALLS = sized(10_000, 100_000);
const BURST = 40;

type Kind = 'good' | 'undefined' | 'bigint' | 'negative timeout' | 'zero timeout';

interface Stats {
  calls: number;
  syncThrows: number;
  settled: number;
  written: number;
  /** Rejections with a MessageDroppedError, by reason, of calls made while dropped$ was open. */
  readonly dropRejections: Map<string, number>;
  /** Entries of dropped$ by reason, counted on their own path. */
  readonly dropReports: Map<string, number>;
  readonly byState: Map<string, number>;
  readonly violations: string[];
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

async function episode(proxy: FaultProxy, stats: Stats, random: () => number): Promise<void> {
  const socket: RxSocket<unknown, unknown> = connect(proxy.url, {
    heartbeat: false,
    reconnect: { initialDelay: 5, maxDelay: 20 },
    buffer: { size: 200, timeout: 300 },
    closeTimeout: 100,
  });
  let closeCalled = false;
  let droppedOpen = true;

  const kinds: Kind[] = ['good', 'good', 'good', 'good', 'good', 'good', 'undefined', 'bigint', 'negative timeout', 'zero timeout'];
  const call = (state: string): void => {
    const afterClose = closeCalled;
    const reportable = droppedOpen;
    const kind = kinds[Math.floor(random() * kinds.length)] as Kind;
    stats.calls++;
    stats.byState.set(state, (stats.byState.get(state) ?? 0) + 1);
    let promise: Promise<void>;
    try {
      if (kind === 'undefined') promise = socket.send(undefined);
      else if (kind === 'bigint') promise = socket.send({ big: 1n });
      else if (kind === 'negative timeout') promise = socket.send({ state }, { timeout: -1 });
      else if (kind === 'zero timeout') promise = socket.send({ state }, { timeout: 0 });
      else promise = socket.send({ state });
    } catch (error) {
      stats.syncThrows++;
      stats.violations.push(`${state} (${kind}): threw ${String(error)}`);
      return;
    }
    promise.then(
      () => {
        stats.settled++;
        stats.written++;
        if (afterClose || (kind !== 'good' && kind !== 'zero timeout')) stats.violations.push(`${state} (${kind}): resolved`);
      },
      (error: unknown) => {
        stats.settled++;
        const drop = error instanceof MessageDroppedError ? error.reason : undefined;
        if (drop !== undefined && reportable) increment(stats.dropRejections, drop);
        if (afterClose) {
          if (drop !== 'closed') stats.violations.push(`${state} (${kind}) after close(): rejected with ${String(error)}`);
        } else if (kind === 'good' || kind === 'zero timeout') {
          if (drop === undefined) stats.violations.push(`${state} (${kind}): rejected with ${String(error)}`);
        } else if (!(error instanceof TypeError || error instanceof RangeError)) {
          stats.violations.push(`${state} (${kind}): rejected with ${String(error)}`);
        }
      },
    );
  };
  const burst = (state: string, n = BURST): void => {
    for (let i = 0; i < n; i++) call(state);
  };

  let opens = 0;
  socket.state$.subscribe({
    next: ({ status }) => {
      if (status === 'open') opens++;
      if (status === 'open' && opens > 1) return;
      burst(`in a state$ observer at '${status}'`, 10);
    },
    complete: () => burst('in state$ complete', 10),
  });
  socket.errors$.subscribe({ next: () => burst('in an errors$ observer', 10), complete: () => burst('in errors$ complete', 10) });
  let reentrant = 0;
  socket.dropped$.subscribe({
    next: ({ reason }) => {
      increment(stats.dropReports, reason);
      if (reentrant++ < 50) call('in a dropped$ observer');
    },
    complete: () => {
      droppedOpen = false;
      burst('in dropped$ complete', 10);
    },
  });

  burst('idle (the first send opens the connection)');
  let hello = 0;
  socket.messages$.subscribe({
    next: () => void (hello++ === 0 && burst('in a messages$ observer', 10)),
    complete: () => burst('in messages$ complete', 10),
    error: (error: unknown) => stats.violations.push(`messages$ errored: ${String(error)}`),
  });
  burst('connecting');
  await waitFor(() => socket.state.status === 'open', 'open');
  burst('open');
  await waitFor(() => hello > 0, 'the hello message');

  // A reset: sends in the same tick, in a microtask, on the next turns, while the client finds out.
  proxy.reset('rst');
  burst('racing a reset (same tick)');
  queueMicrotask(() => burst('racing a reset (microtask)'));
  setImmediate(() => burst('racing a reset (next turn)'));
  setTimeout(() => burst('racing a reset (1 ms later)'), 1);
  await waitFor(() => opens >= 2, 'open again after the reset');

  // The backoff wait: connections refused for a while.
  proxy.accept('refuse');
  proxy.reset('rst');
  await waitFor(() => socket.state.status === 'reconnecting', 'reconnecting');
  burst('during the backoff wait');
  await sleep(3);
  burst('during the backoff wait');
  proxy.accept('pass');
  await waitFor(() => opens >= 3, 'open again after the refusals');

  burst('open, writing', 100);
  closeCalled = true;
  const closing = socket.close();
  burst('closing (same tick as close())');
  queueMicrotask(() => burst('closing (microtask)'));
  await closing;
  burst('after close');
}

test(`${CALLS.toLocaleString('en')} send() calls in racy states: 0 synchronous throws, every call settles`, async () => {
  const scope = new Scope();
  onDispose(() => scope.dispose());
  const server = scope.add(await createTestServer(), (s) => s.close());
  const proxy = scope.add(await createFaultProxy({ target: server.url }), (p) => p.close());
  void (async () => {
    for (;;) {
      const ws = await server.waitForConnection().catch(() => undefined);
      if (!ws) return;
      ws.send(JSON.stringify({ hello: true }));
    }
  })();

  const stats: Stats = { calls: 0, syncThrows: 0, settled: 0, written: 0, dropRejections: new Map(), dropReports: new Map(), byState: new Map(), violations: [] };
  const random = prng(SEED);
  let episodes = 0;
  while (stats.calls < CALLS) {
    await episode(proxy, stats, random);
    episodes++;
  }
  await waitFor(() => stats.settled === stats.calls, `${stats.calls} calls to settle (${stats.settled} so far)`, 10_000);

  figure(
    `send() in ${stats.byState.size} racy states, ${episodes} clients`,
    `${stats.settled}/${stats.calls} settled (${stats.written} written), ${stats.syncThrows} synchronous throws, ${stats.violations.length} wrong outcomes`,
    `all settle, 0 throws; from close() on, every call rejects 'closed'`,
  );
  expect(stats.syncThrows).toBe(0);
  expect(stats.violations.slice(0, 20)).toEqual([]);
  expect(stats.settled).toBe(stats.calls);
  // Every drop a call saw was reported on dropped$ with the same reason, and no other was: both
  // counted on their own paths, by reason (calls made once dropped$ had completed cannot be).
  expect(Object.fromEntries(stats.dropReports)).toEqual(Object.fromEntries(stats.dropRejections));
  expect(stats.dropReports.get('closed')).toBeGreaterThan(0);
  expect(stats.dropReports.get('timeout')).toBeGreaterThan(0);
  // Every state was visited in every episode.
  for (const [state, count] of stats.byState) expect({ state, visited: count >= episodes }).toEqual({ state, visited: true });
}, 120_000);
