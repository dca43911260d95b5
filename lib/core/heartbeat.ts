import type { SchedulerLike } from 'rxjs';
import { clockOf, type Clock, type Timed } from './heartbeat-clock.js';

/** The heartbeat's timing: one object for all of a client's connections. */
export interface HeartbeatConfig {
  /** Milliseconds between pings. */
  interval: number;
  /** Milliseconds a ping may wait for its pong. */
  timeout: number;
  /** Called with the round-trip time of each pong that meets its deadline, in milliseconds. */
  onRtt?: ((ms: number) => void) | undefined;
}

/** The connection a heartbeat checks: it sends the pings and hears of a late pong. */
export interface HeartbeatOwner {
  /** Sends one ping (a ping frame, or an application-level ping). */
  heartbeatPing(): void;
  /** Called once, when a pong is late. */
  heartbeatTimeout(): void;
}

/** A running heartbeat: feed it pongs and activity, stop it when the connection ends. */
export interface Heartbeat {
  /** A pong arrived. */
  pong(): void;
  /**
   * Any other traffic arrived. It does not prove the round trip (only a pong does), but it is a
   * moment to check the deadline against the clock, in case timers were throttled.
   */
  activity(): void;
  /**
   * Checks now rather than at the next interval (the page came back online or visible): pings at
   * once, unless a ping is already waiting for its pong; then its deadline stands, judged by the
   * clock since timers may have been throttled.
   */
  probe(): void;
  stop(): void;
}

/**
 * Pings `owner` every `interval` ms and requires each pong within `timeout` ms; calls
 * `owner.heartbeatTimeout()` once on a miss. One deadline at a time, kept by the scheduler's
 * shared {@link Clock} (one timer for every connection on it); all timing on `scheduler`, so
 * virtual time can drive it.
 *
 * A deadline that passes is not yet a miss. When the event loop was busy, the timer phase runs
 * before the socket is read, and the pong (or data ahead of it) may already wait unread. So the
 * verdict is deferred by one turn of the scheduler (a 0 ms timer runs after the I/O the loop has
 * pending), and deferred again while traffic keeps arriving, up to another `timeout`: a zombie
 * sends nothing and is still declared dead one turn after its deadline.
 */
export function startHeartbeat(config: HeartbeatConfig, scheduler: SchedulerLike, owner: HeartbeatOwner): Heartbeat {
  return new Beat(config, scheduler, owner);
}

/** What a beat does when its deadline comes. */
const enum Work {
  Ping,
  Expire,
  Judge,
}

// A class that its clock fires: one object per connection, no closures and no timer of its own
// (a process may hold thousands of connections).
class Beat implements Heartbeat, Timed {
  readonly #config: HeartbeatConfig;
  readonly #clock: Clock;
  readonly #owner: HeartbeatOwner;
  #pingAt = -1; // when the unanswered ping was sent; -1: none outstanding
  #stopped = false;
  #judging = false; // the deadline passed; the verdict waits for the pending I/O
  #work = Work.Ping;
  #seen = 0; // traffic counter, to tell whether anything arrived while the verdict waited
  #seenBefore = 0;
  // Timed: the clock's.
  due = 0;
  slot = -1;
  order = 0;

  constructor(config: HeartbeatConfig, scheduler: SchedulerLike, owner: HeartbeatOwner) {
    this.#config = config;
    this.#clock = clockOf(scheduler);
    this.#owner = owner;
    this.#arm(Work.Ping, config.interval);
  }

  /** The clock's call: the deadline armed last came. */
  fire(): void {
    if (this.#work === Work.Ping) this.#sendPing();
    else if (this.#work === Work.Expire) this.#expire();
    else this.#judge();
  }

  pong(): void {
    if (this.#stopped || this.#pingAt < 0) return;
    // In time until the verdict: a pong read after its deadline was waiting unread (the loop
    // was busy or the timers throttled), and it proves the peer alive now.
    const now = this.#clock.now();
    this.#config.onRtt?.(now - this.#pingAt);
    const next = Math.max(0, this.#pingAt + this.#config.interval - now);
    this.#pingAt = -1;
    this.#judging = false;
    this.#arm(Work.Ping, next);
  }

  activity(): void {
    this.#seen++;
    // Throttled timers: the clock says the deadline passed though its timer has not fired.
    if (!this.#stopped && !this.#judging && this.#pingAt >= 0 && this.#clock.now() - this.#pingAt > this.#config.timeout) this.#expire();
  }

  probe(): void {
    if (this.#stopped || this.#judging) return;
    if (this.#pingAt < 0) this.#sendPing();
    else if (this.#clock.now() - this.#pingAt > this.#config.timeout) this.#expire();
  }

  stop(): void {
    this.#stopped = true;
    this.#clock.cancel(this);
  }

  #arm(work: Work, delay: number): void {
    this.#work = work;
    this.#clock.arm(this, delay);
  }

  /** Judges after one more turn of the scheduler, comparing the traffic seen until then. */
  #judgeNextTurn(): void {
    this.#seenBefore = this.#seen;
    this.#arm(Work.Judge, 0);
  }

  #judge(): void {
    if (this.#stopped || this.#pingAt < 0) return;
    // Traffic still arriving: the pong may be right behind it; wait one more turn, within reason.
    if (this.#seen !== this.#seenBefore && this.#clock.now() - this.#pingAt <= 2 * this.#config.timeout) return this.#judgeNextTurn();
    this.stop();
    this.#owner.heartbeatTimeout();
  }

  #expire(): void {
    if (this.#stopped || this.#pingAt < 0 || this.#judging) return;
    this.#judging = true;
    this.#judgeNextTurn();
  }

  #sendPing(): void {
    if (this.#stopped) return;
    this.#pingAt = this.#clock.now();
    this.#arm(Work.Expire, this.#config.timeout);
    this.#owner.heartbeatPing();
  }
}

/**
 * Options of `heartbeat`: a ping every `interval`, each answered within `timeout`. In Node (`ws`)
 * the pings are ping frames. Browsers cannot send ping frames: there, and wherever `message` is
 * given, the heartbeat is application-level — `message()` is written (bypassing the buffer) and
 * an incoming message accepted by `isPong` (without `isPong`: any message) meets the deadline.
 *
 * @example
 * ```ts
 * const heartbeat: HeartbeatOptions<Message, Message> = {
 *   interval: 15_000,
 *   timeout: 5_000,
 *   message: () => ({ op: 'ping' }),
 *   isPong: (reply) => reply.op === 'pong',
 * };
 * const socket = connect<Message, Message>('wss://example.com/live', { heartbeat });
 * ```
 */
export interface HeartbeatOptions<In = unknown, Out = unknown> {
  /**
   * Milliseconds between pings (> 0 and <= 2147483647).
   * @default 25000
   */
  interval?: number;
  /**
   * Milliseconds a ping may wait for its pong (> 0 and <= 2147483647). A miss terminates the socket and ends the
   * connection as `{ code: 1006, reason: 'heartbeat timeout' }`.
   * @default 10000
   */
  timeout?: number;
  /**
   * The application-level ping message. Without it, browsers have no heartbeat.
   * @default undefined (ping frames in Node)
   */
  message?(): Out;
  /**
   * Which incoming message is the pong; such messages do not reach `messages$`.
   * @default undefined (any incoming message meets the deadline)
   */
  isPong?(message: In): boolean;
}

