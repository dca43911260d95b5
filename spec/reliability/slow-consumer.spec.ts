import '../helpers/tripwires';
import { connect } from '../../lib/index.js';
import { createFaultProxy, createTestServer } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { collector, deltaMb, heapAfterGc, instrumentedWebSocket, mb, MB, now, round, sized } from './kit';
import { sleep, waitFor } from '../helpers/wait';
import { Scope } from '../helpers/scope';

// A slow consumer: the proxy stops reading (real TCP backpressure) while a producer that awaits
// each send() pushes a lot of data. The writer must stop at the high-water mark (bufferedAmount
// ≤ HWM + one message, observed around every ws.send by a subclass of ws), memory must stay flat
// while stalled, and after un-stalling — within buffer.timeout — everything must arrive, in order.

const MESSAGE = 64 * 1024;
const TOTAL_BYTES = sized(100, 100) * MB;
const COUNT = Math.ceil(TOTAL_BYTES / MESSAGE);
const HIGH_WATER = 256 * 1024;
/** Measured once the producer blocked; the whole stall stays well within buffer.timeout. */
const STALL_MS = 800;
const BUFFER_TIMEOUT = 10_000;
/** Frame = payload + 2-byte header + 8-byte extended length + 4-byte mask. */
const FRAME = MESSAGE + 14;
/**
 * Heap after GC (and Buffers) may grow this much over the stall: the producer waits, so nothing
 * should pile up; a writer without backpressure would hand ws the remaining ~75 MB. The margin is
 * for the noise of a Jest process's heap.
 */
const STALL_HEAP_BOUND = 16 * MB;

const serialize = (m: { seq: number }): string => String(m.seq).padEnd(MESSAGE, '.');

test(`${mb(TOTAL_BYTES)} pushed by an awaiting producer through a stall: bufferedAmount ≤ HWM + one message, memory flat, all arrive in order`, async () => {
  const scope = new Scope();
  onDispose(() => scope.dispose());
  const server = scope.add(await createTestServer({ wsOptions: { maxPayload: 2 * MESSAGE } }), (s) => s.close());
  const proxy = scope.add(await createFaultProxy({ target: server.url }), (p) => p.close());
  let received = 0;
  let outOfOrder = 0;
  let corrupt = 0;
  server.received$.subscribe(({ data }) => {
    const text = data as string;
    if (text.length !== MESSAGE || !text.endsWith('.')) corrupt++;
    if (Number.parseInt(text.slice(0, 12), 10) !== received) outOfOrder++;
    received++;
  });

  const ws = instrumentedWebSocket({ sends: true });
  const socket = connect<unknown, { seq: number }>(proxy.url, {
    WebSocket: ws.WebSocket,
    serialize,
    heartbeat: false,
    highWaterMark: HIGH_WATER,
    buffer: { size: 16, timeout: BUFFER_TIMEOUT },
  });
  scope.defer(() => socket.close());
  socket.messages$.subscribe({ error: () => undefined });
  let drops = 0;
  socket.dropped$.subscribe(() => drops++);
  await waitFor(() => socket.state.status === 'open', 'open');

  let written = 0;
  let maxWaiting = 0;
  const producer = (async () => {
    for (let seq = 0; seq < COUNT; seq++) {
      await socket.send({ seq });
      written++;
      maxWaiting = Math.max(maxWaiting, socket.buffered);
    }
  })();

  const gc = collector();
  await waitFor(() => written >= COUNT / 4, 'a quarter written', 30_000);
  proxy.set('up', { kind: 'stall' });
  const stalledAt = now();
  // Writes go on until the kernel's buffers are full: wait for the producer to block.
  let plateau = { written, at: now() };
  await waitFor(() => {
    if (written !== plateau.written) plateau = { written, at: now() };
    return now() - plateau.at >= 150;
  }, 'the producer to block', 5000);
  const heapAtStall = heapAfterGc(gc);
  const buffersAtStall = process.memoryUsage().arrayBuffers;
  const writtenAtStall = written;
  await sleep(STALL_MS);
  const heapAtEnd = heapAfterGc(gc);
  const buffersAtEnd = process.memoryUsage().arrayBuffers;
  const writtenDuringStall = written - writtenAtStall;
  const bufferedAtEnd = ws.record.instances[0]?.bufferedAmount ?? 0;
  proxy.set('up', { kind: 'pass' });
  const stallMs = now() - stalledAt;

  await producer;
  await waitFor(() => received === COUNT, `${COUNT} messages at the server (${received} so far)`, 60_000);

  const sends = ws.record.sends;
  const maxBefore = Math.max(...sends.map((s) => s.before));
  const maxAfter = Math.max(...sends.map((s) => s.after));
  figure(
    `${mb(TOTAL_BYTES)} in ${COUNT} × 64 KB through a ${round(stallMs)} ms stall, HWM ${HIGH_WATER / 1024} KB`,
    `bufferedAmount max ${round(maxAfter / 1024)} KB after a write (≤ ${round(maxBefore / 1024)} KB before); ${writtenDuringStall} written in ${STALL_MS} ms once blocked; heap ${deltaMb(heapAtEnd - heapAtStall)}, buffers ${deltaMb(buffersAtEnd - buffersAtStall)} over it; ${received}/${COUNT} arrived, ${outOfOrder} out of order, ${drops} drops`,
    `after ≤ HWM + one frame (${round((HIGH_WATER + FRAME) / 1024)} KB), before ≤ HWM; heap and buffers ≤ +${mb(STALL_HEAP_BOUND)}; all ${COUNT} in order, 0 drops`,
  );
  expect(maxBefore).toBeLessThanOrEqual(HIGH_WATER);
  expect(maxAfter).toBeLessThanOrEqual(HIGH_WATER + FRAME);
  expect(maxAfter).toBeGreaterThan(HIGH_WATER); // backpressure was reached
  expect(bufferedAtEnd).toBeLessThanOrEqual(HIGH_WATER + FRAME);
  expect(sends.every((s) => s.readyState === 1)).toBe(true);
  expect(maxWaiting).toBeLessThanOrEqual(1); // an awaiting producer never has more than one waiting
  // Stalled means stalled: once the kernel buffers were full, at most one more refill got in.
  expect(writtenDuringStall * FRAME).toBeLessThanOrEqual(HIGH_WATER + FRAME);
  expect(heapAtEnd - heapAtStall).toBeLessThanOrEqual(STALL_HEAP_BOUND);
  expect(buffersAtEnd - buffersAtStall).toBeLessThanOrEqual(STALL_HEAP_BOUND);
  expect(drops).toBe(0);
  expect(received).toBe(COUNT);
  expect(outOfOrder).toBe(0);
  expect(corrupt).toBe(0);
  expect(sends).toHaveLength(COUNT);
}, 120_000);
