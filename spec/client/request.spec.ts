import { asyncScheduler, NEVER, Subject, type Observable, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  ConnectionClosedError,
  matchId,
  MessageDroppedError,
  RequestTimeoutError,
  RetriesExhaustedError,
  type ConnectOptions,
  type ConnectionState,
  type DroppedMessage,
  type RxSocket,
} from '../../lib/index.js';
import { request, type RequestHost } from '../../lib/core/request.js';
import { onDispose } from '../helpers/dispose.js';
import { jsonPeer, quickClient, type JsonPeer } from '../helpers/numbered-server.js';
import '../helpers/tripwires.js';
import { next, waitFor } from '../helpers/wait.js';

// socket.request() (issue 7): the first matching message answers it; it times out with
// RequestTimeoutError; a request written on a connection that is lost rejects (never resent),
// one still in the buffer is written on the next connection; it leaves no timer or subscription.

/** Client to server: a call (`id`, `method`) or a marker. */
interface Out {
  id?: number;
  method: string;
}
/** Server to client: an answer (`id`, `result`) or a notice. */
interface In {
  id?: number | string;
  result?: unknown;
  notice?: string;
}

// ---------------------------------------------------------------------------------------------
// The fault kit's test server. It answers `{ id, method: 'echo' }` with `{ id, result: 'echo' }`
// (after `answerDelay` ms), records everything per connection, and ignores `method: 'ignore'`.

type Peer = JsonPeer<In, Out>;

async function serve({ answerDelay = 0 } = {}): Promise<Peer> {
  const timers = new Set<NodeJS.Timeout>();
  const peer = await jsonPeer<In, Out>((msg, client) => {
    if (msg.method !== 'echo') return;
    const answer = (): void => void (client.readyState === client.OPEN && client.send(JSON.stringify({ id: msg.id, result: 'echo' })));
    if (answerDelay === 0) return answer();
    const timer = setTimeout(() => (timers.delete(timer), answer()), answerDelay);
    timers.add(timer);
  });
  onDispose(() => timers.forEach(clearTimeout));
  return peer;
}

const client = (url: string, options: ConnectOptions<In, Out> = {}): RxSocket<In, Out> => quickClient<In, Out>(url, options);

function hold<T>(source$: Observable<T>): T[] {
  const values: T[] = [];
  const subscription = source$.subscribe({ next: (value) => values.push(value), error: () => undefined });
  onDispose(() => subscription.unsubscribe());
  return values;
}

const isOpen = (state: ConnectionState): boolean => state.status === 'open';
const calls = (msgs: Out[]): string[] => msgs.map((m) => `${m.method}${m.id ?? ''}`);

/** Rejection of `promise`, or a failure if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/**
 * The asyncScheduler, watched: `pending(delay)` counts the actions scheduled with that delay that
 * have neither run nor been cancelled. Real time, real timers: only the bookkeeping is added.
 */
function timerSpy(): { scheduler: SchedulerLike; pending(delay: number): number } {
  const actions: Array<{ delay: number; done: boolean; subscription: Subscription }> = [];
  const scheduler: SchedulerLike = {
    now: () => asyncScheduler.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      const record = { delay, done: false, subscription: undefined as unknown as Subscription };
      record.subscription = asyncScheduler.schedule<T>(function (this: SchedulerAction<T>, value?: T) {
        record.done = true;
        work.call(this, value);
      }, delay, state);
      actions.push(record);
      return record.subscription;
    },
  };
  return { scheduler, pending: (delay) => actions.filter((a) => a.delay === delay && !a.done && !a.subscription.closed).length };
}

describe('matchId()', () => {
  test('accepts objects whose id is the same value, and nothing else', () => {
    const match = matchId(7);
    expect([{ id: 7 }, { id: 7, result: 1 }].map(match)).toEqual([true, true]);
    expect([{ id: '7' }, { id: 8 }, {}, null, undefined, 7, 'id', [7]].map(match)).toEqual(Array(8).fill(false));
    expect(matchId('a')({ id: 'a' })).toBe(true);
  });
});

describe('socket.request()', () => {
  test('resolves with the first message its match accepts; messages$ still sees every message', async () => {
    const server = await serve({ answerDelay: 20 });
    const socket = client(server.url);
    const all = hold(socket.messages$);
    await next(socket.state$, isOpen);
    const answer = socket.request({ id: 1, method: 'echo' }, { match: matchId(1) });
    await waitFor(() => server.log.length === 1, 'the request at the server');
    server.push({ id: 2, result: 'not mine' });
    server.push({ notice: 'hello' });
    await expect(answer).resolves.toEqual({ id: 1, result: 'echo' });
    expect(all).toEqual([{ id: 2, result: 'not mine' }, { notice: 'hello' }, { id: 1, result: 'echo' }]);
    expect(calls(server.on(1))).toEqual(['echo1']);
  });

  test('holds the connection while pending: opens an idle socket, lets it go idle once answered', async () => {
    const server = await serve();
    const socket = client(server.url);
    expect(socket.state.status).toBe('idle');
    const answer = socket.request({ id: 1, method: 'echo' }, { match: matchId(1) });
    expect(socket.state.status).toBe('connecting');
    await expect(answer).resolves.toEqual({ id: 1, result: 'echo' });
    await next(socket.state$, (state) => state.status === 'idle');
    expect(server.connections()).toBe(1);
  });

  test('concurrent requests each get their own answer, in whatever order the server answers', async () => {
    const server = await serve();
    const socket = client(server.url);
    const slow = socket.request({ id: 1, method: 'ignore' }, { match: matchId(1) });
    const fast = socket.request({ id: 2, method: 'echo' }, { match: matchId(2) });
    await expect(fast).resolves.toEqual({ id: 2, result: 'echo' });
    server.push({ id: 1, result: 'late' });
    await expect(slow).resolves.toEqual({ id: 1, result: 'late' });
    expect(calls(server.on(1))).toEqual(['ignore1', 'echo2']);
  });

  test('rejects with RequestTimeoutError when no answer comes within `timeout`', async () => {
    const server = await serve();
    const socket = client(server.url);
    hold(socket.messages$);
    await next(socket.state$, isOpen);
    const started = Date.now();
    const error = await rejection(socket.request({ id: 1, method: 'ignore' }, { match: matchId(1), timeout: 150 }));
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ name: 'RequestTimeoutError', timeout: 150, message: 'No answer within 150 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2000);
    // A late answer changes nothing, and the request was written once.
    server.push({ id: 1, result: 'late' });
    expect(calls(server.on(1))).toEqual(['ignore1']);
  });

  test('leaves no timer and no subscription behind once settled, whether answered or timed out', async () => {
    const server = await serve();
    const { scheduler, pending } = timerSpy();
    const socket = client(server.url, { scheduler });
    const holder = socket.messages$.subscribe();
    await next(socket.state$, isOpen);

    const answered = Array.from({ length: 20 }, (_, i) => socket.request({ id: i, method: 'echo' }, { match: matchId(i), timeout: 60_000 }));
    expect(pending(60_000)).toBe(20); // each pending request has its timer
    await Promise.all(answered);
    expect(pending(60_000)).toBe(0);

    await rejection(socket.request({ id: 100, method: 'ignore' }, { match: matchId(100), timeout: 30 }));
    expect(pending(30)).toBe(0);

    // Nothing but `holder` holds the connection now: without it, the socket goes idle.
    holder.unsubscribe();
    await next(socket.state$, (state) => state.status === 'idle');
  });

  test('a request written on a connection that closes before the answer rejects with ConnectionClosedError and is not resent', async () => {
    const server = await serve();
    const socket = client(server.url);
    const errors = hold(socket.errors$);
    hold(socket.messages$);
    await next(socket.state$, isOpen);
    const answer = socket.request({ id: 1, method: 'ignore' }, { match: matchId(1), timeout: 10_000 });
    await waitFor(() => server.log.length === 1, 'the request at the server');
    void server.closeAll(1012);
    const error = await rejection(answer);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ code: 1012 });

    await waitFor(() => server.connections() === 2 && isOpen(socket.state), 'connection 2 open');
    await socket.send({ method: 'mark' });
    await waitFor(() => server.on(2).length === 1, 'the mark on connection 2');
    expect(calls(server.on(1))).toEqual(['ignore1']);
    expect(calls(server.on(2))).toEqual(['mark']); // not resent
    expect(errors).toHaveLength(1);
  });

  test('a request that waits in the buffer while the server is down is written on the next connection and answered', async () => {
    const server = await serve();
    const socket = client(server.url);
    hold(socket.messages$);
    await next(socket.state$, isOpen);
    await server.stop();
    await next(socket.state$, (state) => state.status === 'reconnecting');
    const answer = socket.request({ id: 1, method: 'echo' }, { match: matchId(1), timeout: 10_000 });
    expect(socket.buffered).toBe(1);
    await server.restart();
    await expect(answer).resolves.toEqual({ id: 1, result: 'echo' });
    expect(calls(server.on(1))).toEqual([]);
    expect(calls(server.on(2))).toEqual(['echo1']);
  });

  test('goes through the same writer as send(): in order with the messages around it', async () => {
    const server = await serve();
    const socket = client(server.url);
    hold(socket.messages$);
    await next(socket.state$, isOpen);
    await server.stop();
    await next(socket.state$, (state) => state.status === 'reconnecting');
    const sent = [socket.send({ method: 'a' })];
    const answer = socket.request({ id: 1, method: 'echo' }, { match: matchId(1) });
    sent.push(socket.send({ method: 'b' }));
    await server.restart();
    await Promise.all([answer, ...sent]);
    await waitFor(() => server.on(2).length === 3, 'three messages');
    expect(calls(server.on(2))).toEqual(['a', 'echo1', 'b']);
  });

  test('a request that times out while its message waits in the buffer is never written', async () => {
    const server = await serve();
    const socket = client(server.url);
    hold(socket.messages$);
    const dropped = hold(socket.dropped$);
    await next(socket.state$, isOpen);
    await server.stop();
    await next(socket.state$, (state) => state.status === 'reconnecting');
    const error = await rejection(socket.request({ id: 1, method: 'echo' }, { match: matchId(1), timeout: 50 }));
    expect(error).toBeInstanceOf(RequestTimeoutError);
    await waitFor(() => dropped.length === 1, 'the drop');
    expect(dropped).toEqual<Array<DroppedMessage<Out>>>([{ payload: { id: 1, method: 'echo' }, message: { id: 1, method: 'echo' }, reason: 'timeout' }]);
    expect(socket.buffered).toBe(0);

    await server.restart();
    await waitFor(() => isOpen(socket.state), 'the reconnect');
    await socket.send({ method: 'mark' });
    await waitFor(() => server.on(2).length === 1, 'the mark');
    expect(calls(server.on(2))).toEqual(['mark']);
  });

  test('rejects with the close error when the socket closes for good while it waits', async () => {
    const server = await serve();
    const socket = client(server.url, { reconnect: { initialDelay: 200, jitter: false, maxAttempts: 2 } });
    hold(socket.messages$); // else the first request, rejected, lets the socket go idle
    const answer = rejection(socket.request({ id: 1, method: 'ignore' }, { match: matchId(1), timeout: 10_000 }));
    await waitFor(() => server.log.length === 1, 'the request at the server');
    await server.stop();
    await waitFor(() => socket.state.status === 'reconnecting', 'the wait before the last attempt');
    const pending = rejection(socket.request({ id: 2, method: 'echo' }, { match: matchId(2), timeout: 10_000 }));
    const [first, second] = await Promise.all([answer, pending]);
    expect(first).toBeInstanceOf(ConnectionClosedError); // its connection was lost
    expect(second).toBeInstanceOf(RetriesExhaustedError); // never written: the socket gave up
    expect(second).toMatchObject({ attempts: 2 });
    expect(socket.state.status).toBe('closed');
  });

  test('rejects with ConnectionClosedError when close() is called while it waits', async () => {
    const server = await serve();
    const socket = client(server.url);
    const answer = socket.request({ id: 1, method: 'ignore' }, { match: matchId(1), timeout: 10_000 });
    await waitFor(() => server.log.length === 1, 'the request at the server');
    const closed = socket.close();
    const error = await rejection(answer);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).toMatchObject({ code: 1000 });
    await closed;
  });

  test('close() from a messages$ observer during the answer: the request, subscribed later, still gets its answer', async () => {
    // The observer that closes runs first; the request sees the same message after it. Before,
    // close() ended the request halfway through that message's delivery (ConnectionClosedError,
    // and RxJS notified a stopped subscriber: the tripwire).
    const server = await serve();
    const socket = client(server.url);
    const seen: In[] = [];
    let closed: Promise<void> | undefined;
    socket.messages$.subscribe({ next: (m) => (seen.push(m), (closed ??= socket.close())), error: () => undefined });
    const answer = await socket.request({ id: 1, method: 'echo' }, { match: matchId(1), timeout: 10_000 });
    expect(answer).toEqual({ id: 1, result: 'echo' });
    expect(seen).toEqual([{ id: 1, result: 'echo' }]);
    await closed;
    expect(socket.state.status).toBe('closed');
  });

  test('a request after close() rejects at once and writes nothing', async () => {
    const server = await serve();
    const socket = client(server.url);
    hold(socket.messages$);
    await next(socket.state$, isOpen);
    const closing = socket.close();
    const during = rejection(socket.request({ id: 1, method: 'echo' }, { match: matchId(1) }));
    await closing;
    const after = rejection(socket.request({ id: 2, method: 'echo' }, { match: matchId(2) }));
    expect(await during).toBeInstanceOf(MessageDroppedError);
    expect(await during).toMatchObject({ reason: 'closed' });
    expect(await after).toBeInstanceOf(ConnectionClosedError);
    expect(await after).toMatchObject({ code: 1000 });
    expect(server.log).toEqual([]);
  });
});

// The request's bookkeeping in virtual time: what it subscribes to and when it lets go.
describe('request() in virtual time', () => {
  type Settled<T> = { value: T; error?: undefined } | { error: unknown; value?: undefined };
  /** How `promise` settles, with its handler attached at once (no unhandled rejection if a check fails first). */
  const settled = <T>(promise: Promise<T>): Promise<Settled<T>> => promise.then((value) => ({ value }), (error: unknown) => ({ error }));

  const lost = new ConnectionClosedError({ code: 1006, reason: '', wasClean: false });

  function fakeHost(scheduler: TestScheduler, messages$: Observable<In>, lost$: Observable<{ serial: number; error: ConnectionClosedError }>, serial = 1): {
    host: RequestHost<In, Out>;
    written: Out[];
  } {
    const written: Out[] = [];
    const host: RequestHost<In, Out> = {
      messages$,
      connectionLost$: lost$,
      scheduler,
      write: (message, _timeout, onWritten) => {
        written.push(message);
        onWritten(serial);
        return Promise.resolve();
      },
    };
    return { host, written };
  }

  test('unsubscribes from messages$, connectionLost$ and its timer at the answer', async () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    let result: Promise<Settled<In>> | undefined;
    let messageSubs: unknown;
    let lostSubs: unknown;
    scheduler.run(({ hot, expectSubscriptions }) => {
      const messages$ = hot<In>('--a--b--', { a: { id: 2 }, b: { id: 1, result: 'ok' } });
      const lost$ = hot<{ serial: number; error: ConnectionClosedError }>('--------');
      const { host, written } = fakeHost(scheduler, messages$, lost$);
      result = settled(request(host, { id: 1, method: 'echo' }, { match: matchId(1), timeout: 100 }));
      expect(written).toEqual([{ id: 1, method: 'echo' }]);
      messageSubs = messages$.subscriptions;
      lostSubs = lost$.subscriptions;
      expectSubscriptions(messages$.subscriptions).toBe('^----!');
      expectSubscriptions(lost$.subscriptions).toBe('^----!');
    });
    expect(await result).toEqual({ value: { id: 1, result: 'ok' } });
    expect(messageSubs).toHaveLength(1);
    expect(lostSubs).toHaveLength(1);
    // The 100 ms timer was cancelled: nothing is left to run.
    expect(scheduler.actions.filter((action) => !action.closed)).toEqual([]);
  });

  test('times out at exactly `timeout` and lets go of everything then', async () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    let result: Promise<Settled<In>> | undefined;
    scheduler.run(({ hot, expectSubscriptions }) => {
      const messages$ = hot<In>('-a-', { a: { id: 2 } });
      const lost$ = hot<{ serial: number; error: ConnectionClosedError }>('---');
      const { host } = fakeHost(scheduler, messages$, lost$);
      result = settled(request(host, { id: 1, method: 'echo' }, { match: matchId(1), timeout: 30 }));
      expectSubscriptions(messages$.subscriptions).toBe('^ 29ms !');
      expectSubscriptions(lost$.subscriptions).toBe('^ 29ms !');
    });
    expect(await result).toEqual({ error: new RequestTimeoutError(30) });
  });

  test('rejects when the connection it was written on is lost, not when an earlier one is', async () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    let result: Promise<Settled<In>> | undefined;
    scheduler.run(({ hot, expectSubscriptions }) => {
      const messages$ = hot<In>('------');
      const lost$ = hot('--x--y', { x: { serial: 1, error: lost }, y: { serial: 2, error: lost } });
      const { host } = fakeHost(scheduler, messages$, lost$, 2);
      result = settled(request(host, { id: 1, method: 'echo' }, { match: matchId(1), timeout: 100 }));
      expectSubscriptions(messages$.subscriptions).toBe('^----!');
    });
    expect((await result)?.error).toBe(lost);
  });

  /** A host whose write rejects with `drop` (the writer dropped the request's message). */
  function droppingHost(drop: MessageDroppedError<Out>): { host: RequestHost<In, Out>; messages$: Subject<In>; scheduler: TestScheduler } {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const messages$ = new Subject<In>();
    const host: RequestHost<In, Out> = { messages$, connectionLost$: NEVER, scheduler, write: () => Promise.reject(drop) };
    return { host, messages$, scheduler };
  }

  test('rejects with the write error (a drop) and lets go at once', async () => {
    const drop = new MessageDroppedError('overflow', { id: 1, method: 'echo' });
    const { host, messages$, scheduler } = droppingHost(drop);
    const result = request(host, { id: 1, method: 'echo' }, { match: matchId(1), timeout: 100 });
    await expect(result).rejects.toBe(drop);
    expect(messages$.observed).toBe(false);
    expect(scheduler.actions.filter((action) => !action.closed)).toEqual([]);
  });

  test('its message expiring in the buffer before its own timer fires is its timeout', async () => {
    // The buffer's expiry timer and the request's timer share a deadline but not a timer: either
    // can fire first. The message's expiry wins here; the request still rejects with its timeout.
    const drop = new MessageDroppedError('timeout', { id: 1, method: 'echo' });
    const { host, messages$, scheduler } = droppingHost(drop);
    const error: unknown = await request(host, { id: 1, method: 'echo' }, { match: matchId(1), timeout: 100 }).catch((e: unknown) => e);
    expect(error).toEqual(new RequestTimeoutError(100));
    expect((error as RequestTimeoutError).cause).toBe(drop);
    expect(messages$.observed).toBe(false);
    expect(scheduler.actions.filter((action) => !action.closed)).toEqual([]);
  });

  test('an error or completion of messages$ rejects it', async () => {
    const failing$ = new Subject<In>();
    const failure = new Error('gone');
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const one = request(fakeHost(scheduler, failing$, NEVER).host, { id: 1, method: 'x' }, { match: matchId(1) });
    failing$.error(failure);
    await expect(one).rejects.toBe(failure);

    const completing$ = new Subject<In>();
    const two = request(fakeHost(scheduler, completing$, NEVER).host, { id: 1, method: 'x' }, { match: matchId(1) });
    completing$.complete();
    await expect(two).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(scheduler.actions.filter((action) => !action.closed)).toEqual([]);
  });
});

describe('socket.request() with bad arguments or a throwing match', () => {
  test('a timeout that is not a number > 0 rejects at once with a precise error and writes nothing', async () => {
    const server = await serve();
    const socket = client(server.url);
    const negative = await rejection(socket.request({ method: 'x', id: 1 }, { match: matchId(1), timeout: -1 }));
    expect(negative).toBeInstanceOf(RangeError);
    expect((negative as Error).message).toBe('Expected `timeout` to be a number > 0 (or Infinity), got `-1` (number)');
    const nan = await rejection(socket.request({ method: 'x', id: 2 }, { match: matchId(2), timeout: NaN }));
    expect(nan).toBeInstanceOf(TypeError);
    expect(server.log).toEqual([]);
  });

  test('a match that throws rejects the request with that error, not a timeout', async () => {
    const server = await serve();
    const socket = client(server.url);
    const boom = new Error('match broke');
    const pending = rejection(socket.request({ method: 'echo', id: 3 }, { match: () => { throw boom; }, timeout: 5000 }));
    await waitFor(() => server.log.length === 1, 'the request at the server');
    server.push({ id: 3 } as In);
    expect(await pending).toBe(boom);
  });
});
