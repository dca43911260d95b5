import type { DropReason } from '../../lib/core/errors.js';
import { Resumable } from '../../lib/core/resumable.js';
import { SessionProtocolError } from '../../lib/core/session-errors.js';
import { parseFrame } from '../../lib/core/session-frames.js';
import { Writer } from '../../lib/core/writer.js';
import { connection, FakeTransport } from '../helpers/fake-transport.js';
import { newScheduler } from '../helpers/test-scheduler.js';

// One end of a session against a fake transport in virtual time: what it writes (reliable frames
// in ticket order with the writer's queue, acknowledgements piggybacked or throttled to one per
// ackInterval), what it delivers (each reliable message once; duplicates dropped, gaps refused),
// and the replay on a new connection.

function rig(scheduler: ReturnType<typeof newScheduler>, ackInterval = 100) {
  const drops: Array<[string, DropReason]> = [];
  const writer = new Writer<string>({ size: 100, overflow: 'drop-newest', highWaterMark: 500, scheduler }, { writerDropped: (e, r) => void drops.push([e.message, r]), writerQueued: () => undefined });
  const session = new Resumable<string>({
    session: { delivery: 'reliable', retain: { size: 100, bytes: 1 << 20 }, ackInterval },
    waitLimit: 10,
    scheduler,
    writer,
    onDrop: (m, r) => void drops.push([m, r]),
  });
  const transport = new FakeTransport();
  const conn = connection(transport);
  return { writer, session, transport, conn, drops };
}

describe('Resumable', () => {
  test('delivers each reliable message once: a replayed one is discarded, a gap is a protocol error', () => {
    const scheduler = newScheduler();
    scheduler.run(() => {
      const { session, conn } = rig(scheduler);
      session.attach(conn, 0);
      expect(session.receive(parseFrame('R1:a'))).toBe('a');
      expect(session.receive(parseFrame('R2:b'))).toBe('b');
      expect(session.receive(parseFrame('R2:b'))).toBeUndefined(); // a replay
      expect(session.receive(parseFrame('V{"x":1}'))).toBe('{"x":1}');
      expect(() => session.receive(parseFrame('R4:d'))).toThrow(SessionProtocolError);
      expect(() => session.receive(parseFrame('W{"id":"x","resumed":true,"ack":0}'))).toThrow(/welcome frame arrived in the middle/);
      expect(session.received).toBe(2);
    });
  });

  test('acknowledgements: the first at once on an idle link, then at most one A frame per ackInterval under load', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const { session, conn, transport } = rig(scheduler, 100);
      session.attach(conn, 0);
      let seq = 0;
      // 1,000 reliable messages over one second, one every ms.
      for (let t = 0; t < 1000; t++) scheduler.schedule(() => void session.receive(parseFrame(`R${++seq}:m`)), t);
      flush();
      const acks = transport.written.filter((data) => typeof data === 'string' && data.startsWith('A'));
      expect(acks[0]).toBe('A1'); // sent at once after the first message
      expect(acks.length).toBeLessThanOrEqual(11); // ≤ 1 per 100 ms over 1 s, plus the first
      expect(acks.length).toBeGreaterThanOrEqual(10);
      expect(acks.at(-1)).toBe('A1000'); // the last one covers everything
    });
  });

  test('an acknowledgement rides on a reliable message going the other way: no A frame then', () => {
    const scheduler = newScheduler();
    scheduler.run(({ flush }) => {
      const { session, conn, transport, writer } = rig(scheduler);
      writer.attach(conn);
      session.attach(conn, 0);
      session.receive(parseFrame('R1:q'));
      void session.send('answer', 'answer', Infinity, true);
      flush();
      expect(transport.written).toEqual(['R1/1:answer']);
    });
  });

  test('a new connection: what the peer has is acknowledged (receipts resolve), the rest is written again, in order', async () => {
    const scheduler = newScheduler();
    const { session, conn, transport, writer } = rig(scheduler);
    writer.attach(conn);
    session.attach(conn, 0);
    const receipts = ['a', 'b', 'c'].map((m) => session.send(m, m, Infinity, true) as Promise<void>);
    expect(transport.written).toEqual(['R1:a', 'R2:b', 'R3:c']);
    writer.detach();
    session.detach();
    const next = new FakeTransport();
    const conn2 = connection(next);
    session.attach(conn2, 1); // the peer had message 1
    writer.attach(conn2);
    expect(next.written).toEqual(['R2:b', 'R3:c']);
    await expect(receipts[0]).resolves.toBeUndefined();
    session.receive(parseFrame('A3'));
    await expect(Promise.all(receipts)).resolves.toHaveLength(3);
    expect(session.retention.unacknowledged).toBe(0);
  });

  test('reliable and queued volatile messages go out in the order they were sent', () => {
    const scheduler = newScheduler();
    const { session, conn, transport, writer } = rig(scheduler);
    session.attach(conn, 0);
    // Detached: everything waits, the volatile ones in the queue, the reliable ones in the retention.
    void writer.submit('v1', 'Vv1', Infinity);
    void session.send('r1', 'r1', Infinity, false);
    void writer.submit('v2', 'Vv2', Infinity);
    void session.send('r2', 'r2', Infinity, false);
    writer.attach(conn);
    expect(transport.written).toEqual(['Vv1', 'R1:r1', 'Vv2', 'R2:r2']);
  });

  test('end: every unacknowledged message is dropped with the reason; the next session numbers from 1', async () => {
    const scheduler = newScheduler();
    const { session, conn, writer, drops } = rig(scheduler);
    writer.attach(conn);
    session.attach(conn, 0);
    session.receive(parseFrame('R1:x'));
    const receipt = session.send('a', 'a', Infinity, true) as Promise<void>;
    expect(session.end('session-lost')).toBe(1);
    await expect(receipt).rejects.toMatchObject({ reason: 'session-lost' });
    expect(drops).toEqual([['a', 'session-lost']]);
    expect([session.received, session.id, session.retention.lastSeq]).toEqual([0, undefined, 0]);
  });
});
