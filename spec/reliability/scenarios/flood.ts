import { connect, type DropReason, type OverflowPolicy } from '../../../lib/index.js';
import { heapAfterGc, now } from '../kit';
import { sleep, waitFor } from '../../helpers/wait';
import { Scope } from '../../helpers/scope';
import { gatedServer } from '../../helpers/gated-server';

/**
 * A flood of sends while the server refuses every connection.
 *
 * One of the scenarios whose strict figures `npm run reliability` measures in child processes
 * (measure.ts), and which the Jest specs run at CI sizes with generous bounds: one implementation,
 * so CI and docs/reliability.md measure the same thing. Jest-free; it disposes what it created,
 * so a child process running it exits by itself.
 */

const noop = (): void => {};

export interface FloodOptions {
  readonly total: number;
  /** Over how long the sends are spread. */
  readonly durationMs: number;
  readonly size: number;
  readonly timeout: number;
  readonly overflow: OverflowPolicy;
  readonly gc: () => void;
}

export interface FloodResult {
  readonly total: number;
  readonly sendMs: number;
  /** The most messages waiting at any time, checked after every send. */
  readonly maxBuffered: number;
  readonly syncThrows: number;
  /** Drops reported on `dropped$`, by reason. */
  readonly drops: Record<DropReason, number>;
  /** `send()` promises that rejected with a `MessageDroppedError`, by reason. */
  readonly rejections: Record<DropReason, number>;
  readonly resolved: number;
  /** Messages reported dropped more than once, or rejected more than once, or never settled. */
  readonly duplicates: number;
  readonly unsettled: number;
  /** Timeout drops that came before the message's timeout had passed. */
  readonly early: number;
  /** Heap after GC: before the flood, at its end (buffer full), and once everything was dropped. */
  readonly heap: { before: number; peak: number; after: number };
}

/**
 * `total` sends in `durationMs` to a server that refuses every connection, with a buffer of
 * `size`: the buffer must never exceed it, and every message must be dropped exactly once, by
 * overflow at once or by timeout later. The flood's own records are preallocated typed arrays,
 * so the heap figures are the library's.
 */
export async function offlineFlood(options: FloodOptions): Promise<FloodResult> {
  const { total, durationMs, size, timeout, overflow, gc } = options;
  const scope = new Scope();
  try {
    const gated = await gatedServer(scope);
    gated.stop('keep');
    const socket = connect<unknown, { seq: number }>(gated.url, {
      heartbeat: false,
      reconnect: { initialDelay: 50, maxDelay: 200 },
      buffer: { size, timeout, overflow },
    });
    scope.defer(() => socket.close());
    socket.messages$.subscribe({ error: noop });

    const sentAt = new Float64Array(total);
    const dropCount = new Uint8Array(total);
    const rejectCount = new Uint8Array(total);
    const drops: Record<DropReason, number> = { overflow: 0, timeout: 0, closed: 0, error: 0, 'session-lost': 0 };
    const rejections: Record<DropReason, number> = { overflow: 0, timeout: 0, closed: 0, error: 0, 'session-lost': 0 };
    let resolved = 0;
    let early = 0;
    let dropped = 0;
    socket.dropped$.subscribe(({ message, reason }) => {
      dropped++;
      dropCount[message.seq] = (dropCount[message.seq] as number) + 1;
      drops[reason]++;
      if (reason === 'timeout' && now() - (sentAt[message.seq] as number) < timeout - 2) early++;
    });
    const onResolve = (): void => void resolved++;
    const onReject = (error: { reason: DropReason; payload: { seq: number } }): void => {
      rejectCount[error.payload.seq] = (rejectCount[error.payload.seq] as number) + 1;
      rejections[error.reason]++;
    };
    await waitFor(() => socket.state.status === 'reconnecting', 'the client to be reconnecting');

    const before = heapAfterGc(gc);
    let maxBuffered = 0;
    let syncThrows = 0;
    const ticks = Math.max(1, Math.round(durationMs / 10));
    const perTick = Math.ceil(total / ticks);
    const start = now();
    let seq = 0;
    for (let tick = 0; tick < ticks && seq < total; tick++) {
      for (let j = 0; j < perTick && seq < total; j++, seq++) {
        sentAt[seq] = now();
        try {
          socket.send({ seq }).then(onResolve, onReject);
        } catch {
          syncThrows++;
        }
        if (socket.buffered > maxBuffered) maxBuffered = socket.buffered;
      }
      // Yield every tick, even when late: a send's rejection settles in a microtask, so a loop
      // that never yields would hold every dropped message until it ends, whoever drops them.
      const next = start + (tick + 1) * 10;
      await sleep(Math.max(0, next - now()));
    }
    const sendMs = now() - start;
    const peak = heapAfterGc(gc);
    await waitFor(() => dropped >= total, 'every message to be dropped', timeout + durationMs + 10_000);
    await sleep(10); // the last rejections' handlers run after dropped$
    const after = heapAfterGc(gc);
    let duplicates = 0;
    let unsettled = 0;
    for (let i = 0; i < total; i++) {
      if ((dropCount[i] as number) > 1 || (rejectCount[i] as number) > 1) duplicates++;
      if (rejectCount[i] === 0) unsettled++;
    }
    unsettled -= resolved;
    return { total, sendMs, maxBuffered, syncThrows, drops, rejections, resolved, duplicates, unsettled, early, heap: { before, peak, after } };
  } finally {
    await scope.dispose();
  }
}
