import '../helpers/tripwires';
import { connect, MessageDroppedError } from '../../lib/index.js';
import { createFaultProxy, createTestServer, type FaultProxy, type TestServer } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { now, round, settleWithin } from './kit';
import { sleep, waitFor } from '../helpers/wait';
import { Scope } from '../helpers/scope';

// One fault in the middle of a steady stream — a reset, a link cut after N bytes (toxiproxy's
// limit_data), a slow close (the closing handshake takes 300 ms) — must cost exactly one
// reconnect, and every message sent around it must have an outcome: delivered, dropped with a
// reason, or (only after a reset or a cut) written to the connection that died, before the
// client could know.

const SLOW_CLOSE_MS = 300;
const TICK_MS = 2;
const PER_TICK = 5;

interface Ctx {
  readonly server: TestServer;
  readonly proxy: FaultProxy;
}

interface FaultCase {
  readonly name: string;
  /** Applies the fault; the proxy passes everything again as soon as the client reports it. */
  apply(ctx: Ctx): void;
  /** The code of the one errors$ entry. */
  readonly code: number;
  /** Whether written messages may be lost in flight (a reset or a cut, not a clean close). */
  readonly mayLose: boolean;
}

const cases: FaultCase[] = [
  { name: 'reset (RST of both sockets)', apply: ({ proxy }) => proxy.reset('rst'), code: 1006, mayLose: true },
  { name: 'limit_data: the link ends with a FIN after 2,000 more bytes up', apply: ({ proxy }) => proxy.set('up', { kind: 'limit', bytes: 2000, then: 'fin' }), code: 1006, mayLose: true },
  { name: 'limit_data: the link is reset after 2,000 more bytes up', apply: ({ proxy }) => proxy.set('up', { kind: 'limit', bytes: 2000, then: 'rst' }), code: 1006, mayLose: true },
  {
    name: `slow close: the server closes (1012) and its closing handshake takes ${SLOW_CLOSE_MS} ms`,
    apply: ({ server, proxy }) => {
      proxy.set('up', { kind: 'delay', ms: SLOW_CLOSE_MS });
      void server.closeAll(1012, 'restart');
    },
    code: 1012,
    mayLose: false,
  },
];

describe('one fault mid-stream: exactly one reconnect, every in-flight message has an outcome', () => {
  test.each(cases)('$name', async ({ name, apply, code, mayLose }) => {
    const scope = new Scope();
    onDispose(() => scope.dispose());
    const server = scope.add(await createTestServer(), (s) => s.close());
    const proxy = scope.add(await createFaultProxy({ target: server.url }), (p) => p.close());

    const received: number[] = [];
    server.received$.subscribe(({ data }) => received.push((JSON.parse(data.toString()) as { seq: number }).seq));
    const socket = connect<unknown, { seq: number }>(proxy.url, {
      heartbeat: false,
      reconnect: { initialDelay: 20, maxDelay: 20, jitter: false },
      buffer: { size: 1000, timeout: 3000 },
    });
    scope.defer(() => socket.close());
    socket.messages$.subscribe({ error: () => undefined });
    // dropped$ reports drops on its own path, so it can cross-check the rejected promises.
    const reportedDrops: Array<{ seq: number; reason: string }> = [];
    socket.dropped$.subscribe(({ payload, reason }) => reportedDrops.push({ seq: payload.seq, reason }));

    let clock = 0;
    let opens = 0;
    let previous = '';
    let endedAt = Infinity; // clock when the client saw the first connection end
    let faultAt = NaN;
    let noticedAt = NaN;
    const errors: Array<{ name: string; code: number }> = [];
    socket.state$.subscribe(({ status }) => {
      if (status === 'open') opens++;
      else if (previous === 'open' && endedAt === Infinity) endedAt = ++clock;
      previous = status;
    });
    socket.errors$.subscribe((error) => {
      errors.push({ name: error.name, code: (error as unknown as { code: number }).code });
      noticedAt = now();
      proxy.set('both', { kind: 'pass' });
    });
    await waitFor(() => socket.state.status === 'open', 'open');

    const outcomes: Array<'pending' | 'written' | string> = [];
    const resolvedAt: number[] = [];
    const resolvedOn: number[] = [];
    const settled: Array<Promise<unknown>> = [];
    const send = (): void => {
      const seq = outcomes.length;
      outcomes.push('pending');
      const promise = socket.send({ seq });
      settled.push(
        promise.then(
          () => {
            outcomes[seq] = 'written';
            resolvedAt[seq] = ++clock;
            resolvedOn[seq] = opens;
          },
          (error: unknown) => (outcomes[seq] = error instanceof MessageDroppedError ? error.reason : String(error)),
        ),
      );
    };
    const produce = async (until: () => boolean): Promise<void> => {
      while (!until()) {
        for (let i = 0; i < PER_TICK; i++) send();
        await sleep(TICK_MS);
      }
    };

    const start = now();
    await produce(() => now() - start > 150);
    apply({ server, proxy });
    faultAt = now();
    await produce(() => opens >= 2 || now() - faultAt > 5000);
    const reopened = now();
    await produce(() => now() - reopened > 150);
    await settleWithin(Promise.all(settled), 'every send', 5000);
    const sentinel = outcomes.length;
    send();
    await waitFor(() => received.includes(sentinel), 'the last message at the server', 5000);

    const written = outcomes.filter((o) => o === 'written').length;
    const rejected = outcomes.flatMap((o, seq) => (o !== 'written' && o !== 'pending' ? [{ seq, reason: o }] : []));
    const dropped = rejected.length;
    const delivered = new Set(received);
    const lost = outcomes.flatMap((o, seq) => (o === 'written' && !delivered.has(seq) ? [seq] : []));
    let outOfOrder = 0;
    for (let i = 1; i < received.length; i++) if ((received[i] as number) <= (received[i - 1] as number)) outOfOrder++;
    const lostLate = lost.filter((seq) => resolvedOn[seq] !== 1 || (resolvedAt[seq] as number) > endedAt);

    figure(
      name,
      `noticed after ${round(noticedAt - faultAt)} ms; ${opens - 1} reconnect; ${outcomes.length} sent = ${delivered.size} delivered + ${dropped} dropped + ${lost.length} written-but-lost`,
      `1 reconnect, 1 errors$ entry (${code}); every send settled; ${mayLose ? 'lost ⊆ written on the dead connection before the client saw it end' : '0 lost'}; 0 duplicates, 0 out of order`,
    );
    expect(errors).toEqual([expect.objectContaining({ code })]);
    expect(opens).toBe(2);
    expect(proxy.links()).toHaveLength(2);
    expect(outcomes.filter((o) => o === 'pending')).toEqual([]);
    expect(outcomes.filter((o) => o !== 'written' && o !== 'timeout' && o !== 'overflow')).toEqual([]);
    expect(received.length).toBe(delivered.size); // no duplicates
    expect(outOfOrder).toBe(0);
    expect(received.every((seq) => outcomes[seq] === 'written')).toBe(true);
    // Every rejection was reported on dropped$ with the same reason, and nothing else was (with
    // this buffer nothing usually drops, so this mostly guards against spurious reports).
    expect([...reportedDrops].sort((a, b) => a.seq - b.seq)).toEqual(rejected);
    expect(written + reportedDrops.length).toBe(outcomes.length);
    expect(delivered.size + dropped + lost.length).toBe(outcomes.length);
    expect(lostLate).toEqual([]);
    if (!mayLose) expect(lost).toEqual([]);
    if (name.startsWith('slow close')) expect(noticedAt - faultAt).toBeGreaterThanOrEqual(SLOW_CLOSE_MS - 5);
  });
});
