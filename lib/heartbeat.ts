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
  stop(): void;
}

/**
 * Pings every `interval` ms and requires each pong within `timeout` ms; calls `onTimeout` once
 * on a miss. One timer at a time; all timing on `scheduler`, so virtual time can drive it.
 */
export function startHeartbeat(config: HeartbeatConfig): Heartbeat {
  const { interval, timeout, scheduler, ping, onTimeout } = config;
  let pingAt = -1; // when the unanswered ping was sent; -1: none outstanding
  let stopped = false;
  let timer: Subscription | undefined;

  const expire = (): void => {
    if (stopped) return;
    stop();
    onTimeout();
  };
  const sendPing = (): void => {
    if (stopped) return;
    pingAt = scheduler.now();
    timer = scheduler.schedule(expire, timeout);
    ping();
  };
  const stop = (): void => {
    stopped = true;
    timer?.unsubscribe();
    timer = undefined;
  };
  const late = (): boolean => pingAt >= 0 && scheduler.now() - pingAt > timeout;

  timer = scheduler.schedule(sendPing, interval);
  return {
    pong() {
      if (stopped || pingAt < 0) return;
      if (late()) return expire();
      const next = Math.max(0, pingAt + interval - scheduler.now());
      pingAt = -1;
      timer?.unsubscribe();
      timer = scheduler.schedule(sendPing, next);
    },
    activity() {
      if (!stopped && late()) expire();
    },
    stop,
  };
}
