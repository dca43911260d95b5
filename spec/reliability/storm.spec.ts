import '../helpers/tripwires';
import { figure } from './figures';
import { generous, round, sized, total } from './kit';
import { reconnectStorm } from './scenarios';

// A reconnect storm: many clients in one process, `reconnect: { initialDelay: 100, maxDelay: 1000 }`,
// the server goes down (every connection reset, new ones refused) and comes back. Full jitter must
// spread the first retries; every client must be back soon after the server; nothing may be left.

const CLIENTS = sized(1000, 1000);
const DOWN_MS = 1500;
/** The figure: all reopen within 5 s of the server's return. */
const REOPEN_FIGURE = 5000;

test(`${CLIENTS} clients, server down ${DOWN_MS} ms: first retries spread, all reopen, no handle left`, async () => {
  const result = await reconnectStorm({ clients: CLIENTS, downMs: DOWN_MS });
  const { scheduled, actual } = result;
  const ratio = (s: { busiest: number; mean: number }): string => `${s.busiest}/${s.mean.toFixed(1)} = ${(s.busiest / s.mean).toFixed(2)}×`;

  figure(
    `${CLIENTS} clients: all reopen after the server's return`,
    `${round(result.reopenMs)} ms (first open of all: ${round(result.firstOpenMs)} ms)`,
    `≤ ${generous(REOPEN_FIGURE)} ms (${REOPEN_FIGURE} + margin); strict 5 s in npm run reliability`,
  );
  figure(
    `${CLIENTS} clients: first retries, busiest 10 ms bucket / mean`,
    `scheduled ${ratio(scheduled)} over ${round(scheduled.windowMs)} ms; started ${ratio(actual)} over ${round(actual.windowMs)} ms`,
    'scheduled ≤ 3× the mean; every first delay in [0, 100) ms',
  );
  figure(
    `${CLIENTS} clients: after teardown`,
    `${total(result.handlesLeft)} handles left; ${result.attemptsWhileDown} attempts while down; ${result.messagesEnded} messages$ ended`,
    '0 handles, 0 messages$ ended',
  );

  expect(result.delays.min).toBeGreaterThanOrEqual(0);
  expect(result.delays.max).toBeLessThan(100);
  expect(scheduled.busiest).toBeLessThanOrEqual(3 * scheduled.mean);
  expect(result.reopenMs).toBeLessThanOrEqual(generous(REOPEN_FIGURE));
  expect(result.messagesEnded).toBe(0);
  expect(result.handlesLeft).toEqual({});
}, 120_000);
