import { connect } from '../../../lib/index.js';
import { createTestServer } from '../../../lib/testing/index.js';
import { heapAfterGc, listenerCounts, now } from '../kit';
import { Scope } from '../../helpers/scope';

/**
 * Soak: connect, send, receive the echo, close, many times over.
 *
 * One of the scenarios whose strict figures `npm run reliability` measures in child processes
 * (measure.ts), and which the Jest specs run at CI sizes with generous bounds: one implementation,
 * so CI and docs/reliability.md measure the same thing. Jest-free; it disposes what it created,
 * so a child process running it exits by itself.
 */

export interface SoakOptions {
  readonly cycles: number;
  /** Heap samples (after GC) are taken this many times over the run. */
  readonly samples: number;
  readonly gc: () => void;
}

export interface SoakResult {
  readonly cycles: number;
  readonly ms: number;
  /** Heap after GC, at evenly spaced cycles (the first after a warm-up of 10% of the cycles). */
  readonly heap: number[];
  /** Listener counts on `process` before and after. */
  readonly processListeners: { before: Record<string, number>; after: Record<string, number> };
  /** Process warnings emitted during the run (MaxListenersExceededWarning would be one). */
  readonly warnings: string[];
  /** Echoes received: one per cycle if right. */
  readonly echoes: number;
  /** Server-side connections still open at the end. */
  readonly serverOpen: number;
}

/** Connect, send, receive the echo, close — `cycles` times, on one echo server. */
export async function soakCycles(options: SoakOptions): Promise<SoakResult> {
  const { cycles, samples, gc } = options;
  const scope = new Scope();
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  scope.defer(() => process.off('warning', onWarning));
  try {
    const server = scope.add(await createTestServer({ echo: true }), (s) => s.close());
    // The kit's server keeps each connection until waitForConnection() claims it: claim them all, so
    // the heap figures are the client's.
    void (async () => {
      for (;;) if (!(await server.waitForConnection().catch(() => undefined))) return;
    })();
    const before = listenerCounts(process);
    const heap: number[] = [];
    const warmup = Math.max(1, Math.floor(cycles / 10));
    const every = Math.max(1, Math.floor((cycles - warmup) / Math.max(1, samples - 1)));
    let echoes = 0;
    const start = now();
    for (let cycle = 0; cycle < cycles; cycle++) {
      if (cycle >= warmup && (cycle - warmup) % every === 0) heap.push(heapAfterGc(gc));
      const socket = connect<{ cycle: number }, { cycle: number }>(server.url);
      // The subscriber holds the connection until close(), which completes messages$.
      await new Promise<void>((resolve, reject) => {
        socket.messages$.subscribe({
          next: (message) => {
            if (message.cycle !== cycle) return reject(new Error(`cycle ${cycle} got the echo of ${message.cycle}`));
            echoes++;
            resolve();
          },
          error: reject,
        });
        socket.send({ cycle }).catch(reject);
      });
      await socket.close();
    }
    const ms = now() - start;
    heap.push(heapAfterGc(gc));
    const serverOpen = server.clients.size;
    return { cycles, ms, heap, processListeners: { before, after: listenerCounts(process) }, warnings, echoes, serverOpen };
  } finally {
    await scope.dispose();
  }
}
