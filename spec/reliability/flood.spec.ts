import '../helpers/tripwires';
import type { OverflowPolicy } from '../../lib/index.js';
import { figure } from './figures';
import { collector, deltaMb, mb, MB, round, sized } from './kit';
import { offlineFlood } from './scenarios';

// Flood while offline: a producer sends far more than the buffer holds while the server refuses
// every connection. The buffer must never exceed its size; every message must be dropped exactly
// once, with a reason, on dropped$ and through its promise alike; the heap must not grow with the
// number of sends (peers measured in issue 3 grow by 47–148 MB for 1M offline sends).

const TOTAL = sized(100_000, 1_000_000);
const DURATION_MS = sized(1000, 10_000);
const SIZE = 1000;
const TIMEOUT = 300;
/**
 * Heap after GC may grow this much at most while the buffer is full: it holds SIZE small messages
 * (< 1 MB; `npm run reliability` measures it alone in a child). The rest is room for the noise of
 * a Jest process; keeping every dropped message or its error would be ~30 MB.
 */
const PEAK_BOUND = 16 * MB;
/** ... and this much once everything was dropped. */
const AFTER_BOUND = 8 * MB;

test.each(['drop-newest', 'drop-oldest'] as OverflowPolicy[])(
  `${TOTAL.toLocaleString('en')} sends in ${DURATION_MS} ms, buffer ${SIZE}, %s: bounded, every drop counted once, heap flat`,
  async (overflow) => {
    const result = await offlineFlood({ total: TOTAL, durationMs: DURATION_MS, size: SIZE, timeout: TIMEOUT, overflow, gc: collector() });
    const { drops, rejections, heap } = result;
    figure(
      `${TOTAL.toLocaleString('en')} offline sends in ${round(result.sendMs)} ms, size ${SIZE}, ${overflow}`,
      `max buffered ${result.maxBuffered}; dropped ${drops.overflow} overflow + ${drops.timeout} timeout = ${drops.overflow + drops.timeout}; heap after GC ${deltaMb(heap.peak - heap.before)} with the buffer full, ${deltaMb(heap.after - heap.before)} after`,
      `≤ ${SIZE} waiting; overflow + timeout = ${TOTAL} exactly, promises = dropped$; heap ≤ +${mb(PEAK_BOUND)}`,
    );

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
    expect(heap.peak - heap.before).toBeLessThanOrEqual(PEAK_BOUND);
    expect(heap.after - heap.before).toBeLessThanOrEqual(AFTER_BOUND);
  },
  60_000,
);
