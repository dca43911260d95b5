import type { SchedulerLike, Subscription, Unsubscribable } from 'rxjs';

/** One release per `unsubscribe()`: a teardown that gives a hold back, one object per holder owner. */
class Releaser implements Unsubscribable {
  readonly #holds: Holds;

  constructor(holds: Holds) {
    this.#holds = holds;
  }

  unsubscribe(): void {
    this.#holds.release();
  }
}

/**
 * Reference counting with a linger: what `share({ resetOnRefCountZero: () => timer(ms) })` does
 * for an Observable, for a connection that has no values to share. The first {@link Holds.hold}
 * calls `firstHold()`; `linger` ms after the last release (unless held again, or `uses()` moved
 * meanwhile: then it waits again) `lastRelease()` runs. `share` allocates a Subject and two
 * subscribers per holder; this is one counter and one timer, measured at 1.9 KB less heap per
 * idle connection (docs/architecture.md), which counts for a process holding thousands.
 */
export abstract class Holds {
  readonly #linger: number;
  readonly #scheduler: SchedulerLike;
  #count = 0;
  #held = false;
  #over = false;
  #timer: Subscription | undefined;
  #releaser: Releaser | undefined;

  /** `linger`: milliseconds after the last release (`Infinity`: never let go). */
  constructor(linger: number, scheduler: SchedulerLike) {
    this.#linger = linger;
    this.#scheduler = scheduler;
  }

  /** A teardown that is one {@link Holds.release} (each subscription that holds adds it once); made on first use. */
  get releaser(): Unsubscribable {
    return (this.#releaser ??= new Releaser(this));
  }

  /** The first holder arrived. */
  protected abstract firstHold(): void;
  /** The last holder left `linger` ms ago. */
  protected abstract lastRelease(): void;
  /** A counter of uses that do not hold (a send written at once): moving, it restarts the linger. */
  protected abstract uses(): number;

  /**
   * Holds until the matching {@link Holds.release}. A pair of calls rather than a Subscription:
   * the callers are internal and each releases once, and an idle connection keeps no object per holder.
   */
  hold(): void {
    if (this.#over) return;
    this.#count++;
    this.#timer?.unsubscribe();
    this.#timer = undefined;
    if (!this.#held) {
      this.#held = true; // before firstHold(): a hold taken inside it does not start again
      this.firstHold();
    }
  }

  /** No hold from now on, and no timer left behind. */
  protected endHolds(): void {
    this.#over = true;
    this.#timer?.unsubscribe();
    this.#timer = undefined;
  }

  release(): void {
    if (--this.#count > 0 || this.#over || !this.#held || this.#linger === Infinity) return;
    const wait = (seen: number): void => {
      this.#timer = this.#scheduler.schedule(() => {
        this.#timer = undefined;
        if (this.#count > 0) return;
        if (this.uses() !== seen) return wait(this.uses());
        this.#held = false;
        this.lastRelease();
      }, this.#linger);
    };
    wait(this.uses());
  }
}
