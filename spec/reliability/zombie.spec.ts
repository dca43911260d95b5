import '../helpers/tripwires';
import { connect } from '../../lib/index.js';
import { createFaultProxy, createTestServer } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { generous, percentile, round, SEED, sized, TIMER_SLACK } from './kit';
import { zombieDetection } from './scenarios';
import { sleep, waitFor } from '../helpers/wait';

// Zombie links: the proxy keeps both sockets open and swallows bytes (both ways, up only, down
// only). The heartbeat must notice within interval + timeout (+ 100 ms of timer slack) every time;
// without a heartbeat, nothing can notice, and the control proves the fault really is silent.

const heartbeat = { interval: 100, timeout: 100 };
/** The figure: interval + timeout + 100 ms. */
const FIGURE = heartbeat.interval + heartbeat.timeout + 100;
const RUNS = sized(5, 20);
/**
 * The lower bound: no detection before `timeout` has passed without a pong. A ping already in
 * flight when the link went silent started its timeout a little earlier (its round trip, well
 * under a millisecond on loopback), hence a few ms of slack.
 */
const EARLIEST = heartbeat.timeout - TIMER_SLACK - 3;

describe('zombie: a blackholed link is detected by the heartbeat', () => {
  test.each(['both', 'up', 'down'] as const)(`blackhole %s: detected within interval + timeout + 100 ms in ${RUNS} of ${RUNS} runs`, async (direction) => {
    const result = await zombieDetection({ direction, runs: RUNS, ...heartbeat, seed: SEED });
    const bound = generous(FIGURE);
    const within = result.detections.filter((ms) => ms <= bound).length;
    figure(
      `blackhole ${direction}, heartbeat ${heartbeat.interval}/${heartbeat.timeout} ms`,
      `detected after p50 ${round(percentile(result.detections, 50))} ms, max ${round(Math.max(...result.detections))} ms; ${within}/${RUNS} runs; ${result.spurious.length} false alarms`,
      `${RUNS}/${RUNS} ≥ ${EARLIEST} and ≤ ${bound} ms (${FIGURE} + margin), each a HeartbeatTimeoutError, then reconnected`,
    );
    expect(Math.min(...result.detections)).toBeGreaterThanOrEqual(EARLIEST);
    expect(result.errors).toEqual(new Array(RUNS).fill('HeartbeatTimeoutError'));
    expect(within).toBe(RUNS);
    // Each run ended one connection and opened the next; messages$ never ended.
    expect(result.connections).toBe(RUNS + 1);
    expect(result.messagesEnded).toBe(false);
  }, 60_000);

  test('control: with heartbeat off, a blackholed link stays open', async () => {
    const server = await createTestServer();
    onDispose(() => server.close());
    const proxy = await createFaultProxy({ target: server.url });
    onDispose(() => proxy.close());
    const socket = connect(proxy.url, { heartbeat: false, reconnect: { initialDelay: 10 }, closeTimeout: 100 });
    onDispose(() => socket.close());
    const errors: Error[] = [];
    socket.errors$.subscribe((error) => errors.push(error));
    let ended = false;
    socket.messages$.subscribe({ error: () => (ended = true), complete: () => (ended = true) });
    await waitFor(() => socket.state.status === 'open', 'open');
    proxy.set('both', { kind: 'blackhole' });
    const quietMs = 3 * FIGURE + 500;
    await sleep(quietMs);
    figure('control: heartbeat off, blackhole both', `still '${socket.state.status}' after ${quietMs} ms, ${errors.length} errors`, "'open', 0 errors, 1 connection");
    expect(socket.state.status).toBe('open');
    expect(errors).toEqual([]);
    expect(ended).toBe(false);
    expect(proxy.links()).toHaveLength(1);
  });
});
