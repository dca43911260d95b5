import type { SchedulerLike, Subscription } from 'rxjs';

/** What the heartbeat needs from a connection, and tells it. */
export interface HeartbeatConfig {
  /** Milliseconds between pings. */
  interval: number;
  /** Milliseconds a ping may wait for its pong. */
  timeout: number;
  scheduler: SchedulerLike;
  /** Sends one ping frame. */
  ping: () => void;
  /** Called once, when a pong is late. */
  onTimeout: () => void;
  /** Called with the round-trip time of each pong that meets its deadline, in milliseconds. */
  onRtt?: (ms: number) => void;
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
 * Pings every `interval` ms and requires each pong within `timeout` ms; calls `onTimeout` once
 * on a miss. One timer at a time; all timing on `scheduler`, so virtual time can drive it.
 *
 * A deadline that passes is not yet a miss. When the event loop was busy, the timer phase runs
 * before the socket is read, and the pong (or data ahead of it) may already wait unread. So the
 * verdict is deferred by one turn of the scheduler (a 0 ms timer runs after the I/O the loop has
 * pending), and deferred again while traffic keeps arriving, up to another `timeout`: a zombie
 * sends nothing and is still declared dead one turn after its deadline.
 */
export function startHeartbeat(config: HeartbeatConfig): Heartbeat {
  const { interval, timeout, scheduler, ping, onTimeout, onRtt } = config;
  let pingAt = -1; // when the unanswered ping was sent; -1: none outstanding
  let stopped = false;
  let judging = false; // the deadline passed; the verdict waits for the pending I/O
  let timer: Subscription | undefined;
  let seen = 0; // traffic counter, to tell whether anything arrived while the verdict waited

  const arm = (work: () => void, delay: number): void => {
    timer?.unsubscribe();
    timer = scheduler.schedule(work, delay);
  };
  /** Judges after one more turn of the scheduler, comparing the traffic seen until then. */
  const judgeNextTurn = (): void => {
    const seenBefore = seen;
    arm(() => judge(seenBefore), 0);
  };
  const judge = (seenBefore: number): void => {
    if (stopped || pingAt < 0) return;
    // Traffic still arriving: the pong may be right behind it; wait one more turn, within reason.
    if (seen !== seenBefore && scheduler.now() - pingAt <= 2 * timeout) return judgeNextTurn();
    stop();
    onTimeout();
  };
  const expire = (): void => {
    if (stopped || pingAt < 0 || judging) return;
    judging = true;
    judgeNextTurn();
  };
  const sendPing = (): void => {
    if (stopped) return;
    pingAt = scheduler.now();
    arm(expire, timeout);
    ping();
  };
  const stop = (): void => {
    stopped = true;
    timer?.unsubscribe();
    timer = undefined;
  };

  arm(sendPing, interval);
  return {
    pong() {
      if (stopped || pingAt < 0) return;
      // In time until the verdict: a pong read after its deadline was waiting unread (the loop
      // was busy or the timers throttled), and it proves the peer alive now.
      const now = scheduler.now();
      onRtt?.(now - pingAt);
      const next = Math.max(0, pingAt + interval - now);
      pingAt = -1;
      judging = false;
      arm(sendPing, next);
    },
    activity() {
      seen++;
      // Throttled timers: the clock says the deadline passed though its timer has not fired.
      if (!stopped && !judging && pingAt >= 0 && scheduler.now() - pingAt > timeout) expire();
    },
    probe() {
      if (stopped || judging) return;
      if (pingAt < 0) sendPing();
      else if (scheduler.now() - pingAt > timeout) expire();
    },
    stop,
  };
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

