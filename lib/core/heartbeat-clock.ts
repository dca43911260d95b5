import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';

/** What a {@link Clock} runs when its time comes: one connection's heartbeat. */
export interface Timed {
  /** When it is due, on the scheduler's clock (set by the clock). */
  due: number;
  /** Its place in the clock's queue; -1 while not armed (kept by the clock). */
  slot: number;
  /** The order it was armed in, among equal `due`s (set by the clock). */
  order: number;
  /** Its time came. */
  fire(): void;
}

const clocks = new WeakMap<SchedulerLike, Clock>();

/** The one clock of `scheduler`, shared by every heartbeat that runs on it. */
export function clockOf(scheduler: SchedulerLike): Clock {
  let clock = clocks.get(scheduler);
  if (!clock) clocks.set(scheduler, (clock = new Clock(scheduler)));
  return clock;
}

/**
 * One timer for many connections' heartbeats: a queue of what is due (a binary heap by time, then
 * by the order armed in) and one scheduler action, armed for the earliest. A heartbeat per
 * connection with a timer of its own holds an `AsyncAction`, a Node `Timeout` and a bound
 * function at rest: about 260 bytes per client, for what a process can share. Each one still
 * fires at its own time, on the scheduler (virtual time in tests): what is due when the action
 * runs fires in order; what is armed while they fire (a 0 ms "next turn" included) waits for the
 * next run. With nothing armed, no timer is left.
 *
 * @example
 * const clock = clockOf(asyncScheduler);
 * const beat = { due: 0, slot: -1, order: 0, fire: () => console.log('ping') };
 * clock.arm(beat, 1000); // logs 'ping' in a second
 */
export class Clock {
  readonly #scheduler: SchedulerLike;
  readonly #queue: Timed[] = [];
  #action: Subscription | undefined;
  /** When the action runs (`Infinity`: none armed). */
  #armedFor = Infinity;
  #armed = 0;

  static readonly #tick = function (this: SchedulerAction<Clock>, clock?: Clock): void {
    (clock as Clock).#run();
  };

  constructor(scheduler: SchedulerLike) {
    this.#scheduler = scheduler;
  }

  /** The scheduler's time. */
  now(): number {
    return this.#scheduler.now();
  }

  /** Fires `timed` in `delay` ms (re-arms it if armed). */
  arm(timed: Timed, delay: number): void {
    const now = this.#scheduler.now();
    timed.due = now + delay;
    timed.order = ++this.#armed;
    if (timed.slot < 0) {
      timed.slot = this.#queue.length;
      this.#queue.push(timed);
    }
    this.#settle(timed.slot);
    this.#wake(now);
  }

  /** `timed` will not fire (unless armed again). */
  cancel(timed: Timed): void {
    const slot = timed.slot;
    if (slot < 0) return;
    timed.slot = -1;
    const queue = this.#queue;
    const last = queue.pop() as Timed;
    if (last !== timed) {
      queue[slot] = last;
      last.slot = slot;
      this.#settle(slot);
    }
    if (queue.length === 0) this.#stop();
  }

  /** Arms the action for the earliest due time, read against `now` (the time its due was computed from, if it was just armed). */
  #wake(now = this.#scheduler.now()): void {
    const first = this.#queue[0];
    if (!first) return this.#stop();
    // Armed for exactly the earliest: a timer left for a time that no longer has anything due would wake the process for nothing.
    if (this.#action && first.due === this.#armedFor) return;
    this.#action?.unsubscribe();
    this.#armedFor = first.due;
    this.#action = this.#scheduler.schedule(Clock.#tick, Math.max(0, first.due - now), this);
  }

  #stop(): void {
    this.#action?.unsubscribe();
    this.#action = undefined;
    this.#armedFor = Infinity;
  }

  #run(): void {
    this.#action = undefined;
    this.#armedFor = Infinity;
    const now = this.#scheduler.now();
    const queue = this.#queue;
    const due: Timed[] = [];
    while (queue.length > 0 && (queue[0] as Timed).due <= now) {
      const first = queue[0] as Timed;
      this.cancel(first);
      due.push(first);
    }
    // Fired in order; one armed again by an earlier one's firing waits for its new time. One
    // that throws does not stop the others, nor the clock: its error is thrown once they ran,
    // as its own timer would have thrown it.
    let failed = false;
    let failure: unknown;
    for (const timed of due) {
      if (timed.slot >= 0) continue;
      try {
        timed.fire();
      } catch (error) {
        if (!failed) {
          failed = true;
          failure = error;
        }
      }
    }
    this.#wake();
    if (failed) throw failure;
  }

  /** Moves the entry at `slot` up or down to its place. */
  #settle(slot: number): void {
    const queue = this.#queue;
    const timed = queue[slot] as Timed;
    let at = slot;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = queue[parent] as Timed;
      if (!before(timed, above)) break;
      queue[at] = above;
      above.slot = at;
      at = parent;
    }
    for (;;) {
      const left = 2 * at + 1;
      if (left >= queue.length) break;
      const right = left + 1;
      const child = right < queue.length && before(queue[right] as Timed, queue[left] as Timed) ? right : left;
      const below = queue[child] as Timed;
      if (!before(below, timed)) break;
      queue[at] = below;
      below.slot = at;
      at = child;
    }
    queue[at] = timed;
    timed.slot = at;
  }
}

function before(a: Timed, b: Timed): boolean {
  return a.due < b.due || (a.due === b.due && a.order < b.order);
}
