import { connect } from '../../../lib/index.js';
import { createFaultProxy, createTestServer } from '../../../lib/testing/index.js';
import { instrumentedWebSocket, now, prng } from '../kit';
import { sleep, waitFor } from '../../helpers/wait';
import { Scope } from '../../helpers/scope';

/**
 * Zombie links: how long the heartbeat takes to find one, and how long close() takes against one.
 *
 * One of the scenarios whose strict figures `npm run reliability` measures in child processes
 * (measure.ts), and which the Jest specs run at CI sizes with generous bounds: one implementation,
 * so CI and docs/reliability.md measure the same thing. Jest-free; it disposes what it created,
 * so a child process running it exits by itself.
 */

export interface ZombieOptions {
  /** Which way the proxy swallows bytes. */
  readonly direction: 'both' | 'up' | 'down';
  readonly runs: number;
  readonly interval: number;
  readonly timeout: number;
  readonly seed: number;
}

export interface ZombieResult {
  /** Milliseconds from blackholing the link to the client's `errors$` entry, one per run. */
  readonly detections: number[];
  /** Names of the `errors$` entries that followed a blackhole, one per run (all `HeartbeatTimeoutError` if right). */
  readonly errors: string[];
  /**
   * `errors$` entries on a link that was not blackholed: false alarms. The latency spec asserts
   * there are none with a round trip of half the timeout; here a stalled CI machine could cause one.
   */
  readonly spurious: string[];
  /** Connections the proxy carried, less those ended by false alarms: one per run, plus the last. */
  readonly connections: number;
  /** Whether `messages$` ended (it must not: a zombie is retried). */
  readonly messagesEnded: boolean;
}

/**
 * A client behind a fault proxy with a fast heartbeat; each run blackholes the link at a random
 * phase of the heartbeat cycle and measures how long the client takes to notice. The link passes
 * again as soon as the client reports it (before its 10 ms retry), so each run starts on a fresh,
 * healthy connection.
 */
export async function zombieDetection(options: ZombieOptions): Promise<ZombieResult> {
  const { direction, runs, interval, timeout, seed } = options;
  const scope = new Scope();
  try {
    const server = scope.add(await createTestServer(), (s) => s.close());
    const proxy = scope.add(await createFaultProxy({ target: server.url }), (p) => p.close());
    const socket = connect(proxy.url, {
      heartbeat: { interval, timeout },
      reconnect: { initialDelay: 10, maxDelay: 10, jitter: false },
    });
    scope.defer(() => socket.close());
    const errors: Array<{ error: Error; at: number }> = [];
    const spurious: string[] = [];
    let silenced = false;
    socket.errors$.subscribe((error) => {
      if (!silenced) return void spurious.push(error.name);
      silenced = false;
      errors.push({ error, at: now() });
      proxy.set('both', { kind: 'pass' });
    });
    let messagesEnded = false;
    socket.messages$.subscribe({ error: () => (messagesEnded = true), complete: () => (messagesEnded = true) });
    const random = prng(seed);
    const detections: number[] = [];
    for (let run = 0; run < runs; run++) {
      await waitFor(() => socket.state.status === 'open', `open before run ${run + 1}`, 10_000);
      await sleep(random() * interval);
      await waitFor(() => socket.state.status === 'open', `still open in run ${run + 1}`, 10_000);
      const seen = errors.length;
      proxy.set(direction, { kind: 'blackhole' });
      silenced = true;
      const silencedAt = now();
      await waitFor(() => errors.length > seen, `detection in run ${run + 1}`, 10 * (interval + timeout) + 5000);
      detections.push((errors[seen] as { at: number }).at - silencedAt);
    }
    await waitFor(() => socket.state.status === 'open', 'open after the last run', 10_000);
    const connections = proxy.links().length - spurious.length;
    return { detections, errors: errors.map(({ error }) => error.name), spurious, connections, messagesEnded };
  } finally {
    await scope.dispose();
  }
}

// ---------------------------------------------------------------------------------------------

export interface CloseZombieOptions {
  readonly runs: number;
  readonly closeTimeout: number;
}

export interface CloseZombieResult {
  /** Milliseconds `close()` took against a blackholed server, one per run. */
  readonly durations: number[];
  /** Whether every socket ended CLOSED (terminated at closeTimeout). */
  readonly allClosed: boolean;
  /** `messages$` completions and errors seen, summed over the runs. */
  readonly completions: number;
  readonly messageErrors: number;
}

/** `close()` against a peer that swallows everything: it must return at `closeTimeout`, by terminating. */
export async function closeAgainstZombie(options: CloseZombieOptions): Promise<CloseZombieResult> {
  const { runs, closeTimeout } = options;
  const scope = new Scope();
  try {
    const server = scope.add(await createTestServer(), (s) => s.close());
    const proxy = scope.add(await createFaultProxy({ target: server.url }), (p) => p.close());
    const durations: number[] = [];
    let allClosed = true;
    let completions = 0;
    let messageErrors = 0;
    for (let run = 0; run < runs; run++) {
      proxy.set('both', { kind: 'pass' });
      const { WebSocket, record } = instrumentedWebSocket();
      const socket = connect(proxy.url, { heartbeat: false, closeTimeout, WebSocket });
      socket.messages$.subscribe({ complete: () => completions++, error: () => messageErrors++ });
      await waitFor(() => socket.state.status === 'open', 'open', 10_000);
      proxy.set('both', { kind: 'blackhole' });
      const start = now();
      await socket.close();
      durations.push(now() - start);
      if (record.instances.some((ws) => ws.readyState !== 3)) allClosed = false;
    }
    return { durations, allClosed, completions, messageErrors };
  } finally {
    await scope.dispose();
  }
}
