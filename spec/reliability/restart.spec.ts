import '../helpers/tripwires';
import { connect, MessageDroppedError } from '../../lib/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { round, settleWithin, sized, now } from './kit';
import { sleep, waitFor } from '../helpers/wait';
import { Scope } from '../helpers/scope';
import { gatedServer } from '../helpers/gated-server';

// Server restarts in the middle of a stream of sequence-numbered messages. Graceful restarts
// (1001, 1012): every message is delivered or dropped with a reason — exactly, nothing in
// between. Resets (RST): some written messages may be lost in flight, but only messages whose
// send() resolved before the client learned of the reset; nothing is delivered twice or out of
// order in either case.

const N = sized(20_000, 100_000);
const DURATION_MS = sized(2000, 8000);
const RESTART_EVERY_MS = 300;
const DOWN_MS = 60;
const TICK_MS = 5;

const enum Outcome {
  Pending = 0,
  Written = 1,
  Overflow = 2,
  Timeout = 3,
  Closed = 4,
  Other = 5,
}

interface Tally {
  readonly sent: number;
  readonly written: number;
  readonly delivered: number;
  readonly dropped: { overflow: number; timeout: number; closed: number; other: number };
  /** Written but never delivered. */
  readonly lost: number;
  /** Of the lost: resolved before the reset was made / after it but before the client saw it. */
  readonly lostBeforeReset: number;
  readonly lostInWindow: number;
  /** Lost messages resolved after the client saw their connection end (must be 0). */
  readonly lostLate: number;
  readonly delivered_not_written: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  readonly droppedReports: number;
  readonly restarts: number;
  /** The close code of each restart that ended a connection (a slow reconnect may miss one). */
  readonly codes: number[];
  readonly connections: number;
  readonly errors: number[];
  readonly ms: number;
}

async function stream(mode: 'graceful' | 'rst'): Promise<Tally> {
  const scope = new Scope();
  onDispose(() => scope.dispose());
  const gated = await gatedServer(scope);

  // An event clock orders resolutions, resets and the client's view of each connection's end.
  let clock = 0;
  const outcome = new Uint8Array(N + 1);
  const resolvedAt = new Float64Array(N + 1);
  const resolvedOn = new Uint32Array(N + 1); // the connection (1-based) a message was written on
  const deliveredCount = new Uint8Array(N + 1);
  let delivered = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let last = -1;
  gated.server.received$.subscribe(({ data }) => {
    const { seq } = JSON.parse(data.toString()) as { seq: number };
    if (deliveredCount[seq]) duplicates++;
    else delivered++;
    deliveredCount[seq] = (deliveredCount[seq] as number) + 1;
    if (seq <= last) outOfOrder++;
    last = Math.max(last, seq);
  });

  const socket = connect<unknown, { seq: number }>(gated.url, {
    heartbeat: false,
    reconnect: { initialDelay: 10, maxDelay: 40 },
    buffer: { size: 500, timeout: 200 },
  });
  scope.defer(() => socket.close());
  socket.messages$.subscribe({ error: () => undefined });
  let connection = 0;
  const endedAt: number[] = []; // clock when the client saw connection k + 1 end
  const resetAt: number[] = []; // clock of each reset() call
  const errors: number[] = []; // codes on errors$: connection ends, and refused attempts (1006)
  let previous = '';
  socket.state$.subscribe(({ status }) => {
    if (status === 'open') connection++;
    else if (previous === 'open') endedAt[connection - 1] = ++clock;
    previous = status;
  });
  socket.errors$.subscribe((error) => errors.push((error as { code?: number }).code ?? -1));
  let droppedReports = 0;
  socket.dropped$.subscribe(() => droppedReports++);
  await waitFor(() => socket.state.status === 'open', 'open');

  const send = (seq: number): Promise<void> => {
    // Every 10th message may wait only 30 ms: those sent while the server is down expire.
    const promise = socket.send({ seq }, seq % 10 === 0 && seq < N ? { timeout: 30 } : undefined);
    promise.then(
      () => {
        outcome[seq] = Outcome.Written;
        resolvedAt[seq] = ++clock;
        resolvedOn[seq] = connection;
      },
      (error: unknown) => {
        const reason = error instanceof MessageDroppedError ? error.reason : 'other';
        outcome[seq] = reason === 'overflow' ? Outcome.Overflow : reason === 'timeout' ? Outcome.Timeout : reason === 'closed' ? Outcome.Closed : Outcome.Other;
      },
    );
    return promise;
  };

  let producing = true;
  let restarts = 0;
  const codes: number[] = []; // the code of each restart that found a connection to end
  const restarter = (async () => {
    while (producing) {
      await sleep(RESTART_EVERY_MS);
      if (!producing) return;
      restarts++;
      if (mode === 'graceful') {
        gated.stop('keep');
        const code = restarts % 2 ? 1012 : 1001;
        if (gated.server.clients.size > 0) codes.push(code);
        void gated.server.closeAll(code, 'restart');
      } else {
        if (gated.gate.links().some((l) => l.open)) codes.push(1006);
        resetAt.push(++clock);
        gated.stop('rst');
      }
      await sleep(DOWN_MS);
      gated.restart();
    }
  })();

  const start = now();
  const ticks = Math.round(DURATION_MS / TICK_MS);
  const perTick = Math.ceil(N / ticks);
  let seq = 0;
  for (let tick = 0; seq < N; tick++) {
    for (let j = 0; j < perTick && seq < N; j++) void send(seq++).catch(() => undefined);
    const next = start + (tick + 1) * TICK_MS;
    if (next > now()) await sleep(next - now());
  }
  producing = false;
  await restarter;
  gated.restart();
  await waitFor(() => outcome.subarray(0, N).every((o) => o !== Outcome.Pending), 'every send to settle', 10_000);
  // A last message on the final connection: once it arrived, everything written before it has.
  const sentinel = await settleWithin(send(N), 'the sentinel', 5000);
  expect(sentinel.status).toBe('fulfilled');
  await waitFor(() => deliveredCount[N], 'the sentinel at the server', 5000);
  const ms = now() - start;

  let written = 0;
  let lost = 0;
  let lostBeforeReset = 0;
  let lostInWindow = 0;
  let lostLate = 0;
  let deliveredNotWritten = 0;
  const dropped = { overflow: 0, timeout: 0, closed: 0, other: 0 };
  for (let i = 0; i < N; i++) {
    const o = outcome[i] as Outcome;
    if (o === Outcome.Written) {
      written++;
      if (!deliveredCount[i]) {
        lost++;
        // The connection it was written on ended; was the reset made before or after the write?
        const ended = endedAt[(resolvedOn[i] as number) - 1] ?? Infinity;
        const reset = resetAt.filter((r) => r < ended).pop() ?? -Infinity;
        if ((resolvedAt[i] as number) > ended) lostLate++;
        else if ((resolvedAt[i] as number) < reset) lostBeforeReset++;
        else lostInWindow++;
      }
    } else {
      if (deliveredCount[i]) deliveredNotWritten++;
      if (o === Outcome.Overflow) dropped.overflow++;
      else if (o === Outcome.Timeout) dropped.timeout++;
      else if (o === Outcome.Closed) dropped.closed++;
      else dropped.other++;
    }
  }
  return {
    sent: N,
    written,
    delivered: delivered - 1, // the sentinel
    dropped,
    lost,
    lostBeforeReset,
    lostInWindow,
    lostLate,
    delivered_not_written: deliveredNotWritten,
    duplicates,
    outOfOrder,
    droppedReports,
    restarts,
    codes,
    connections: gated.gate.links().length,
    errors,
    ms,
  };
}

const droppedTotal = (t: Tally): number => t.dropped.overflow + t.dropped.timeout + t.dropped.closed + t.dropped.other;

describe(`server restart mid-stream, ${N.toLocaleString('en')} sequence-numbered messages`, () => {
  test('graceful (1012, 1001): delivered + dropped with a reason = sent, exactly; no duplicate, no reordering', async () => {
    const t = await stream('graceful');
    figure(
      `graceful restarts (1012/1001), ${N.toLocaleString('en')} messages`,
      `${t.codes.length} restarts in ${round(t.ms)} ms: ${t.delivered} delivered + ${t.dropped.overflow} overflow + ${t.dropped.timeout} timeout = ${t.delivered + droppedTotal(t)}; lost ${t.lost}, dup ${t.duplicates}, out-of-order ${t.outOfOrder}`,
      `delivered + dropped = ${N} exactly; 0 lost, 0 duplicates, 0 out of order`,
    );
    expect(t.delivered + droppedTotal(t)).toBe(N);
    expect(t.lost).toBe(0);
    expect(t.written).toBe(t.delivered);
    expect(t.delivered_not_written).toBe(0);
    expect(t.dropped.closed + t.dropped.other).toBe(0);
    expect(t.droppedReports).toBe(droppedTotal(t));
    expect(t.duplicates).toBe(0);
    expect(t.outOfOrder).toBe(0);
    expect(t.codes.length).toBeGreaterThanOrEqual(3);
    expect(t.connections).toBe(t.codes.length + 1);
    expect(t.dropped.timeout).toBeGreaterThan(0);
    // Each restart's code, in order; the other entries are attempts refused while it was down.
    expect(t.errors.filter((code) => code !== 1006)).toEqual(t.codes);
  }, 60_000);

  test('reset (RST): written-but-unconfirmed = sent − delivered − dropped, only messages resolved before the client saw the reset', async () => {
    const t = await stream('rst');
    const unconfirmed = N - t.delivered - droppedTotal(t);
    figure(
      `resets (RST), ${N.toLocaleString('en')} messages`,
      `${t.codes.length} resets in ${round(t.ms)} ms: ${t.delivered} delivered + ${droppedTotal(t)} dropped + ${unconfirmed} written-but-unconfirmed (${t.lostBeforeReset} resolved before the RST, ${t.lostInWindow} between the RST and the client noticing); dup ${t.duplicates}, out-of-order ${t.outOfOrder}`,
      'unconfirmed = written − delivered, all resolved before the client saw its connection end; 0 duplicates, 0 out of order',
    );
    expect(unconfirmed).toBe(t.lost);
    expect(t.written - t.delivered).toBe(t.lost);
    expect(t.lostLate).toBe(0);
    expect(t.delivered_not_written).toBe(0);
    expect(t.dropped.closed + t.dropped.other).toBe(0);
    expect(t.droppedReports).toBe(droppedTotal(t));
    expect(t.duplicates).toBe(0);
    expect(t.outOfOrder).toBe(0);
    expect(t.codes.length).toBeGreaterThanOrEqual(3);
    expect(t.connections).toBe(t.codes.length + 1);
    expect(t.errors.every((code) => code === 1006)).toBe(true);
  }, 60_000);
});
