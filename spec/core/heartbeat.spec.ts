import type { SchedulerLike } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { startHeartbeat, type Heartbeat } from '../../lib/core/heartbeat.js';
import { Clock } from '../../lib/core/heartbeat-clock.js';
import { newScheduler } from '../helpers/test-scheduler.js';

// startHeartbeat in virtual time: a ping every `interval` ms, each answered by a pong within
// `timeout` ms, else heartbeatTimeout() once. Events are logged as [virtual time, what].

type Event = [number, 'ping' | 'timeout'];

/**
 * A scheduler whose timers fire `lag` ms late while its clock stays right, as a throttled
 * background tab or a blocked event loop does. `lag` can change while the test runs.
 */
function throttled(ts: TestScheduler): { scheduler: SchedulerLike; setLag(ms: number): void } {
  let lag = 0;
  const scheduler = {
    now: () => ts.now(),
    schedule: (work: () => void, delay = 0, state?: unknown) => ts.schedule(work, delay + lag, state),
  } as unknown as SchedulerLike;
  return { scheduler, setLag: (ms) => void (lag = ms) };
}

function start(
  ts: TestScheduler,
  config: { interval: number; timeout: number; scheduler?: SchedulerLike; pongAfter?: number; pongUntil?: number },
): { heartbeat: Heartbeat; log: Event[] } {
  const log: Event[] = [];
  const { pongAfter, pongUntil = Infinity } = config;
  const heartbeat: Heartbeat = startHeartbeat({ interval: config.interval, timeout: config.timeout }, config.scheduler ?? ts, {
    heartbeatPing: () => {
      log.push([ts.now(), 'ping']);
      // a peer that answers every ping `pongAfter` ms later (on the real clock), until `pongUntil`
      if (pongAfter !== undefined && ts.now() + pongAfter <= pongUntil) ts.schedule(() => heartbeat.pong(), pongAfter);
    },
    heartbeatTimeout: () => void log.push([ts.now(), 'timeout']),
  });
  return { heartbeat, log };
}

/** Runs `fn` at virtual time `at`. */
function at(ts: TestScheduler, time: number, fn: () => void): void {
  ts.schedule(fn, time);
}

describe('startHeartbeat: ping schedule', () => {
  test('the first ping is sent after one interval, not at start', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      at(ts, 99, () => expect(log).toEqual([]));
      at(ts, 101, () => heartbeat.stop());
      flush();
      expect(log).toEqual([[100, 'ping']]);
    });
  });

  test('pings every interval while each pong arrives in time: 100, 200, 300, 400', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30, pongAfter: 5 });
      at(ts, 450, () => heartbeat.stop());
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [200, 'ping'],
        [300, 'ping'],
        [400, 'ping'],
      ]);
    });
  });

  test('the next ping is due one interval after the previous ping, not after its pong', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      // pongs at 129, 229: the pings stay at 100, 200, 300
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30, pongAfter: 29 });
      at(ts, 350, () => heartbeat.stop());
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [200, 'ping'],
        [300, 'ping'],
      ]);
    });
  });

  test('with timeout > interval, a pong after the next ping was due sends it at once', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 50, timeout: 80 });
      at(ts, 120, () => heartbeat.pong()); // the ping at 50 answered after 70 ms: in time
      at(ts, 130, () => heartbeat.pong()); // the ping at 120 answered in 10: next due at 170
      at(ts, 175, () => heartbeat.stop());
      flush();
      expect(log).toEqual([
        [50, 'ping'],
        [120, 'ping'],
        [170, 'ping'],
      ]);
    });
  });

  test('only one ping is outstanding: no second ping while the first waits for its pong', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { log } = start(ts, { interval: 10, timeout: 45 });
      flush();
      expect(log).toEqual([
        [10, 'ping'],
        [55, 'timeout'],
      ]);
    });
  });

  test('an unsolicited pong (no ping outstanding) changes nothing', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      at(ts, 50, () => heartbeat.pong());
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [130, 'timeout'],
      ]);
    });
  });
});

describe('startHeartbeat: a missed pong', () => {
  test('calls heartbeatTimeout exactly once, at ping + timeout, and pings no more', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { log } = start(ts, { interval: 100, timeout: 30 });
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [130, 'timeout'],
      ]);
      expect(ts.actions).toEqual([]);
    });
  });

  test('a miss after answered pings times out at that ping + timeout', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      // pongs for the pings at 100 and 200 only
      const { log } = start(ts, { interval: 100, timeout: 30, pongAfter: 10, pongUntil: 250 });
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [200, 'ping'],
        [300, 'ping'],
        [330, 'timeout'],
      ]);
    });
  });

  test('a pong one millisecond before the deadline is in time', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      at(ts, 129, () => heartbeat.pong());
      at(ts, 229, () => heartbeat.stop()); // 1 ms before the second ping's deadline
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [200, 'ping'],
      ]);
    });
  });

  test('other traffic does not stand in for a pong: activity before the deadline, still a timeout at ping + timeout', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      for (const t of [105, 110, 120, 129]) at(ts, t, () => heartbeat.activity());
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [130, 'timeout'],
      ]);
    });
  });

  test('a pong after the timeout fired is ignored: still one heartbeatTimeout, no new ping', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      at(ts, 131, () => heartbeat.pong());
      at(ts, 140, () => heartbeat.activity());
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [130, 'timeout'],
      ]);
    });
  });
});

describe('startHeartbeat: deadlines checked against the clock (throttled timers)', () => {
  test('a pong read after its deadline but before the verdict keeps the connection (it waited unread)', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { scheduler, setLag } = throttled(ts);
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30, scheduler });
      at(ts, 50, () => setLag(1000)); // from now on timers fire 1 s late: the deadline timer at 1130
      at(ts, 140, () => heartbeat.pong());
      at(ts, 2500, () => heartbeat.stop());
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [1200, 'ping'], // due at 200, fired 1 s late
      ]);
    });
  });

  test('the verdict waits one scheduler turn after the deadline: a pong in that turn wins, silence times out', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      // The deadline timer fires at 130; the pong is read in the same frame, after it.
      at(ts, 130, () => heartbeat.pong());
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [200, 'ping'],
        [230, 'timeout'], // nothing read: a timeout one (0 ms) turn after the deadline
      ]);
    });
  });

  test('traffic read during the verdict defers it by one more turn each time (the pong may be behind the data)', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      // From the deadline on, the peer's data is read in each of the next 5 turns, and no pong.
      let turns = 0;
      const stream = (): void => {
        heartbeat.activity();
        if (++turns < 5) ts.schedule(stream, 0);
      };
      at(ts, 101, () => ts.schedule(stream, 29)); // created after the deadline timer: runs after it
      flush();
      expect(turns).toBe(5);
      expect(log).toEqual([
        [100, 'ping'],
        [130, 'timeout'],
      ]);
    });
  });

  test('a peer that streams data but never pongs times out at most 2 × timeout after its ping', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { scheduler, setLag } = throttled(ts);
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30, scheduler });
      at(ts, 101, () => setLag(10)); // each turn of the verdict takes 10 ms: the deadline fires at 140
      for (let t = 105; t <= 300; t += 5) at(ts, t, () => heartbeat.activity());
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [170, 'timeout'], // verdict turns at 150 and 160 saw traffic; at 170, 70 ms > 2 × 30
      ]);
    });
  });

  test('activity() after the deadline by the clock (timer throttled) starts the verdict, exactly once', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { scheduler, setLag } = throttled(ts);
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30, scheduler });
      at(ts, 50, () => setLag(10));
      at(ts, 131, () => heartbeat.activity()); // verdict timer at 131 + 0 + 10
      at(ts, 132, () => heartbeat.activity()); // traffic during the verdict: one more turn
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [151, 'timeout'],
      ]);
    });
  });

  test('activity() before the deadline with a throttled timer does nothing; a pong in time still keeps it alive', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { scheduler, setLag } = throttled(ts);
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30, scheduler });
      at(ts, 50, () => setLag(1000));
      at(ts, 125, () => heartbeat.activity());
      at(ts, 128, () => heartbeat.pong()); // in time: the next ping is due at 200, fires at 1200
      at(ts, 1100, () => heartbeat.activity());
      at(ts, 1150, () => heartbeat.stop());
      flush();
      expect(log).toEqual([[100, 'ping']]);
    });
  });

  test('a pong at exactly ping + timeout is in time by the clock', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { scheduler, setLag } = throttled(ts);
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30, scheduler });
      at(ts, 50, () => setLag(1000));
      at(ts, 130, () => heartbeat.pong());
      at(ts, 131, () => heartbeat.activity());
      at(ts, 140, () => heartbeat.stop());
      flush();
      expect(log).toEqual([[100, 'ping']]);
    });
  });
});

describe('startHeartbeat: stop()', () => {
  test('before the first ping: no ping, no timeout, nothing scheduled', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      heartbeat.stop();
      expect(ts.actions).toEqual([]);
      flush();
      expect(log).toEqual([]);
    });
  });

  test('while a pong is awaited: no timeout, nothing scheduled, and later pongs and activity do nothing', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      let pending: number[] | undefined;
      at(ts, 110, () => {
        heartbeat.stop();
        pending = ts.actions.map((a) => a.delay);
      });
      at(ts, 115, () => heartbeat.pong());
      at(ts, 200, () => heartbeat.activity());
      flush();
      expect(pending).toEqual([115, 200]); // only this test's own probes are left
      expect(log).toEqual([[100, 'ping']]);
    });
  });

  test('after a pong: the next ping is cancelled', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 30 });
      at(ts, 110, () => heartbeat.pong());
      at(ts, 150, () => heartbeat.stop());
      flush();
      expect(log).toEqual([[100, 'ping']]);
    });
  });

  test('stop() is idempotent, also from inside heartbeatTimeout', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const log: Event[] = [];
      const heartbeat: Heartbeat = startHeartbeat({ interval: 10, timeout: 5 }, ts, {
        heartbeatPing: () => void log.push([ts.now(), 'ping']),
        heartbeatTimeout: () => {
          log.push([ts.now(), 'timeout']);
          heartbeat.stop();
          heartbeat.stop();
        },
      });
      flush();
      heartbeat.stop();
      expect(log).toEqual([
        [10, 'ping'],
        [15, 'timeout'],
      ]);
      expect(ts.actions).toEqual([]);
    });
  });

  test('a running heartbeat keeps exactly one timer: the next ping, or the pong deadline', () => {
    const ts = newScheduler();
    const own: number[][] = [];
    ts.run(({ flush }) => {
      const { heartbeat } = start(ts, { interval: 100, timeout: 30 });
      own.push(ts.actions.map((a) => a.delay)); // the first ping, at 100
      at(ts, 101, () => own.push(ts.actions.map((a) => a.delay))); // the deadline at 130 (+ probes)
      at(ts, 110, () => heartbeat.pong());
      at(ts, 111, () => own.push(ts.actions.map((a) => a.delay))); // the next ping at 200 (+ probe)
      at(ts, 112, () => heartbeat.stop());
      flush();
    });
    expect(own).toEqual([[100], [110, 111, 112, 130], [112, 200]]);
  });
});

describe('startHeartbeat: probe() (the page came back online or visible)', () => {
  test('pings at once, and the next ping follows one interval after the pong', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 1000, timeout: 50, pongAfter: 10 });
      at(ts, 300, () => heartbeat.probe());
      at(ts, 1400, () => heartbeat.stop());
      flush();
      expect(log).toEqual([
        [300, 'ping'],
        [1300, 'ping'],
      ]);
    });
  });

  test('a probe nobody answers times out after `timeout`, not after interval + timeout', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { log } = start(ts, { interval: 60_000, timeout: 50 });
      flush();
      expect(log).toEqual([
        [60_000, 'ping'],
        [60_050, 'timeout'],
      ]);
    });
    const ts2 = newScheduler();
    ts2.run(({ flush }) => {
      const { heartbeat, log } = start(ts2, { interval: 60_000, timeout: 50 });
      at(ts2, 200, () => heartbeat.probe());
      flush();
      expect(log).toEqual([
        [200, 'ping'],
        [250, 'timeout'],
      ]);
    });
  });

  test('while a ping waits, a probe sends no second ping; past its deadline (throttled timers) it judges at once', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { scheduler, setLag } = throttled(ts);
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 50, scheduler });
      at(ts, 50, () => setLag(10_000)); // the page is hidden: its timers freeze (the ping's deadline too)
      at(ts, 120, () => heartbeat.probe()); // the ping of 100 waits: no second ping
      at(ts, 399, () => setLag(0)); // visible again, 300 ms after the ping; the deadline's timer is still frozen
      at(ts, 400, () => heartbeat.probe());
      flush();
      expect(log).toEqual([
        [100, 'ping'],
        [400, 'timeout'],
      ]);
    });
  });

  test('after stop(), a probe does nothing', () => {
    const ts = newScheduler();
    ts.run(({ flush }) => {
      const { heartbeat, log } = start(ts, { interval: 100, timeout: 50 });
      at(ts, 10, () => heartbeat.stop());
      at(ts, 20, () => heartbeat.probe());
      flush();
      expect(log).toEqual([]);
    });
  });
});

describe('startHeartbeat: one timer for every connection on a scheduler', () => {
  test('three heartbeats started at different times ping on their own schedules from one scheduler action; none is left once they stop', () => {
    const ts = newScheduler();
    const timers: number[] = [];
    ts.run(({ flush }) => {
      const beats: Array<{ heartbeat: Heartbeat; log: Event[] }> = [];
      beats.push(start(ts, { interval: 100, timeout: 30, pongAfter: 5 }));
      at(ts, 10, () => beats.push(start(ts, { interval: 100, timeout: 30, pongAfter: 5 })));
      at(ts, 20, () => beats.push(start(ts, { interval: 50, timeout: 30 }))); // never answered
      for (const time of [15, 105, 131]) at(ts, time, () => timers.push(clockTimers(ts)));
      at(ts, 250, () => {
        for (const { heartbeat } of beats) heartbeat.stop();
      });
      at(ts, 251, () => timers.push(clockTimers(ts)));
      flush();
      expect(beats.map(({ log }) => log)).toEqual([
        [
          [100, 'ping'],
          [200, 'ping'],
        ],
        [
          [110, 'ping'],
          [210, 'ping'],
        ],
        [
          [70, 'ping'],
          [100, 'timeout'], // 70 + 30, one turn later
        ],
      ]);
    });
    expect(timers).toEqual([1, 1, 1, 0]);
  });
});

/** The scheduler actions pending for heartbeats (their clock's), not the test's own. */
function clockTimers(ts: TestScheduler): number {
  return ts.actions.filter((action) => (action as unknown as { state?: unknown }).state instanceof Clock).length;
}

test('a heartbeat whose ping throws does not keep the others on its clock from firing; its error surfaces after them', () => {
  const ts = newScheduler();
  const pings: string[] = [];
  let thrown: unknown;
  ts.run(({ flush }) => {
    const owner = (name: string, fail: boolean) => ({
      heartbeatPing: () => {
        pings.push(`${name}@${ts.now()}`);
        if (fail) throw new Error(`${name} failed`);
      },
      heartbeatTimeout: () => undefined,
    });
    startHeartbeat({ interval: 100, timeout: 30 }, ts, owner('a', true));
    startHeartbeat({ interval: 100, timeout: 30 }, ts, owner('b', false));
    try {
      flush();
    } catch (error) {
      thrown = error;
    }
  });
  expect(pings).toEqual(['a@100', 'b@100']);
  expect(thrown).toEqual(new Error('a failed'));
});
