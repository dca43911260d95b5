import type { OpenConnection } from '../core/connection.js';

/**
 * A client's heartbeat settings, for every connection it makes, and the round-trip time the last
 * pong measured (`metrics.rtt`): kept here rather than by a callback into the client, so that a
 * client keeps no closure for it.
 *
 * @example
 * const beat = new ClientHeartbeat(25_000, 10_000, undefined); // ping frames
 * beat.onRtt(12);
 * beat.rtt; // 12
 */
export class ClientHeartbeat {
  readonly interval: number;
  readonly timeout: number;
  /** An application-level ping (a message written on the connection); `undefined`: ping frames. */
  readonly ping: ((conn: OpenConnection) => void) | undefined;
  /** Milliseconds, from the last pong that met its deadline. */
  rtt: number | undefined;

  constructor(interval: number, timeout: number, ping: ((conn: OpenConnection) => void) | undefined) {
    this.interval = interval;
    this.timeout = timeout;
    this.ping = ping;
    this.rtt = undefined;
  }

  onRtt(ms: number): void {
    this.rtt = ms;
  }
}
