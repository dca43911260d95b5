import { MessageDroppedError, type DropReason } from '../../lib/core/errors.js';
import { Retention } from '../../lib/core/retention.js';
import { SessionProtocolError } from '../../lib/core/session-errors.js';
import { newScheduler } from '../helpers/test-scheduler.js';

// The retention of a session's reliable messages, in virtual time: numbering, receipts at the
// cumulative acknowledgement, bounds by count and bytes, sends waiting for room (until their
// timeout, themselves bounded), replay after a rewind, and clearing with a reason.

function rig(scheduler: ReturnType<typeof newScheduler>, size = 3, bytes = 1000, waitLimit = 2) {
  const drops: Array<[string, DropReason]> = [];
  const occupied: boolean[] = [];
  let admitted = 0;
  let tickets = 0;
  const retention = new Retention<string>({
    size,
    bytes,
    waitLimit,
    scheduler,
    frame: (seq, data) => `R${seq}:${String(data)}`,
    ticket: () => ++tickets,
    admitted: () => void admitted++,
    onDrop: (message, reason) => void drops.push([message, reason]),
    onOccupied: (value) => void occupied.push(value),
  });
  const take = (): string[] => {
    const out: string[] = [];
    while (retention.pending) out.push(retention.take() as string);
    return out;
  };
  return { retention, drops, occupied, take, admitted: () => admitted };
}

const settled = async (promise: Promise<void> | undefined): Promise<string> =>
  promise!.then(
    () => 'resolved',
    (error: unknown) => (error instanceof MessageDroppedError ? `rejected:${error.reason}` : 'other'),
  );

describe('Retention', () => {
  test('numbers messages 1, 2, …; a receipt resolves at the cumulative acknowledgement, in order', async () => {
    const scheduler = newScheduler();
    const { retention, take, occupied } = rig(scheduler);
    const receipts = ['a', 'b', 'c'].map((m) => retention.add(m, m, Infinity, true));
    expect(take()).toEqual(['R1:a', 'R2:b', 'R3:c']);
    expect(retention.unacknowledged).toBe(3);
    const states: string[] = [];
    receipts.forEach((r, i) => void r!.then(() => states.push(`ack ${i + 1}`)));
    retention.acknowledge(2);
    await Promise.resolve();
    await Promise.resolve();
    expect(states).toEqual(['ack 1', 'ack 2']);
    expect(retention.unacknowledged).toBe(1);
    retention.acknowledge(2); // a repeated acknowledgement changes nothing
    retention.acknowledge(3);
    expect(await settled(receipts[2])).toBe('resolved');
    expect(occupied).toEqual([true, false]);
    expect(() => retention.acknowledge(4)).toThrow(SessionProtocolError);
  });

  test('rewind: every unacknowledged message is taken again, in order', () => {
    const { retention, take } = rig(newScheduler());
    for (const m of ['a', 'b', 'c']) retention.add(m, m, Infinity, false);
    expect(take()).toHaveLength(3);
    retention.acknowledge(1);
    retention.rewind();
    expect(take()).toEqual(['R2:b', 'R3:c']);
  });

  test('full: a send waits for room and is admitted at the acknowledgement; or dropped with timeout at its deadline', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const { retention, drops, take } = rig(scheduler, 2, 1000, 5);
      retention.add('a', 'a', Infinity, false);
      retention.add('b', 'b', Infinity, false);
      retention.add('c', 'c', 100, false); // waits
      retention.add('d', 'd', 50, false); // waits, shorter
      expect(retention.waiting).toBe(2);
      expect(take()).toEqual(['R1:a', 'R2:b']);
      scheduler.schedule(() => retention.acknowledge(1), 70); // after d's deadline, before c's
      flush();
      expect(drops).toEqual([['d', 'timeout']]);
      expect(take()).toEqual(['R3:c']); // numbered when admitted: no gap for the dropped one
      expect(retention.waiting).toBe(0);
    });
  });

  test('bounded: by bytes too, a message larger than the bound is refused with overflow, and so is a send beyond waitLimit', async () => {
    const scheduler = newScheduler();
    const { retention, drops } = rig(scheduler, 100, 10, 1);
    expect(await settled(retention.add('big', 'x'.repeat(11), Infinity, true))).toBe('rejected:overflow');
    retention.add('a', 'x'.repeat(8), Infinity, false);
    retention.add('b', 'x'.repeat(8), Infinity, false); // 16 > 10: waits
    expect(await settled(retention.add('c', 'x', Infinity, true))).toBe('rejected:overflow'); // waitLimit 1
    expect(drops.map(([m, r]) => `${m}:${r}`)).toEqual(['big:overflow', 'c:overflow']);
    retention.clear('closed');
    expect(drops.map(([m, r]) => `${m}:${r}`)).toEqual(['big:overflow', 'c:overflow', 'a:closed', 'b:closed']);
  });

  test('clear: every unacknowledged and waiting message rejects with the reason; numbering starts again at 1', async () => {
    const scheduler = newScheduler();
    const { retention, take, occupied } = rig(scheduler, 1);
    const first = retention.add('a', 'a', Infinity, true);
    const second = retention.add('b', 'b', Infinity, true); // waits
    expect(retention.clear('session-lost')).toBe(1);
    expect(await settled(first)).toBe('rejected:session-lost');
    expect(await settled(second)).toBe('rejected:session-lost');
    expect(occupied).toEqual([true, false]);
    retention.add('c', 'c', Infinity, false);
    expect(take()).toEqual(['R1:c']);
  });

  test('write order: each admitted message takes a ticket, so the writer can interleave it with its queue', () => {
    const { retention } = rig(newScheduler());
    retention.add('a', 'a', Infinity, false);
    retention.add('b', 'b', Infinity, false);
    expect(retention.nextOrder()).toBe(1);
    retention.take();
    expect(retention.nextOrder()).toBe(2);
    retention.take();
    expect(retention.nextOrder()).toBe(Infinity);
  });
});

describe('Retention: receipts and the ring', () => {
  test('a receipt is a promise to its users: instanceof Promise, then/catch/finally, await, Promise.all', async () => {
    const { retention } = rig(newScheduler(), 10);
    const [a, b, c] = ['a', 'b', 'c'].map((m) => retention.add(m, m, Infinity, true) as Promise<void>);
    expect(a).toBeInstanceOf(Promise);
    expect(Object.prototype.toString.call(a)).toBe('[object Promise]');
    const order: string[] = [];
    void a!.finally(() => order.push('a finally'));
    const all = Promise.all([a, b]).then(() => order.push('a and b'));
    retention.acknowledge(2);
    await all;
    await a;
    expect(order).toEqual(['a finally', 'a and b']);
    // then() long after the acknowledgement still resolves; after the end, rejects with the reason.
    retention.acknowledge(2);
    expect(await settled(b)).toBe('resolved');
    retention.clear('session-lost');
    expect(await settled(c)).toBe('rejected:session-lost');
    await expect(c!.catch((error: MessageDroppedError<string>) => `${error.reason}:${String(error.payload)}`)).resolves.toBe('session-lost:c');
    expect(await settled(a)).toBe('resolved'); // acknowledged before the end: never rejected by it
  });

  test('receipts awaited out of order settle in sequence order; a receipt nobody awaits never rejects unhandled', async () => {
    const { retention } = rig(newScheduler(), 10);
    const receipts = ['a', 'b', 'c', 'd'].map((m) => retention.add(m, m, Infinity, true) as Promise<void>);
    const order: number[] = [];
    for (const i of [3, 1, 2]) void receipts[i]!.then(() => order.push(i), () => order.push(-i));
    retention.acknowledge(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([1]);
    retention.clear('closed'); // receipts[0] was acknowledged; nobody awaits it either way
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([1, -2, -3]);
  });

  test('a send that waited for room keeps its promise when admitted: it resolves at its acknowledgement', async () => {
    const { retention, take } = rig(newScheduler(), 1, 1000, 5);
    const first = retention.add('a', 'a', Infinity, true);
    const waited = retention.add('b', 'b', Infinity, true);
    expect(take()).toEqual(['R1:a']);
    retention.acknowledge(1);
    expect(take()).toEqual(['R2:b']);
    retention.acknowledge(2);
    expect([await settled(first), await settled(waited)]).toEqual(['resolved', 'resolved']);
  });

  test('the ring wraps and grows: over 4,000 messages under partial acknowledgements and rewinds, each taken in order', async () => {
    const { retention, take } = rig(newScheduler(), 300, 1e9, 1);
    let sent = 0;
    let acked = 0;
    const written: string[] = [];
    const receipts: Array<Promise<void>> = [];
    for (let round = 0; round < 100; round++) {
      const burst = 1 + ((round * 37) % 120); // up to 120 a round, the window up to 300: it wraps and grows
      for (let i = 0; i < burst && retention.unacknowledged < 300; i++, sent++) receipts.push(retention.add(`m${sent + 1}`, `m${sent + 1}`, Infinity, true) as Promise<void>);
      written.push(...take());
      if (round % 7 === 3) {
        retention.rewind(); // a reconnect: the unacknowledged ones again, oldest first
        const again = take();
        expect(again).toEqual(written.slice(written.length - retention.unacknowledged));
      }
      acked = Math.min(sent, acked + ((round * 53) % 150));
      retention.acknowledge(acked);
      expect(retention.unacknowledged).toBe(sent - acked);
    }
    const firstWrites = [...new Set(written)];
    expect(firstWrites).toEqual(Array.from({ length: sent }, (_, i) => `R${i + 1}:m${i + 1}`));
    expect(sent).toBeGreaterThan(4000);
    retention.acknowledge(sent);
    expect(await Promise.all(receipts.map(settled))).toEqual(receipts.map(() => 'resolved'));
    expect(retention.unacknowledged).toBe(0);
  });
});
