import '../helpers/tripwires';
import type { OverflowPolicy } from '../../lib/index.js';
import { runScenario } from './child';
import { figure } from './figures';
import { collector, deltaMb, mb, MB, round, sized } from './kit';
import { offlineFlood, type FloodResult } from './scenarios';

// Flood while offline: a producer sends far more than the buffer holds while the server refuses
// every connection. The buffer must never exceed its size; every message must be dropped exactly
// once, with a reason, on dropped$ and through its promise alike; the heap must not grow with the
// number of sends (peers measured in issue 3 grow by 47–148 MB for 1M offline sends).

const TOTAL = sized(100_000, 1_000_000);
const DURATION_MS = sized(1000, 10_000);
const SIZE = 1000;
const TIMEOUT = 300;
const options = { total: TOTAL, durationMs: DURATION_MS, size: SIZE, timeout: TIMEOUT };
/**
 * Heap after GC may grow this much at most while the buffer is full (it holds SIZE small messages:
 * < 1 MB), and once everything was dropped. Measured in a child process under --expose-gc: a Jest
 * process's heap moves by more than that on its own. Keeping every dropped message or its error
 * would take ~25 MB per 100,000.
 */
const PEAK_BOUND = 8 * MB;
const AFTER_BOUND = 4 * MB;

function expectExact(result: FloodResult): void {
  const { drops, rejections } = result;
  expect(result.syncThrows).toBe(0);
  expect(result.maxBuffered).toBe(SIZE); // reached, never exceeded
  expect(result.resolved).toBe(0); // nothing can be written: the server is down throughout
  expect(drops.closed).toBe(0);
  expect(drops.overflow + drops.timeout).toBe(TOTAL);
  expect(rejections).toEqual(drops);
  expect(result.duplicates).toBe(0);
  expect(result.unsettled).toBe(0);
  expect(result.early).toBe(0); // no message expired before its timeout
  expect(drops.timeout).toBeGreaterThanOrEqual(SIZE); // the buffer drained by expiry and refilled
}

test.each(['drop-newest', 'drop-oldest'] as OverflowPolicy[])(
  `${TOTAL.toLocaleString('en')} sends in ${DURATION_MS} ms, buffer ${SIZE}, %s: never over the size, every drop counted once`,
  async (overflow) => {
    const result = await offlineFlood({ ...options, overflow, gc: collector() });
    const { drops } = result;
    figure(
      `${TOTAL.toLocaleString('en')} offline sends in ${round(result.sendMs)} ms, size ${SIZE}, ${overflow}`,
      `max buffered ${result.maxBuffered}; dropped ${drops.overflow} overflow + ${drops.timeout} timeout = ${drops.overflow + drops.timeout}; ${result.duplicates} twice, ${result.unsettled} unsettled`,
      `≤ ${SIZE} waiting; overflow + timeout = ${TOTAL} exactly, promises = dropped$`,
    );
    expectExact(result);
  },
  60_000,
);

test(`the same flood (drop-newest) in a child process under --expose-gc: heap after GC does not grow with the sends`, async () => {
  const run = await runScenario<FloodResult>('flood', { ...options, overflow: 'drop-newest' }, 60_000 + DURATION_MS);
  const { heap } = run.result;
  figure(
    `${TOTAL.toLocaleString('en')} offline sends, heap after GC in a child`,
    `${deltaMb(heap.peak - heap.before)} with the buffer full, ${deltaMb(heap.after - heap.before)} once all dropped; exited by itself, code ${run.code}`,
    `≤ +${mb(PEAK_BOUND)} full, ≤ +${mb(AFTER_BOUND)} after`,
  );
  expect(run.code).toBe(0);
  expectExact(run.result);
  expect(heap.peak - heap.before).toBeLessThanOrEqual(PEAK_BOUND);
  expect(heap.after - heap.before).toBeLessThanOrEqual(AFTER_BOUND);
}, 120_000);
