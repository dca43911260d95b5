import '../helpers/tripwires';
import { connect, ConnectionClosedError, ConnectTimeoutError, RetriesExhaustedError, type RxSocket } from '../../lib/index.js';
import { createRawPeer } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { generous, instrumentedWebSocket, now, percentile, round, TIMER_SLACK } from './kit';
import { waitFor } from '../helpers/wait';
import { Scope } from '../helpers/scope';
import { gatedServer } from '../helpers/gated-server';

// The server is down when the client starts: connections refused, or accepted and never answered.
// While attempts remain nothing errors but errors$; the delay before each retry is a full-jitter
// draw within its cap (observed through the injectable `reconnect.random`); a hung handshake is
// aborted at connectTimeout.

function scope(): Scope {
  const s = new Scope();
  onDispose(() => s.dispose());
  return s;
}

/** What one client went through. */
interface Trace {
  readonly errors: Array<{ error: Error; at: number }>;
  readonly draws: Array<{ r: number; at: number }>;
  end: { error?: unknown; completed?: boolean; at: number } | undefined;
}

function trace(socket: RxSocket<unknown, unknown>, draws: Trace['draws']): Trace {
  const t: Trace = { errors: [], draws, end: undefined };
  socket.errors$.subscribe((error) => t.errors.push({ error, at: now() }));
  socket.messages$.subscribe({
    error: (error: unknown) => (t.end = { error, at: now() }),
    complete: () => (t.end = { completed: true, at: now() }),
  });
  return t;
}

/** A random source that records every draw and when it was made (when the retry was scheduled). */
function recordingRandom(draws: Trace['draws']): () => number {
  return () => {
    const r = Math.random();
    draws.push({ r, at: now() });
    return r;
  };
}

describe('server down at start', () => {
  test('refused: no error while attempts remain, and every delay is a full-jitter draw within its cap', async () => {
    const s = scope();
    const gated = await gatedServer(s);
    gated.stop('keep'); // every connection is refused
    const CLIENTS = 20;
    const MAX_ATTEMPTS = 6;
    const backoff = { initialDelay: 20, maxDelay: 100, factor: 2 };
    const cap = (retry: number): number => Math.min(backoff.maxDelay, backoff.initialDelay * backoff.factor ** (retry - 1));

    const clients = Array.from({ length: CLIENTS }, () => {
      const draws: Trace['draws'] = [];
      const ws = instrumentedWebSocket();
      const socket = connect(gated.url, {
        heartbeat: false,
        WebSocket: ws.WebSocket,
        reconnect: { ...backoff, maxAttempts: MAX_ATTEMPTS, random: recordingRandom(draws) },
      });
      s.defer(() => socket.close());
      return { socket, record: ws.record, trace: trace(socket, draws) };
    });
    await waitFor(() => clients.every((c) => c.trace.end), 'every client to run out of attempts', 10_000);

    const slack: number[] = [];
    const fractions: number[] = [];
    let withinCap = 0;
    let retries = 0;
    for (const { record, trace: t } of clients) {
      // Exactly MAX_ATTEMPTS attempts; one errors$ entry per attempt that will be retried; messages$
      // errors only after the last attempt failed.
      expect(record.createdAt).toHaveLength(MAX_ATTEMPTS);
      expect(t.errors).toHaveLength(MAX_ATTEMPTS - 1);
      for (const { error } of t.errors) expect(error).toMatchObject({ name: 'ConnectionClosedError', code: 1006 });
      expect(t.end?.error).toBeInstanceOf(RetriesExhaustedError);
      expect(t.end?.error).toMatchObject({ attempts: MAX_ATTEMPTS, cause: expect.any(ConnectionClosedError) });
      expect(t.end?.at).toBeGreaterThanOrEqual(record.createdAt[MAX_ATTEMPTS - 1] as number);
      expect(t.draws).toHaveLength(MAX_ATTEMPTS - 1);
      t.draws.forEach(({ r, at }, i) => {
        const retry = i + 1;
        const drawn = r * cap(retry);
        retries++;
        if (drawn >= 0 && drawn <= cap(retry)) withinCap++;
        fractions.push(r);
        // Attempt retry + 1 starts after the drawn delay, not much later.
        const waited = (record.createdAt[retry] as number) - at;
        expect(waited).toBeGreaterThanOrEqual(drawn - TIMER_SLACK);
        slack.push(waited - drawn);
      });
    }
    // Full jitter: the draws cover [0, 1), not a narrow band (equal jitter would stay above 0.5).
    const low = fractions.filter((f) => f < 0.25).length;
    const high = fractions.filter((f) => f >= 0.75).length;
    figure(
      `refused, ${CLIENTS} clients × ${MAX_ATTEMPTS} attempts`,
      `${withinCap}/${retries} delays in [0, cap]; started p50 ${percentile(slack, 50).toFixed(1)} ms, max ${round(Math.max(...slack))} ms after the draw; ${low} draws < 0.25, ${high} ≥ 0.75`,
      `all in [0, cap]; errors$ ${MAX_ATTEMPTS - 1} per client, then RetriesExhaustedError; slack ≤ 500 ms`,
    );
    expect(withinCap).toBe(retries);
    expect(Math.max(...slack)).toBeLessThanOrEqual(500);
    expect(low).toBeGreaterThan(0);
    expect(high).toBeGreaterThan(0);
  });

  test('refused, then back: it opens with no error but errors$, one entry per failed attempt', async () => {
    const s = scope();
    const gated = await gatedServer(s);
    gated.stop('keep');
    const ws = instrumentedWebSocket();
    const socket = connect(gated.url, { heartbeat: false, WebSocket: ws.WebSocket, reconnect: { initialDelay: 10, maxDelay: 40 } });
    s.defer(() => socket.close());
    const t = trace(socket, []);
    await waitFor(() => ws.record.createdAt.length >= 5, 'five refused attempts');
    gated.restart();
    await waitFor(() => socket.state.status === 'open', 'open once the server is back');
    const attempts = ws.record.createdAt.length;
    figure('refused, then back', `open at attempt ${socket.state.attempt} after ${t.errors.length} errors$ entries`, 'errors$ = attempts − 1; messages$ never errors');
    expect(socket.state.attempt).toBe(attempts);
    expect(t.errors).toHaveLength(attempts - 1);
    expect(t.end).toBeUndefined();
  });

  test.each([
    ['TCP accepted, nothing read', 'hang'],
    ['request read, never answered', 'silent'],
  ] as const)('accepted but silent (%s): each attempt is aborted at connectTimeout and its socket ended', async (_what, kind) => {
    const s = scope();
    const CONNECT_TIMEOUT = 150;
    const ATTEMPTS = 4;
    let url: string;
    let openLinks: () => number;
    if (kind === 'hang') {
      const gated = await gatedServer(s);
      gated.gate.accept('hang');
      url = gated.url;
      openLinks = () => gated.gate.links().filter((l) => l.open).length;
    } else {
      const peer = s.add(await createRawPeer({ handshake: false }), (p) => p.close());
      url = peer.url;
      // The raw peer keeps no list of the sockets it never answered; the client's side tells.
      openLinks = () => ws.record.instances.filter((i) => i.readyState !== 3).length;
    }
    const ws = instrumentedWebSocket();
    // The URL function is called as each attempt starts, when its connectTimeout starts counting.
    const started: number[] = [];
    const socket = connect(() => (started.push(now()), url), {
      heartbeat: false,
      connectTimeout: CONNECT_TIMEOUT,
      WebSocket: ws.WebSocket,
      reconnect: { initialDelay: 10, maxDelay: 10, jitter: false, maxAttempts: ATTEMPTS },
    });
    s.defer(() => socket.close());
    const t = trace(socket, []);
    await waitFor(() => t.end, 'the attempts to run out', 10_000);
    await waitFor(() => openLinks() === 0, 'every hung connection to be closed', 2000);

    const aborted = t.errors.map(({ at }, i) => at - (started[i] as number));
    const last = (t.end?.at as number) - (started[ATTEMPTS - 1] as number);
    aborted.push(last);
    figure(
      `accepted but silent (${kind}), connectTimeout ${CONNECT_TIMEOUT} ms`,
      `aborted after p50 ${round(percentile(aborted, 50))} ms, max ${round(Math.max(...aborted))} ms; ${openLinks()} sockets left`,
      `each ≥ ${CONNECT_TIMEOUT} and ≤ ${generous(CONNECT_TIMEOUT)} ms; ConnectTimeoutError per retried attempt; 0 sockets left`,
    );
    expect(ws.record.instances).toHaveLength(ATTEMPTS);
    expect(t.errors).toHaveLength(ATTEMPTS - 1);
    for (const { error } of t.errors) expect(error).toBeInstanceOf(ConnectTimeoutError);
    expect(t.end?.error).toBeInstanceOf(RetriesExhaustedError);
    expect((t.end?.error as RetriesExhaustedError).cause).toBeInstanceOf(ConnectTimeoutError);
    for (const ms of aborted) {
      expect(ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT - TIMER_SLACK);
      expect(ms).toBeLessThanOrEqual(generous(CONNECT_TIMEOUT));
    }
    expect(ws.record.instances.every((i) => i.readyState === 3)).toBe(true);
  });
});
