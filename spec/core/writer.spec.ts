import { Subscription, type SchedulerLike } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { DropReason } from '../../lib/core/errors.js';
import { Writer } from '../../lib/core/writer.js';
import { connection, FakeTransport } from '../helpers/fake-transport.js';
import { newScheduler } from '../helpers/test-scheduler.js';
import { tripped } from '../helpers/tripwires.js';

// The Writer against a fake transport in virtual time, as ws tests its Sender against a
// ten-line socket: what is written, in which order, when it waits for 'drain', and how every
// pending message is failed when it closes. Real sockets test it through the client specs.

interface Rig {
  writer: Writer<string>;
  drops: Array<[string, DropReason]>;
  queued: boolean[];
}

function rig(ts: TestScheduler, { size = 10, overflow = 'drop-newest' as const, highWaterMark = 500 } = {}): Rig {
  const drops: Rig['drops'] = [];
  const queued: boolean[] = [];
  const writer = new Writer<string>({
    size,
    overflow,
    highWaterMark,
    scheduler: ts,
  }, {
    writerDropped: (entry, reason) => void drops.push([entry.message, reason]),
    writerQueued: (occupied) => void queued.push(occupied),
  });
  return { writer, drops, queued };
}

/** What each promise came to, once settled. */
function outcomes(promises: Array<Promise<void>>): Promise<string[]> {
  return Promise.all(promises.map((p) => p.then(() => 'written', (e: { reason: string }) => e.reason)));
}

describe('Writer: Ready', () => {
  test('writes each message in the tick of its send, in order; the queue is never used', async () => {
    const ts = newScheduler();
    const { writer, queued } = rig(ts);
    const socket = new FakeTransport();
    writer.attach(connection(socket));
    const sent = ['a', 'b', 'c'].map((m) => writer.submit(m, m, 1000));
    expect(socket.written).toEqual(['a', 'b', 'c']); // synchronously
    expect(await outcomes(sent)).toEqual(['written', 'written', 'written']);
    expect([writer.writtenAtOnce, writer.waitingCount, queued]).toEqual([3, 0, []]);
  });

  test('a socket that refuses one message drops it with error and its cause; the next is written', async () => {
    const ts = newScheduler();
    const { writer, drops } = rig(ts);
    const socket = new FakeTransport();
    writer.attach(connection(socket));
    const sent = [writer.submit('a', 'a', 1000), writer.submit('x', 'refuse', 1000), writer.submit('b', 'b', 1000)];
    expect(await outcomes(sent)).toEqual(['written', 'error', 'written']);
    expect(socket.written).toEqual(['a', 'b']);
    expect(drops).toEqual([['x', 'error']]);
    await expect(sent[1]).rejects.toMatchObject({ name: 'MessageDroppedError', reason: 'error', cause: new Error('refused') });
  });
});

describe('Writer: Detached', () => {
  test('queues; attach writes what waits, in order, before anything newer', async () => {
    const ts = newScheduler();
    const { writer, queued } = rig(ts);
    const early = [writer.submit('a', 'a', 1000), writer.submit('b', 'b', 1000)];
    expect([writer.waitingCount, writer.waitingBytes, queued]).toEqual([2, 2, [true]]);
    const socket = new FakeTransport();
    writer.attach(connection(socket));
    const late = writer.submit('c', 'c', 1000);
    expect(socket.written).toEqual(['a', 'b', 'c']);
    expect(await outcomes([...early, late])).toEqual(['written', 'written', 'written']);
    expect([writer.writtenAtOnce, queued]).toEqual([1, [true, false]]);
  });

  test('a socket that is attached but no longer open takes nothing: messages wait for the next', () => {
    const ts = newScheduler();
    const { writer } = rig(ts);
    const closing = new FakeTransport();
    closing.open = false;
    writer.attach(connection(closing));
    void writer.submit('a', 'a', 1000);
    expect([closing.written, writer.waitingCount]).toEqual([[], 1]);
    writer.detach();
    const next = new FakeTransport();
    writer.attach(connection(next));
    expect(next.written).toEqual(['a']);
  });

  test('a message waits at most its timeout, counted from its send, and is dropped with timeout', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { writer, drops } = rig(ts);
      void writer.submit('short', 'short', 100).catch(() => undefined);
      void writer.submit('long', 'long', 300).catch(() => undefined);
      ts.schedule(() => expect(drops).toEqual([['short', 'timeout']]), 150);
      ts.schedule(() => {
        const socket = new FakeTransport();
        writer.attach(connection(socket));
        expect(socket.written).toEqual(['long']);
      }, 200);
      flush();
      expect(drops).toEqual([['short', 'timeout']]);
    });
  });

  test('overflow drop-newest: the message over size is dropped with overflow, at once', async () => {
    const ts = newScheduler();
    const { writer, drops } = rig(ts, { size: 2 });
    const sent = ['a', 'b', 'c'].map((m) => writer.submit(m, m, 1000));
    expect(drops).toEqual([['c', 'overflow']]);
    expect(await outcomes([sent[2] as Promise<void>])).toEqual(['overflow']);
    expect(writer.waitingCount).toBe(2);
  });
});

describe('Writer: Waiting (backpressure)', () => {
  test("over the high-water mark it waits for 'drain', once, and flushes in order; then writes at once again", async () => {
    const ts = newScheduler();
    const { writer } = rig(ts, { highWaterMark: 500 });
    const socket = new FakeTransport();
    writer.attach(connection(socket));
    const sent = [writer.submit('big1', 'big1', 1000), writer.submit('a', 'a', 1000), writer.submit('b', 'b', 1000)];
    expect(socket.written).toEqual(['big1']); // 1000 bytes held: the rest waits
    expect([writer.waitingCount, socket.waits]).toEqual([2, 1]);
    socket.drain();
    expect(socket.written).toEqual(['big1', 'a', 'b']);
    expect(await outcomes(sent)).toEqual(['written', 'written', 'written']);
    void writer.submit('c', 'c', 1000);
    expect(socket.written.at(-1)).toBe('c');
    expect([writer.writtenAtOnce, socket.waits]).toEqual([2, 1]); // big1 and c at once; one wait in all
  });

  test('a flush that fills the socket again waits again, and nothing overtakes what waits', () => {
    const ts = newScheduler();
    const { writer } = rig(ts);
    const socket = new FakeTransport();
    writer.attach(connection(socket));
    for (const m of ['big1', 'big2', 'a', 'big3', 'b']) void writer.submit(m, m, 1000);
    expect(socket.written).toEqual(['big1']);
    socket.drain();
    expect(socket.written).toEqual(['big1', 'big2']);
    void writer.submit('c', 'c', 1000); // waits behind a and the rest
    socket.drain();
    expect(socket.written).toEqual(['big1', 'big2', 'a', 'big3']);
    socket.drain();
    expect(socket.written).toEqual(['big1', 'big2', 'a', 'big3', 'b', 'c']);
    expect(socket.waits).toBe(3);
  });

  test('detach cancels the wait; what waits stays for the next connection', () => {
    const ts = newScheduler();
    const { writer } = rig(ts);
    const first = new FakeTransport();
    writer.attach(connection(first));
    for (const m of ['big1', 'a']) void writer.submit(m, m, 1000);
    writer.detach();
    expect([first.cancels, writer.waitingCount]).toEqual([1, 1]);
    const second = new FakeTransport();
    writer.attach(connection(second));
    expect(second.written).toEqual(['a']);
  });
});

describe('Writer: Closed', () => {
  test('close() fails every waiting message with its reason, in order, and every later one', async () => {
    const ts = newScheduler();
    const { writer, drops, queued } = rig(ts);
    const waiting = [writer.submit('a', 'a', 1000), writer.submit('b', 'b', 1000)];
    writer.offer('c', 'c', 1000); // no promise: onDrop only
    writer.close();
    const later = writer.submit('d', 'd', 1000);
    writer.offer('e', 'e', 1000);
    expect(drops).toEqual([
      ['a', 'closed'],
      ['b', 'closed'],
      ['c', 'closed'],
      ['d', 'closed'],
      ['e', 'closed'],
    ]);
    expect(await outcomes([...waiting, later])).toEqual(['closed', 'closed', 'closed']);
    expect(queued).toEqual([true, false]);
    writer.attach(connection(new FakeTransport())); // nothing is written after close
    expect(writer.waitingCount).toBe(0);
  });

  test('close() while waiting for drain cancels the wait', () => {
    const ts = newScheduler();
    const { writer } = rig(ts);
    const socket = new FakeTransport();
    writer.attach(connection(socket));
    for (const m of ['big1', 'a']) void writer.submit(m, m, 1000).catch(() => undefined);
    writer.close();
    expect([socket.waits, socket.cancels]).toEqual([1, 1]);
    socket.drain();
    expect(socket.written).toEqual(['big1']);
  });
});

describe('Writer: closed from inside the writing stage', () => {
  test('a stale message found by the flush at attach, whose drop observer closes the writer: the stage ends cleanly', async () => {
    // A clock whose timers never fire: the message's deadline passes before its expiry timer
    // runs (a timer and an 'open' event in the same millisecond), so the flush drops it.
    let clock = 0;
    const scheduler = { now: () => clock, schedule: () => new Subscription() } as unknown as SchedulerLike;
    const drops: Array<[string, DropReason]> = [];
    const writer: Writer<string> = new Writer<string>({
      size: 10,
      overflow: 'drop-newest',
      highWaterMark: 500,
      scheduler,
    }, {
      writerDropped: (entry, reason) => {
        drops.push([entry.message, reason]);
        writer.close(); // what a dropped$ observer calling socket.close() does
      },
      writerQueued: () => undefined,
    });
    const sent = [writer.submit('stale', 'stale', 4), writer.submit('next', 'next', 1000)];
    clock = 5;
    const socket = new FakeTransport();
    writer.attach(connection(socket));
    expect(await outcomes(sent)).toEqual(['timeout', 'closed']);
    expect(drops).toEqual([
      ['stale', 'timeout'],
      ['next', 'closed'],
    ]);
    expect(socket.written).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 5)); // RxJS reports a stopped notification on a timer
    expect(tripped).toEqual([]); // before the fix: 'rxjs onStoppedNotification: C' (the stage was unsubscribed mid-write)
  });
});

describe('Writer.writeNow: control messages of one connection', () => {
  test('bypasses the queue and the high-water mark, only while the socket is open', () => {
    const ts = newScheduler();
    const { writer } = rig(ts);
    const socket = new FakeTransport();
    const conn = connection(socket);
    void writer.submit('queued', 'queued', 1000); // detached: waits
    writer.writeNow(conn, 'hello'); // a handshake's message, before attach
    socket.buffered = 10_000;
    writer.writeNow(conn, 'ping');
    socket.open = false;
    writer.writeNow(conn, 'lost');
    expect(socket.written).toEqual(['hello', 'ping']);
    expect(writer.waitingCount).toBe(1);
  });
});
