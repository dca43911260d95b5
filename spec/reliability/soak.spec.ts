import '../helpers/tripwires';
import { runScenario } from './child';
import { figure } from './figures';
import { collector, deltaMb, mb, MB, round, sized } from './kit';
import { soakCycles, type SoakResult } from './scenarios';

// Soak: connect, send, receive the echo, close — over and over. Listener counts must not change,
// no MaxListenersExceededWarning (the tripwires count every process warning), and in a child
// process under --expose-gc the heap after GC must stay flat and the process must exit by itself.

const CYCLES = sized(1000, 10_000);
/** Heap after GC may differ by this much between the first sample (after warm-up) and the last. */
const HEAP_BOUND = sized(1, 2) * MB;

function heapGrowth(result: SoakResult): number {
  return (result.heap[result.heap.length - 1] as number) - (result.heap[0] as number);
}

test(`${CYCLES.toLocaleString('en')} connect/send/close cycles in this process: listener counts unchanged, no warning`, async () => {
  const result = await soakCycles({ cycles: CYCLES, samples: 2, gc: collector() });
  figure(
    `${CYCLES.toLocaleString('en')} cycles in-process`,
    `${round(result.ms / CYCLES * 1000) / 1000} ms per cycle; process listeners ${JSON.stringify(result.processListeners.after)}; ${result.warnings.length} warnings`,
    'listener counts unchanged, 0 warnings, one echo per cycle, 0 server sockets left',
  );
  expect(result.echoes).toBe(CYCLES);
  expect(result.processListeners.after).toEqual(result.processListeners.before);
  expect(result.warnings).toEqual([]);
  expect(result.serverOpen).toBe(0);
}, 120_000);

test(`${CYCLES.toLocaleString('en')} cycles in a child process (--expose-gc): heap after GC flat, and it exits by itself`, async () => {
  const run = await runScenario<SoakResult>('soak', { cycles: CYCLES, samples: 11 }, 30_000 + CYCLES * 20);
  const growth = heapGrowth(run.result);
  figure(
    `${CYCLES.toLocaleString('en')} cycles in a child: heap after GC`,
    `${mb(run.result.heap[0] as number)} → ${mb(run.result.heap[run.result.heap.length - 1] as number)} (${deltaMb(growth)}); exited ${run.exitAfterResult} ms after its result, code ${run.code}`,
    `growth ≤ ${mb(HEAP_BOUND)}; exits by itself with code 0`,
  );
  expect(run.code).toBe(0);
  expect(run.result.echoes).toBe(CYCLES);
  expect(run.result.warnings).toEqual([]);
  expect(run.result.processListeners.after).toEqual(run.result.processListeners.before);
  expect(growth).toBeLessThanOrEqual(HEAP_BOUND);
}, 120_000);
