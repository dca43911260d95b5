import { connect } from '../../../lib/index.js';
import { activeResources, now, settledGrowth, type Counts } from '../kit';
import { sleep, waitFor } from '../../helpers/wait';
import { Scope } from '../../helpers/scope';
import { gatedServer } from '../../helpers/gated-server';

/**
 * A reconnect storm: many clients, one server that goes down and comes back.
 *
 * One of the scenarios whose strict figures `npm run reliability` measures in child processes
 * (measure.ts), and which the Jest specs run at CI sizes with generous bounds: one implementation,
 * so CI and docs/reliability.md measure the same thing. Jest-free; it disposes what it created,
 * so a child process running it exits by itself.
 */

export interface StormOptions {
  readonly clients: number;
  /** How long the server stays down. */
  readonly downMs: number;
}

export interface Spread {
  /** Width of the window the times fall in, in ms. */
  readonly windowMs: number;
  readonly buckets: number;
  /** Clients in the busiest 10 ms bucket. */
  readonly busiest: number;
  /** Clients per bucket on average over the window. */
  readonly mean: number;
}

export interface StormResult {
  readonly clients: number;
  /** Milliseconds for every client to open at the start. */
  readonly firstOpenMs: number;
  /** Milliseconds from the server's going down until every client had noticed. */
  readonly detectMs: number;
  /** When the first retries were scheduled to run (detection time + the jittered delay). */
  readonly scheduled: Spread;
  /** When the first retries actually started (the URL function is called at each attempt). */
  readonly actual: Spread;
  /** The first retry delays drawn, all in [0, 100) if right. */
  readonly delays: { min: number; max: number };
  /** Attempts made while the server was down, in all. */
  readonly attemptsWhileDown: number;
  /** Milliseconds from the server's return until every client was open again. */
  readonly reopenMs: number;
  /** `messages$` that ended (none should: every drop is retried). */
  readonly messagesEnded: number;
  /** Handles left after every client closed and the server was disposed, by type. */
  readonly handlesLeft: Counts;
}

/** Groups `times` into 10 ms buckets over the window they span. */
export function spread(times: readonly number[], bucketMs = 10): Spread {
  const min = Math.min(...times);
  const max = Math.max(...times);
  const buckets = Math.max(1, Math.ceil((max - min) / bucketMs));
  const counts = new Array<number>(buckets).fill(0);
  for (const t of times) {
    const bucket = Math.min(buckets - 1, Math.floor((t - min) / bucketMs));
    counts[bucket] = (counts[bucket] as number) + 1;
  }
  return { windowMs: max - min, buckets, busiest: Math.max(...counts), mean: times.length / buckets };
}

/**
 * `clients` clients on one server with `reconnect: { initialDelay: 100, maxDelay: 1000 }`; the
 * server goes down (every connection reset, new ones refused) for `downMs` and comes back.
 */
export async function reconnectStorm(options: StormOptions): Promise<StormResult> {
  const { clients, downMs } = options;
  const baseline = activeResources();
  const scope = new Scope();
  let result: Omit<StormResult, 'handlesLeft'>;
  try {
    const gated = await gatedServer(scope);
    let phase: 'up' | 'down' | 'back' = 'up';
    const firstScheduled: number[] = [];
    const firstDelay: number[] = [];
    const firstActual: number[] = [];
    const detectedAt: number[] = [];
    const openAt: number[] = [];
    let attemptsWhileDown = 0;
    let opened = 0;
    let messagesEnded = 0;
    const sockets = Array.from({ length: clients }, (_, i) => {
      const socket = connect(
        () => {
          if (phase === 'down') attemptsWhileDown++;
          if (phase !== 'up' && firstActual[i] === undefined) firstActual[i] = now();
          return gated.url;
        },
        {
          reconnect: {
            initialDelay: 100,
            maxDelay: 1000,
            // Drawn when a retry is scheduled; the first retry's delay is random() * 100.
            random: () => {
              const r = Math.random();
              if (phase !== 'up' && firstScheduled[i] === undefined) {
                firstDelay[i] = r * 100;
                firstScheduled[i] = now() + r * 100;
              }
              return r;
            },
          },
        },
      );
      socket.errors$.subscribe(() => void (phase !== 'up' && detectedAt[i] === undefined && (detectedAt[i] = now())));
      socket.state$.subscribe((state) => {
        if (state.status !== 'open') return;
        opened++;
        openAt[i] = now();
      });
      socket.messages$.subscribe({ error: () => messagesEnded++, complete: () => messagesEnded++ });
      return socket;
    });
    scope.defer(() => Promise.all(sockets.map((socket) => socket.close())));

    const start = now();
    await waitFor(() => opened === clients, `${clients} clients open`, 60_000);
    const firstOpenMs = now() - start;

    phase = 'down';
    const downAt = now();
    gated.stop('rst');
    await waitFor(() => firstScheduled.filter(Boolean).length === clients, 'every client to schedule its first retry', 30_000);
    const detectMs = Math.max(...detectedAt) - downAt;
    await sleep(Math.max(0, downAt + downMs - now()));

    opened = 0;
    phase = 'back';
    const upAt = now();
    gated.restart();
    await waitFor(() => opened === clients, `${clients} clients open again`, 60_000).catch((error: Error) => {
      const states = new Map<string, number>();
      for (const socket of sockets) states.set(socket.state.status, (states.get(socket.state.status) ?? 0) + 1);
      throw new Error(`${error.message} (${opened} open again; states now ${JSON.stringify(Object.fromEntries(states))})`);
    });
    const reopenMs = Math.max(...openAt) - upAt;

    result = {
      clients,
      firstOpenMs,
      detectMs,
      scheduled: spread(firstScheduled),
      actual: spread(firstActual),
      delays: { min: Math.min(...firstDelay), max: Math.max(...firstDelay) },
      attemptsWhileDown,
      reopenMs,
      messagesEnded,
    };
  } finally {
    await scope.dispose();
  }
  return { ...result, handlesLeft: await settledGrowth(baseline) };
}
