import type { TestScheduler } from 'rxjs/testing';
import type { DropReason } from '../../lib/index.js';
import { SendQueue } from '../../lib/core/send-queue.js';
import type { OverflowPolicy } from '../../lib/core/send-queue.js';
import { newScheduler } from '../helpers/test-scheduler.js';

// SendQueue in virtual time: a bounded FIFO whose entries expire at their own deadlines, with
// one expiry timer at a time. Drops and occupancy changes are logged as [time, ...].

interface Entry {
  readonly id: string;
  readonly deadline: number;
  readonly bytes: number;
}

type Event = [number, 'drop', string, DropReason] | [number, 'occupied', boolean];

function create(
  ts: TestScheduler,
  { size = Infinity, overflow = 'drop-newest' }: { size?: number; overflow?: OverflowPolicy } = {},
): { buffer: SendQueue<Entry>; log: Event[] } {
  const log: Event[] = [];
  const buffer = new SendQueue<Entry>({
    size,
    overflow,
    scheduler: ts,
    onDrop: (entry, reason) => void log.push([ts.now(), 'drop', entry.id, reason]),
    onOccupied: (occupied) => void log.push([ts.now(), 'occupied', occupied]),
  });
  return { buffer, log };
}

/** An entry that expires `timeout` ms from now. */
function entry(ts: TestScheduler, id: string, timeout = Infinity): Entry {
  return { id, deadline: ts.now() + timeout, bytes: id.length };
}

function drain(buffer: SendQueue<Entry>): string[] {
  const ids: string[] = [];
  for (let e = buffer.shift(); e !== undefined; e = buffer.shift()) ids.push(e.id);
  return ids;
}

/** The virtual times of the scheduled actions. */
function pending(ts: TestScheduler): number[] {
  return ts.actions.map((action) => action.delay);
}

describe('SendQueue: FIFO', () => {
  test('shift() returns entries in the order they were pushed, then undefined', () => {
    const ts = newScheduler();
    const { buffer } = create(ts);
    for (const id of ['a', 'b', 'c', 'd']) expect(buffer.push(entry(ts, id))).toBe(true);
    expect(buffer.peek()?.id).toBe('a');
    expect(drain(buffer)).toEqual(['a', 'b', 'c', 'd']);
    expect(buffer.shift()).toBeUndefined();
    expect(buffer.peek()).toBeUndefined();
  });

  test('pushes interleaved with shifts keep the order', () => {
    const ts = newScheduler();
    const { buffer } = create(ts);
    buffer.push(entry(ts, '1'));
    buffer.push(entry(ts, '2'));
    expect(buffer.shift()?.id).toBe('1');
    buffer.push(entry(ts, '3'));
    expect(buffer.shift()?.id).toBe('2');
    buffer.push(entry(ts, '4'));
    expect(drain(buffer)).toEqual(['3', '4']);
  });

  test('keeps order and length across the internal compaction (3000 entries, 2000 shifted)', () => {
    const ts = newScheduler();
    const { buffer } = create(ts);
    for (let i = 0; i < 3000; i++) buffer.push(entry(ts, String(i)));
    const first = Array.from({ length: 2000 }, () => buffer.shift()?.id);
    expect(first).toEqual(Array.from({ length: 2000 }, (_, i) => String(i)));
    expect(buffer.length).toBe(1000);
    buffer.push(entry(ts, 'last'));
    expect(drain(buffer)).toEqual([...Array.from({ length: 1000 }, (_, i) => String(2000 + i)), 'last']);
  });
});

describe('SendQueue: size', () => {
  test('length counts every waiting entry, the first included', () => {
    const ts = newScheduler();
    const { buffer } = create(ts);
    const lengths = [buffer.length];
    for (const id of ['a', 'b', 'c']) {
      buffer.push(entry(ts, id));
      lengths.push(buffer.length);
    }
    buffer.shift();
    lengths.push(buffer.length);
    drain(buffer);
    lengths.push(buffer.length);
    expect(lengths).toEqual([0, 1, 2, 3, 2, 0]);
  });

  test('size 3 holds exactly 3: the first entry counts against the bound', () => {
    const ts = newScheduler();
    const { buffer, log } = create(ts, { size: 3 });
    const accepted = ['a', 'b', 'c', 'd'].map((id) => buffer.push(entry(ts, id)));
    expect(accepted).toEqual([true, true, true, false]);
    expect(buffer.length).toBe(3);
    expect(log).toEqual([
      [0, 'occupied', true],
      [0, 'drop', 'd', 'overflow'],
    ]);
  });

  test('size 0 accepts nothing, under either policy, and never becomes occupied', () => {
    for (const overflow of ['drop-newest', 'drop-oldest'] as const) {
      const ts = newScheduler();
      const { buffer, log } = create(ts, { size: 0, overflow });
      expect(buffer.push(entry(ts, 'a'))).toBe(false);
      expect(buffer.push(entry(ts, 'b'))).toBe(false);
      expect(buffer.length).toBe(0);
      expect(log).toEqual([
        [0, 'drop', 'a', 'overflow'],
        [0, 'drop', 'b', 'overflow'],
      ]);
    }
  });

  test('a shift makes room again', () => {
    const ts = newScheduler();
    const { buffer, log } = create(ts, { size: 2 });
    buffer.push(entry(ts, 'a'));
    buffer.push(entry(ts, 'b'));
    buffer.shift();
    expect(buffer.push(entry(ts, 'c'))).toBe(true);
    expect(buffer.push(entry(ts, 'd'))).toBe(false);
    expect(drain(buffer)).toEqual(['b', 'c']);
    expect(log.filter(([, kind]) => kind === 'drop')).toEqual([[0, 'drop', 'd', 'overflow']]);
  });
});

describe('SendQueue: overflow', () => {
  test('drop-newest: 10 pushed into size 4 keeps the first 4 and drops the 6 newest, in arrival order', () => {
    const ts = newScheduler();
    const { buffer, log } = create(ts, { size: 4, overflow: 'drop-newest' });
    const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const accepted = ids.map((id) => buffer.push(entry(ts, id)));
    expect(accepted).toEqual([true, true, true, true, false, false, false, false, false, false]);
    expect(log).toEqual([
      [0, 'occupied', true],
      ...['m4', 'm5', 'm6', 'm7', 'm8', 'm9'].map((id): Event => [0, 'drop', id, 'overflow']),
    ]);
    expect(drain(buffer)).toEqual(['m0', 'm1', 'm2', 'm3']);
  });

  test('drop-oldest: 10 pushed into size 4 keeps the last 4 and drops the 6 earliest enqueued, in queue order', () => {
    const ts = newScheduler();
    const { buffer, log } = create(ts, { size: 4, overflow: 'drop-oldest' });
    const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const accepted = ids.map((id) => buffer.push(entry(ts, id)));
    expect(accepted).toEqual(ids.map(() => true));
    expect(log.filter(([, kind]) => kind === 'drop')).toEqual(
      ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'].map((id): Event => [0, 'drop', id, 'overflow']),
    );
    expect(buffer.length).toBe(4);
    expect(drain(buffer)).toEqual(['m6', 'm7', 'm8', 'm9']);
  });

  test('drop-oldest evicts by queue position, not by time left: the head goes though it expires last', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts, { size: 2, overflow: 'drop-oldest' });
      buffer.push(entry(ts, 'long', 500));
      buffer.push(entry(ts, 'short', 100));
      buffer.push(entry(ts, 'new', 300));
      expect(log.filter(([, kind]) => kind === 'drop')).toEqual([[0, 'drop', 'long', 'overflow']]);
      flush();
      expect(log.filter(([, kind]) => kind === 'drop')).toEqual([
        [0, 'drop', 'long', 'overflow'],
        [100, 'drop', 'short', 'timeout'],
        [300, 'drop', 'new', 'timeout'],
      ]);
    });
  });

  test('drop-newest drops the arrival even when it would expire last', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts, { size: 2, overflow: 'drop-newest' });
      buffer.push(entry(ts, 'a', 100));
      buffer.push(entry(ts, 'b', 200));
      expect(buffer.push(entry(ts, 'c', 10_000))).toBe(false);
      flush();
      expect(log.filter(([, kind]) => kind === 'drop')).toEqual([
        [0, 'drop', 'c', 'overflow'],
        [100, 'drop', 'a', 'timeout'],
        [200, 'drop', 'b', 'timeout'],
      ]);
    });
  });

  test('drop-oldest: an evicted head does not make its successors expire early', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts, { size: 2, overflow: 'drop-oldest' });
      buffer.push(entry(ts, 'a', 100));
      buffer.push(entry(ts, 'b', 200));
      buffer.push(entry(ts, 'c', 300)); // evicts a, whose deadline the timer was set for
      flush();
      expect(log.filter(([, kind]) => kind === 'drop')).toEqual([
        [0, 'drop', 'a', 'overflow'],
        [200, 'drop', 'b', 'timeout'],
        [300, 'drop', 'c', 'timeout'],
      ]);
    });
  });

  // The buffer never stands empty during an eviction: no onOccupied(false)/(true) flap (in
  // connect() that would release and re-hold the connection on every overflow).
  test('drop-oldest on a full size-1 buffer reports the drop and no occupancy change', () => {
    const ts = newScheduler();
    const { buffer, log } = create(ts, { size: 1, overflow: 'drop-oldest' });
    buffer.push(entry(ts, 'a'));
    buffer.push(entry(ts, 'b'));
    expect(log).toEqual([
      [0, 'occupied', true],
      [0, 'drop', 'a', 'overflow'],
    ]);
    expect(drain(buffer)).toEqual(['b']);
  });
});

describe('SendQueue: overflow, re-entrant', () => {
  test('drop-oldest: an onDrop that pushes again finds the buffer full (size is never exceeded)', () => {
    const ts = newScheduler();
    const log: string[] = [];
    let resent = false;
    const buffer: SendQueue<Entry> = new SendQueue<Entry>({
      size: 2,
      overflow: 'drop-oldest',
      scheduler: ts,
      onDrop: (dropped, reason) => {
        log.push(`${dropped.id}:${reason}:${buffer.length}`);
        if (!resent) {
          resent = true;
          buffer.push({ id: `${dropped.id}-again`, deadline: Infinity, bytes: 0 });
        }
      },
      onOccupied: () => undefined,
    });
    buffer.push({ id: 'a', deadline: Infinity, bytes: 0 });
    buffer.push({ id: 'b', deadline: Infinity, bytes: 0 });
    buffer.push({ id: 'c', deadline: Infinity, bytes: 0 });
    // c evicts a; a's observer re-sends, which evicts b; the buffer holds 2 throughout
    expect(log).toEqual(['a:overflow:2', 'b:overflow:2']);
    expect(drain(buffer)).toEqual(['c', 'a-again']);
  });
});

describe('SendQueue: expiry', () => {
  test('same timeout for all (sorted deadlines): each entry expires at its own deadline, 100 after its push', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts);
      for (const [t, id] of [[0, 'a'], [10, 'b'], [25, 'c'], [60, 'd']] as const) ts.schedule(() => buffer.push(entry(ts, id, 100)), t);
      flush();
      expect(log).toEqual([
        [0, 'occupied', true],
        [100, 'drop', 'a', 'timeout'],
        [110, 'drop', 'b', 'timeout'],
        [125, 'drop', 'c', 'timeout'],
        [160, 'occupied', false],
        [160, 'drop', 'd', 'timeout'],
      ]);
      expect(buffer.length).toBe(0);
    });
  });

  test('entries with equal deadlines expire together, in queue order', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts);
      for (const id of ['a', 'b', 'c']) buffer.push(entry(ts, id, 50));
      buffer.push(entry(ts, 'd', 80));
      flush();
      expect(log.filter(([, kind]) => kind === 'drop')).toEqual([
        [50, 'drop', 'a', 'timeout'],
        [50, 'drop', 'b', 'timeout'],
        [50, 'drop', 'c', 'timeout'],
        [80, 'drop', 'd', 'timeout'],
      ]);
    });
  });

  test('unsorted deadlines: each entry still expires at its own deadline, the others keep their order', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts);
      buffer.push(entry(ts, 'a', 100));
      buffer.push(entry(ts, 'b', 50));
      buffer.push(entry(ts, 'c', 80));
      buffer.push(entry(ts, 'd', 120));
      buffer.push(entry(ts, 'e', 80));
      flush();
      expect(log).toEqual([
        [0, 'occupied', true],
        [50, 'drop', 'b', 'timeout'],
        [80, 'drop', 'c', 'timeout'],
        [80, 'drop', 'e', 'timeout'],
        [100, 'drop', 'a', 'timeout'],
        [120, 'occupied', false],
        [120, 'drop', 'd', 'timeout'],
      ]);
    });
  });

  test('unsorted: what is left after an expiry is still FIFO', () => {
    const ts = newScheduler();
    let left: string[] = [];
    ts.run(({ flush }) => {
      const { buffer } = create(ts);
      buffer.push(entry(ts, 'a', 100));
      buffer.push(entry(ts, 'b', 20));
      buffer.push(entry(ts, 'c', 90));
      buffer.push(entry(ts, 'd', 30));
      buffer.push(entry(ts, 'e', 95));
      ts.schedule(() => void (left = drain(buffer)), 40);
      flush();
    });
    expect(left).toEqual(['a', 'c', 'e']);
  });

  test('an entry pushed later with an earlier deadline expires first, at its own deadline', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts);
      buffer.push(entry(ts, 'slow', 1000));
      ts.schedule(() => buffer.push(entry(ts, 'fast', 15)), 10);
      flush();
      expect(log.filter(([, kind]) => kind === 'drop')).toEqual([
        [25, 'drop', 'fast', 'timeout'],
        [1000, 'drop', 'slow', 'timeout'],
      ]);
    });
  });

  test('entries without a deadline (Infinity) never expire and never set a timer', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts);
      buffer.push(entry(ts, 'forever'));
      expect(pending(ts)).toEqual([]);
      buffer.push(entry(ts, 'brief', 30));
      buffer.push(entry(ts, 'forever too'));
      flush();
      expect(log).toEqual([
        [0, 'occupied', true],
        [30, 'drop', 'brief', 'timeout'],
      ]);
      expect(drain(buffer)).toEqual(['forever', 'forever too']);
    });
  });

  test('a deadline already passed at push (timeout 0) drops at the current time, asynchronously', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts);
      ts.schedule(() => {
        buffer.push(entry(ts, 'now', 0));
        expect(buffer.length).toBe(1);
      }, 7);
      flush();
      expect(log).toEqual([
        [7, 'occupied', true],
        [7, 'occupied', false],
        [7, 'drop', 'now', 'timeout'],
      ]);
    });
  });

  test('an entry shifted before its deadline is not dropped', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts);
      buffer.push(entry(ts, 'a', 50));
      buffer.push(entry(ts, 'b', 60));
      ts.schedule(() => void buffer.shift(), 49);
      flush();
      expect(log.filter(([, kind]) => kind === 'drop')).toEqual([[60, 'drop', 'b', 'timeout']]);
    });
  });

  test('expire(now) drops every entry at or before now, in queue order, and no later one', () => {
    const ts = newScheduler();
    const { buffer, log } = create(ts);
    buffer.push({ id: 'a', deadline: 10, bytes: 0 });
    buffer.push({ id: 'b', deadline: 20, bytes: 0 });
    buffer.push({ id: 'c', deadline: 21, bytes: 0 });
    buffer.expire(20);
    expect(log.filter(([, kind]) => kind === 'drop')).toEqual([
      [0, 'drop', 'a', 'timeout'],
      [0, 'drop', 'b', 'timeout'],
    ]);
    expect(drain(buffer)).toEqual(['c']);
  });
});

describe('SendQueue: one timer at a time', () => {
  test('1000 entries with the same timeout: one scheduled action, for the head', () => {
    const ts = newScheduler();
    const { buffer } = create(ts);
    for (let i = 0; i < 1000; i++) buffer.push(entry(ts, String(i), 500));
    expect(pending(ts)).toEqual([500]);
  });

  test('unsorted deadlines: one action, for the earliest deadline, moved when an earlier one arrives', () => {
    const ts = newScheduler();
    const { buffer } = create(ts);
    buffer.push(entry(ts, 'a', 50));
    expect(pending(ts)).toEqual([50]);
    buffer.push(entry(ts, 'b', 70));
    expect(pending(ts)).toEqual([50]);
    buffer.push(entry(ts, 'c', 30));
    expect(pending(ts)).toEqual([30]);
    buffer.push(entry(ts, 'd', 40));
    expect(pending(ts)).toEqual([30]);
  });

  test('after each expiry the timer moves to the next deadline; never more than one', () => {
    const ts = newScheduler();
    const seen: number[][] = [];
    ts.run(({ flush }) => {
      const { buffer } = create(ts);
      buffer.push(entry(ts, 'a', 100));
      buffer.push(entry(ts, 'b', 20));
      buffer.push(entry(ts, 'c', 60));
      for (const t of [21, 61, 101]) ts.schedule(() => void seen.push(pending(ts).filter((d) => d > t)), t);
      flush();
    });
    // after 20: the timer for c (60) [+ probes]; after 60: a (100); after 100: none
    expect(seen).toEqual([[60, 61, 101], [100, 101], []]);
  });

  test('emptying the buffer (shift, clear, expiry) cancels the timer', () => {
    const ts = newScheduler();
    const { buffer } = create(ts);
    buffer.push(entry(ts, 'a', 50));
    buffer.shift();
    expect(pending(ts)).toEqual([]);
    buffer.push(entry(ts, 'b', 50));
    buffer.clear('closed');
    expect(pending(ts)).toEqual([]);
  });
});

describe('SendQueue: onOccupied', () => {
  test('reports empty → occupied on the first push and occupied → empty on the last shift, once each', () => {
    const ts = newScheduler();
    const { buffer, log } = create(ts);
    buffer.push(entry(ts, 'a'));
    buffer.push(entry(ts, 'b'));
    buffer.shift();
    expect(log).toEqual([[0, 'occupied', true]]);
    buffer.shift();
    buffer.shift(); // already empty: no second report
    buffer.push(entry(ts, 'c'));
    expect(log).toEqual([
      [0, 'occupied', true],
      [0, 'occupied', false],
      [0, 'occupied', true],
    ]);
  });

  test('a rejected push into an empty buffer (size 0) and a clear of an empty buffer report nothing', () => {
    const ts = newScheduler();
    const { buffer, log } = create(ts, { size: 0 });
    buffer.push(entry(ts, 'a'));
    const empty = create(ts);
    empty.buffer.clear('closed');
    expect(log).toEqual([[0, 'drop', 'a', 'overflow']]);
    expect(empty.log).toEqual([]);
  });

  test('an expiry that leaves entries reports nothing; the one that empties reports false', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts);
      buffer.push(entry(ts, 'a', 10));
      buffer.push(entry(ts, 'b', 20));
      flush();
      expect(log.filter(([, kind]) => kind === 'occupied')).toEqual([
        [0, 'occupied', true],
        [20, 'occupied', false],
      ]);
    });
  });
});

describe('SendQueue: clear(reason)', () => {
  test('drops every waiting entry with the reason, in queue order, and empties the buffer', () => {
    const ts = newScheduler();
    const { buffer, log } = create(ts);
    for (const id of ['a', 'b', 'c']) buffer.push(entry(ts, id, 100));
    buffer.shift();
    buffer.push(entry(ts, 'd', 100));
    buffer.clear('closed');
    expect(log).toEqual([
      [0, 'occupied', true],
      [0, 'occupied', false],
      [0, 'drop', 'b', 'closed'],
      [0, 'drop', 'c', 'closed'],
      [0, 'drop', 'd', 'closed'],
    ]);
    expect(buffer.length).toBe(0);
    expect(buffer.shift()).toBeUndefined();
  });

  test('keeps queue order for unsorted deadlines too, and nothing expires afterwards', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts);
      buffer.push(entry(ts, 'x', 90));
      buffer.push(entry(ts, 'y', 10));
      buffer.push(entry(ts, 'z', 50));
      ts.schedule(() => buffer.clear('closed'), 5);
      flush();
      expect(log.filter(([, kind]) => kind === 'drop')).toEqual([
        [5, 'drop', 'x', 'closed'],
        [5, 'drop', 'y', 'closed'],
        [5, 'drop', 'z', 'closed'],
      ]);
    });
  });

  test('the buffer is usable after a clear: new entries queue and expire normally', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer, log } = create(ts, { size: 2 });
      buffer.push(entry(ts, 'a', 100));
      buffer.push(entry(ts, 'b', 10));
      buffer.clear('overflow');
      buffer.push(entry(ts, 'c', 30));
      buffer.push(entry(ts, 'd', 40));
      expect(buffer.push(entry(ts, 'e', 40))).toBe(false);
      flush();
      expect(log.filter(([, kind]) => kind === 'drop')).toEqual([
        [0, 'drop', 'a', 'overflow'],
        [0, 'drop', 'b', 'overflow'],
        [0, 'drop', 'e', 'overflow'],
        [30, 'drop', 'c', 'timeout'],
        [40, 'drop', 'd', 'timeout'],
      ]);
    });
  });
});

describe('SendQueue: bytes', () => {
  test('counts the bytes of what waits, through push, shift, overflow, expiry and clear', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { buffer } = create(ts, { size: 3, overflow: 'drop-oldest' });
      buffer.push(entry(ts, 'a', 100)); // 1 byte
      buffer.push(entry(ts, 'bb', 50)); // 2: out of deadline order (a sweep on expiry)
      buffer.push(entry(ts, 'ccc')); // 3
      expect(buffer.bytes).toBe(6);
      buffer.push(entry(ts, 'dddd')); // evicts a
      expect(buffer.bytes).toBe(9);
      buffer.shift(); // bb
      expect(buffer.bytes).toBe(7);
      buffer.push(entry(ts, 'e', 10));
      expect(buffer.bytes).toBe(8);
      ts.schedule(() => expect(buffer.bytes).toBe(7), 20); // e expired
      flush();
      buffer.clear('closed');
      expect([buffer.bytes, buffer.length]).toEqual([0, 0]);
    });
  });
});
