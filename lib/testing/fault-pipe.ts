import type { Socket } from 'node:net';
import type { SchedulerLike, Subscription } from 'rxjs';
import type { NormalizedFault } from './fault.js';

/**
 * One direction of a proxied link: reads the source socket, applies the current fault, writes the
 * destination socket. Internal to the fault proxy.
 */

/**
 * What a pipe needs from its link.
 *
 * @internal
 * @example
 * ```ts
 * const hooks: PipeHooks = { scheduler: asyncScheduler, random: Math.random, counted: (n) => (bytes += n), cut: end };
 * ```
 */
export interface PipeHooks {
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  /** Called with the size of every chunk once it is written to the destination's kernel buffer. */
  counted(bytes: number): void;
  /** Called once a `limit` is spent: the link must end both sockets. */
  cut(how: 'fin' | 'rst'): void;
}

type Item =
  | { readonly at: number; readonly data: Buffer }
  | { readonly at: number; readonly end: true }
  | { readonly at: number; readonly cut: 'fin' | 'rst' };

type Hold = 'stall' | 'drain' | 'queue';

/** Above this many queued bytes a timed fault stops reading, so memory stays bounded. */
const QUEUE_HIGH_WATER = 1024 * 1024;

/**
 * A one-way pipe between two sockets under a switchable fault.
 *
 * @internal
 * @example
 * ```ts
 * const up = new FaultPipe(client, upstream, hooks, { kind: 'pass' });
 * up.set({ kind: 'delay', ms: 100, jitterMs: 0 });
 * ```
 */
export class FaultPipe {
  private fault: NormalizedFault = { kind: 'pass' };
  private budget = 0;
  // Timed items waiting for their time; ordered by `at`, so delivery keeps the byte order.
  private readonly queue: Item[] = [];
  private queuedBytes = 0;
  private lastAt = 0;
  private readonly holds = new Set<Hold>();
  private action: Subscription | undefined;
  private disposed = false;

  constructor(
    private readonly source: Socket,
    private readonly dest: Socket,
    private readonly hooks: PipeHooks,
    fault: NormalizedFault,
  ) {
    source.on('data', (chunk: Buffer) => this.onData(chunk));
    source.on('end', () => this.onEnd());
    dest.on('drain', () => this.release('drain'));
    this.set(fault);
  }

  /** True while the pipe swallows everything, so the link must not propagate a reset either. */
  get blackholed(): boolean {
    return this.fault.kind === 'blackhole';
  }

  /** Switches the fault; a `limit` starts counting its budget now. */
  set(fault: NormalizedFault): void {
    this.fault = fault;
    if (fault.kind === 'limit') this.budget = fault.bytes;
    if (fault.kind === 'stall') this.hold('stall');
    else this.release('stall');
  }

  /** Stops timers and drops what is queued; the link destroys the sockets. */
  dispose(): void {
    this.disposed = true;
    this.action?.unsubscribe();
    this.action = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.disposed) return;
    const fault = this.fault;
    const now = this.hooks.scheduler.now();
    switch (fault.kind) {
      case 'blackhole':
        return;
      case 'pass':
      case 'stall': // bytes read before the pause took effect still go out, in order
        return this.push({ at: Math.max(now, this.lastAt), data: chunk });
      case 'delay':
        return this.push({ at: Math.max(now + fault.ms + this.hooks.random() * fault.jitterMs, this.lastAt), data: chunk });
      case 'throttle': {
        // ~20 ms worth per piece: smooth enough to measure, coarse enough not to flood timers
        const size = Math.max(1, Math.floor(fault.bytesPerSec / 50));
        for (const piece of split(chunk, size)) {
          const at = Math.max(now, this.lastAt) + (piece.length * 1000) / fault.bytesPerSec;
          this.push({ at, data: piece });
        }
        return;
      }
      case 'slice': {
        let at = Math.max(now, this.lastAt + fault.gapMs);
        for (const piece of split(chunk, fault.bytes)) {
          this.push({ at, data: piece });
          at += fault.gapMs;
        }
        return;
      }
      case 'limit': {
        if (this.budget <= 0) return; // already cut; the sockets are on their way out
        const allowed = chunk.subarray(0, this.budget);
        this.budget -= allowed.length;
        const at = Math.max(now, this.lastAt);
        if (allowed.length > 0) this.push({ at, data: allowed });
        if (this.budget === 0) this.push({ at, cut: fault.then });
        return;
      }
    }
  }

  private onEnd(): void {
    // A zombie swallows the FIN too: the other side must never learn the link is gone.
    if (this.disposed || this.fault.kind === 'blackhole') return;
    this.push({ at: Math.max(this.hooks.scheduler.now(), this.lastAt), end: true });
  }

  private push(item: Item): void {
    this.lastAt = item.at;
    if (this.queue.length === 0 && item.at <= this.hooks.scheduler.now()) {
      this.deliver(item);
      return;
    }
    this.queue.push(item);
    if ('data' in item) this.queuedBytes += item.data.length;
    if (this.queuedBytes > QUEUE_HIGH_WATER) this.hold('queue');
    if (this.queue.length === 1) this.schedule();
  }

  private schedule(): void {
    this.action?.unsubscribe();
    const head = this.queue[0];
    if (head === undefined || this.disposed) return;
    const wait = Math.max(0, head.at - this.hooks.scheduler.now());
    this.action = this.hooks.scheduler.schedule(() => {
      this.action = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const now = this.hooks.scheduler.now();
    while (!this.disposed && this.queue[0] !== undefined && this.queue[0].at <= now) {
      const item = this.queue.shift() as Item;
      if ('data' in item) this.queuedBytes -= item.data.length;
      this.deliver(item);
    }
    if (this.queuedBytes <= QUEUE_HIGH_WATER) this.release('queue');
    this.schedule();
  }

  private deliver(item: Item): void {
    if ('cut' in item) {
      this.hooks.cut(item.cut);
      return;
    }
    // After a FIN or a reset of the destination, later bytes have nowhere to go.
    if (!this.dest.writable) return;
    if ('end' in item) {
      this.dest.end();
      return;
    }
    // Counted once the kernel took them: bytes queued to an upstream that never connects do not count.
    const size = item.data.length;
    const flushed = this.dest.write(item.data, (error) => error == null && this.hooks.counted(size));
    if (!flushed) this.hold('drain');
  }

  private hold(reason: Hold): void {
    this.holds.add(reason);
    this.source.pause();
  }

  private release(reason: Hold): void {
    if (!this.holds.delete(reason)) return;
    if (this.holds.size === 0 && !this.source.destroyed) this.source.resume();
  }
}

function split(chunk: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < chunk.length; offset += size) pieces.push(chunk.subarray(offset, offset + size));
  return pieces;
}
