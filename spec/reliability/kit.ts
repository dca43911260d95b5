import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket, type ClientOptions } from 'ws';
import type { WebSocketConstructor } from '../../lib/index.js';
import { sleep } from '../helpers/wait';

/**
 * What the reliability scenarios share, free of Jest so that `measure.ts` can run the same
 * scenarios in a child process (`node --expose-gc --import tsx`): sizes, bounds, a seeded random
 * source, an instrumented `ws` class, handle counts. The wait, the sleep, the dispose registry
 * (`Scope`) and the gated server are the suite's own, in `spec/helpers/` (Jest-free too).
 */

/** `RXWIRE_SOAK=1` runs the large sizes. */
export const SOAK = process.env.RXWIRE_SOAK === '1';

/** The CI size, or the soak size under `RXWIRE_SOAK=1`. */
export function sized<T>(ci: T, soak: T): T {
  return SOAK ? soak : ci;
}

/**
 * The fixed seed of every randomized scenario (printed in the summary): `RXWIRE_SEED` replays
 * another one.
 */
export const SEED = Number.parseInt(process.env.RXWIRE_SEED ?? '', 10) || 0x5eed;

/**
 * The upper bound a spec asserts for a timing figure: the figure plus max(500 ms, 50%), so a noisy
 * CI machine is never red by chance. The strict figures are `npm run reliability`'s. Noise only
 * makes things later, so where the claim has a lower bound (a timeout must have passed) assert
 * it beside this one, tight: a timer that fires too early must turn the spec red.
 */
export function generous(figureMs: number): number {
  return Math.round(figureMs + Math.max(500, figureMs * 0.5));
}

export { prng } from '../helpers/prng';

/**
 * How early a timer may seem to fire, measured with `performance.now()`: Node rounds delays to
 * whole milliseconds and counts from the event loop's cached clock.
 */
export const TIMER_SLACK = 2;

/** Milliseconds on a monotonic clock. */
export const now = (): number => performance.now();

export { settleWithin } from '../helpers/settle';

/** p-th percentile (0–100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const round = (ms: number): number => Math.round(ms);

/** What an {@link instrumentedWebSocket} saw. */
export interface WsRecord {
  readonly instances: WebSocket[];
  /** `performance.now()` of each construction, in order. */
  readonly createdAt: number[];
  /** Every `close(code, reason)` call the client made on a socket, and whether `ws` threw. */
  readonly closeCalls: Array<{ code: number | undefined; threw: string | undefined }>;
  /** `bufferedAmount` around every `send`, with the readyState at the call. */
  readonly sends: Array<{ before: number; after: number; readyState: number }>;
}

/**
 * `ws`'s WebSocket, subclassed (never mocked) to record what the client does with it: instances,
 * construction times, `close()` codes (and any throw of `ws`), `bufferedAmount` around `send()`.
 */
export function instrumentedWebSocket(options: { sends?: boolean } = {}): { WebSocket: WebSocketConstructor; record: WsRecord } {
  const record: WsRecord = { instances: [], createdAt: [], closeCalls: [], sends: [] };
  const recordSends = options.sends ?? false;
  class Instrumented extends WebSocket {
    constructor(address: string, protocols?: string | string[], wsOptions?: ClientOptions) {
      super(address, protocols, wsOptions);
      record.instances.push(this);
      record.createdAt.push(now());
    }

    override close(code?: number, reason?: string | Buffer): void {
      try {
        super.close(code, reason);
        record.closeCalls.push({ code, threw: undefined });
      } catch (error) {
        record.closeCalls.push({ code, threw: String(error) });
        throw error;
      }
    }

    override send(data: unknown, ...rest: unknown[]): void {
      if (!recordSends) return (WebSocket.prototype.send as (...args: unknown[]) => void).call(this, data, ...rest);
      const before = this.bufferedAmount;
      const readyState = this.readyState;
      (WebSocket.prototype.send as (...args: unknown[]) => void).call(this, data, ...rest);
      record.sends.push({ before, after: this.bufferedAmount, readyState });
    }
  }
  return { WebSocket: Instrumented as unknown as WebSocketConstructor, record };
}

/** Active handles and requests by type (`process.getActiveResourcesInfo()`). */
export type Counts = Record<string, number>;

export function activeResources(): Counts {
  const counts: Counts = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** Resource types that grew since `before`, by how much. */
export function growth(before: Counts, after: Counts): Counts {
  const grown: Counts = {};
  for (const [type, count] of Object.entries(after)) if (count > (before[type] ?? 0)) grown[type] = count - (before[type] ?? 0);
  return grown;
}

/** Waits (up to `within` ms) for the active resources to fall back to `before`; returns the growth left. */
export async function settledGrowth(before: Counts, within = 3000): Promise<Counts> {
  const deadline = now() + within;
  for (;;) {
    const grown = growth(before, activeResources());
    if (Object.keys(grown).length === 0 || now() > deadline) return grown;
    await sleep(20);
  }
}

/** Sum of the values of `counts`. */
export function total(counts: Counts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** Listener counts of an emitter, by event name. */
export function listenerCounts(emitter: NodeJS.EventEmitter): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of emitter.eventNames()) counts[String(name)] = emitter.listenerCount(name);
  return counts;
}

/**
 * A garbage collector: `global.gc` under `--expose-gc`, else one obtained at runtime (V8 lets a
 * process expose it late), so the Jest specs can measure heap after GC too.
 */
export function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap used after a full collection, in bytes. */
export function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

export const MB = 1024 * 1024;
export const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;
/** A signed difference in MB: `+0.9 MB`, `−2.0 MB`. */
export const deltaMb = (bytes: number): string => `${bytes < 0 ? '−' : '+'}${(Math.abs(bytes) / MB).toFixed(1)} MB`;
