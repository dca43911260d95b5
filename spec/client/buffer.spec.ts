import { asyncScheduler, from, type SchedulerLike } from 'rxjs';
import { WebSocket, type ClientOptions } from 'ws';
import {
  ConnectionClosedError,
  MessageDroppedError,
  RetriesExhaustedError,
  type ConnectOptions,
  type DroppedMessage,
  type DropReason,
  type RxSocket,
  type WebSocketConstructor,
} from '../../lib/index.js';
import { createFaultProxy, type FaultProxy, type TestServerOptions } from '../../lib/testing/index.js';
import { onDispose, testScope } from '../helpers/dispose.js';
import { gatedServer, parsed, type GatedServer } from '../helpers/gated-server.js';
import { settledNow } from '../helpers/settle.js';
import { client as closedAfter, hold } from '../helpers/observe.js';
import '../helpers/tripwires.js';
import { next, sleep, waitFor } from '../helpers/wait.js';

// Integration specs of the outgoing buffer against real servers (issue 3): drops by timeout and by
// overflow with exact counts, close and fatal closes, and a stalled peer behind a TCP proxy. The
// expiry/overflow logic itself is covered in virtual time in offline-buffer.spec.ts.

const noop = (): void => {};

// ---------------------------------------------------------------------------------------------
// The gated test server (spec/helpers/gated-server.ts): a gate in front that can refuse
// connections, what it receives recorded in arrival order.

type Server = GatedServer;

const serve = (wsOptions: TestServerOptions['wsOptions'] = {}): Promise<Server> => gatedServer(testScope, { wsOptions });

/** A server that refuses every connection (until `restart()`): every attempt fails and is retried. */
async function downServer(): Promise<Server> {
  const server = await serve();
  server.stop();
  return server;
}

async function proxied(server: Server): Promise<FaultProxy> {
  const proxy = await createFaultProxy({ target: server.target });
  onDispose(() => proxy.close());
  return proxy;
}

const quick = { reconnect: { initialDelay: 20, maxDelay: 20, jitter: false }, heartbeat: false as const };

function client<Out>(url: string, options: ConnectOptions<unknown, Out> = {}): RxSocket<unknown, Out> {
  return closedAfter<unknown, Out>(url, { ...(quick as ConnectOptions<unknown, Out>), ...options });
}


function recordDrops<Out>(socket: RxSocket<unknown, Out>): Array<DroppedMessage<Out> & { at: number }> {
  const drops: Array<DroppedMessage<Out> & { at: number }> = [];
  socket.dropped$.subscribe((d) => drops.push({ ...d, at: Date.now() }));
  return drops;
}

/** The outcome of a send: 'written', or the error it rejected with. */
function outcome(promise: Promise<void>): Promise<'written' | unknown> {
  return promise.then(
    () => 'written',
    (error: unknown) => error,
  );
}

function expectDropped(error: unknown, reason: DropReason, payload: unknown): void {
  expect(error).toBeInstanceOf(MessageDroppedError);
  expect((error as MessageDroppedError).reason).toBe(reason);
  expect((error as MessageDroppedError).payload).toBe(payload); // the original object, unserialized
}

// ---------------------------------------------------------------------------------------------

describe('drops by timeout', () => {
  test('per-send timeout and buffer.timeout: exact drops, counted from send() across reconnect attempts', async () => {
    const server = await serve();
    // Warm-up: the first connection of a test file loads lazily required code and can block the
    // event loop for tens of milliseconds, which would make the timings below late.
    const warm = client<string>(server.url);
    await warm.send('warm-up');
    await warm.close();
    server.stop();

    const socket = client<{ id: string }>(server.url, { buffer: { timeout: 400 } });
    let failedAttempts = 0;
    socket.errors$.subscribe(() => failedAttempts++);
    const drops = recordDrops(socket);
    const attemptsAtDrop: number[] = [];
    socket.dropped$.subscribe(() => attemptsAtDrop.push(failedAttempts));

    const a = { id: 'a' };
    const b = { id: 'b' };
    const c = { id: 'c' };
    const d = { id: 'd' };
    const e = { id: 'e' };
    const t0 = Date.now();
    const pa = outcome(socket.send(a, { timeout: 150 }));
    const pb = outcome(socket.send(b)); // buffer.timeout
    const pc = outcome(socket.send(c, { timeout: 0 }));
    const pd = socket.send(d, { timeout: Infinity });
    socket.outgoing.next(e); // buffer.timeout, no promise: dropped$ only
    expect(socket.buffered).toBe(5);

    expectDropped(await pc, 'timeout', c);
    expectDropped(await pa, 'timeout', a);
    expectDropped(await pb, 'timeout', b);
    await waitFor(() => drops.length === 4, 'four drops');
    // Exactly these four, each once, as the original objects. (c and a share one sweep if the
    // event loop was late, so their relative order is not asserted.)
    expect(new Set(drops.slice(0, 2).map((drop) => drop.message))).toEqual(new Set([a, c]));
    expect(drops.slice(2).map((drop) => drop.message)).toEqual([b, e]);
    expect(drops[2]?.message).toBe(b);
    expect(drops[3]?.message).toBe(e);
    expect(drops.every((drop) => drop.reason === 'timeout')).toBe(true);
    // Never early, counted from send(); not much late either.
    const timeouts = new Map<unknown, number>([[a, 150], [b, 400], [c, 0], [e, 400]]);
    for (const drop of drops) {
      const timeout = timeouts.get(drop.message) as number;
      expect(drop.at - t0).toBeGreaterThanOrEqual(timeout - 2);
      expect(drop.at - t0).toBeLessThan(timeout + 300);
    }
    // Several attempts failed meanwhile, and none restarted the clock.
    expect(attemptsAtDrop[2]).toBeGreaterThanOrEqual(3);
    expect(socket.state.status).toBe('reconnecting');
    expect(socket.buffered).toBe(1);

    await sleep(100);
    expect(await settledNow(pd)).toBe('pending'); // Infinity never expires
    const before = server.received.length;
    server.restart();
    await pd;
    await waitFor(() => server.received.length === before + 1, 'd');
    expect(parsed(server).slice(before)).toEqual([d]);
    expect(drops).toHaveLength(4);
  });

  test('the timeout stops mattering once the message is written', async () => {
    const server = await serve();
    const socket = client<string>(server.url);
    const drops = recordDrops(socket);
    hold(socket);
    await next(socket.state$, (s) => s.status === 'open');
    await socket.send('quick', { timeout: 1 });
    await socket.send('zero', { timeout: 0 }); // written in the same tick: nothing to wait for
    await sleep(50);
    expect(drops).toEqual([]);
    expect(server.received).toEqual(['"quick"', '"zero"']);
  });
});

describe('drops by overflow', () => {
  test.each([
    ['drop-newest', [5, 6, 7, 8, 9], [0, 1, 2, 3, 4]],
    ['drop-oldest', [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]],
  ] as const)('%s: exact drops from send() and outgoing, survivors delivered in order', async (overflow, droppedIds, keptIds) => {
    const server = await downServer();
    const socket = client<{ i: number }>(server.url, { buffer: { size: 5, timeout: 10000, overflow } });
    const drops = recordDrops(socket);
    const messages = Array.from({ length: 10 }, (_, i) => ({ i }));
    const outcomes = messages.slice(0, 7).map((m) => outcome(socket.send(m)));
    from(messages.slice(7)).subscribe(socket.outgoing);
    expect(socket.buffered).toBe(5); // size counts every waiting message, the first included

    await waitFor(() => drops.length === 5, 'five drops');
    expect(drops.map((d) => d.message)).toEqual(droppedIds.map((i) => messages[i]));
    drops.forEach((d, k) => {
      expect(d.message).toBe(messages[droppedIds[k] as number]);
      expect(d.reason).toBe('overflow');
    });
    for (const i of droppedIds) if (i < 7) expectDropped(await outcomes[i], 'overflow', messages[i]);

    server.restart();
    await waitFor(() => server.received.length === 5, 'the five survivors');
    for (const i of keptIds) if (i < 7) expect(await outcomes[i]).toBe('written');
    await sleep(30);
    expect(parsed(server)).toEqual(keptIds.map((i) => messages[i]));
    expect(drops).toHaveLength(5);
    expect(socket.buffered).toBe(0);
  });

  test('overflow evicts by queue position, not by time left', async () => {
    const server = await downServer();
    const oldest = client<string>(server.url, { buffer: { size: 2, overflow: 'drop-oldest' } });
    const newest = client<string>(server.url, { buffer: { size: 2, overflow: 'drop-newest' } });
    const oldestDrops = recordDrops(oldest);
    const newestDrops = recordDrops(newest);

    // drop-oldest evicts the earliest enqueued, though another expires sooner
    const o1 = outcome(oldest.send('o1 long', { timeout: Infinity }));
    const o2 = outcome(oldest.send('o2 short', { timeout: 80 }));
    const o3 = oldest.send('o3');
    expectDropped(await o1, 'overflow', 'o1 long');
    // drop-newest drops the arrival, though the head expires sooner
    const n1 = outcome(newest.send('n1 short', { timeout: 80 }));
    const n2 = newest.send('n2');
    const n3 = outcome(newest.send('n3'));
    expectDropped(await n3, 'overflow', 'n3');

    expectDropped(await o2, 'timeout', 'o2 short');
    expectDropped(await n1, 'timeout', 'n1 short');
    const n4 = newest.send('n4'); // room again
    expect(newest.buffered).toBe(2);
    server.restart();
    await Promise.all([o3, n2, n4]);
    expect(oldestDrops.map((d) => [d.message, d.reason])).toEqual([['o1 long', 'overflow'], ['o2 short', 'timeout']]);
    expect(newestDrops.map((d) => [d.message, d.reason])).toEqual([['n3', 'overflow'], ['n1 short', 'timeout']]);
    await waitFor(() => server.received.length === 3, 'three messages');
    expect(server.received.filter((m) => String(m).startsWith('"n'))).toEqual(['"n2"', '"n4"']);
  });

  test('size 0: written when the socket takes it at once, else dropped with overflow (nothing opens for it)', async () => {
    const server = await serve();
    const socket = client<string>(server.url, { buffer: { size: 0 } });
    const drops = recordDrops(socket);
    expectDropped(await outcome(socket.send('idle')), 'overflow', 'idle');
    expect(socket.state.status).toBe('idle');
    hold(socket);
    await next(socket.state$, (s) => s.status === 'open');
    await socket.send('open');
    await waitFor(() => server.received.length === 1, 'the message sent while open'); // stop() would lose it in flight
    server.stop();
    await next(socket.state$, (s) => s.status === 'reconnecting');
    expectDropped(await outcome(socket.send('reconnecting')), 'overflow', 'reconnecting');
    expect(drops.map((d) => [d.message, d.reason])).toEqual([['idle', 'overflow'], ['reconnecting', 'overflow']]);
    expect(server.received).toEqual(['"open"']);
  });

  test('a dropped$ subscriber that re-sends synchronously cannot push the buffer over size (drop-oldest)', async () => {
    const server = await downServer();
    const SIZE = 3;
    const socket = client<string>(server.url, { buffer: { size: SIZE, overflow: 'drop-oldest' } });
    // A plausible app: retry each evicted message once.
    socket.dropped$.subscribe(({ message, reason }) => {
      if (reason === 'overflow' && !message.endsWith('(retry)')) socket.send(`${message} (retry)`).catch(noop);
    });
    const waiting: number[] = [];
    for (const message of ['a', 'b', 'c', 'd', 'e', 'f']) {
      socket.send(message).catch(noop);
      waiting.push(socket.buffered);
    }
    expect(waiting).toEqual([1, 2, 3, 3, 3, 3]);
  });

  test('a burst while reconnecting arms one expiry timer, not one per message', async () => {
    const server = await downServer();
    let scheduled = 0;
    const counting: SchedulerLike = {
      now: () => asyncScheduler.now(),
      schedule: ((...args: Parameters<SchedulerLike['schedule']>) => {
        scheduled++;
        return asyncScheduler.schedule(...args);
      }) as SchedulerLike['schedule'],
    };
    const socket = client<number>(server.url, { scheduler: counting, buffer: { size: Infinity } });
    hold(socket);
    await next(socket.state$, (s) => s.status === 'reconnecting');
    const before = scheduled;
    for (let i = 0; i < 1000; i++) socket.send(i).catch(noop);
    from(Array.from({ length: 1000 }, (_, i) => 1000 + i)).subscribe(socket.outgoing);
    expect(socket.buffered).toBe(2000);
    expect(scheduled - before).toBe(1);
  });

  test('drops of outgoing messages go to dropped$ only (no promise, no unhandled rejection)', async () => {
    const server = await downServer();
    const socket = client<number>(server.url, { buffer: { size: 3, timeout: 50 } });
    const drops = recordDrops(socket);
    from([1, 2, 3, 4, 5]).subscribe(socket.outgoing);
    await waitFor(() => drops.length === 5, 'five drops');
    expect(drops.map((d) => [d.message, d.reason])).toEqual([
      [4, 'overflow'],
      [5, 'overflow'],
      [1, 'timeout'],
      [2, 'timeout'],
      [3, 'timeout'],
    ]);
    await sleep(20); // give an unhandled rejection the time to show up on the tripwires
  });
});

describe('close and fatal closes', () => {
  test('close() rejects every waiting message with closed, reported on dropped$ before it completes; send after close rejects closed', async () => {
    const server = await downServer();
    const socket = client<{ n: number }>(server.url);
    hold(socket);
    await next(socket.state$, (s) => s.status === 'reconnecting');
    const messages = Array.from({ length: 5 }, (_, n) => ({ n }));
    const promises = messages.slice(0, 3).map((m) => socket.send(m));
    from(messages.slice(3)).subscribe(socket.outgoing);
    expect(socket.buffered).toBe(5);

    const drops: Array<DroppedMessage<{ n: number }>> = [];
    let atComplete: { drops: Array<DroppedMessage<{ n: number }>>; settled: Promise<string[]> } | undefined;
    socket.dropped$.subscribe({
      next: (d) => drops.push(d),
      complete: () => (atComplete = { drops: [...drops], settled: Promise.all(promises.map(settledNow)) }),
    });
    await socket.close();
    expect(atComplete).toBeDefined();
    expect(atComplete?.drops).toHaveLength(5);
    atComplete?.drops.forEach((d, k) => {
      expect(d.message).toBe(messages[k]);
      expect(d.reason).toBe('closed');
    });
    expect(await atComplete?.settled).toEqual(['rejected', 'rejected', 'rejected']);
    for (const [k, p] of promises.entries()) expectDropped(await outcome(p), 'closed', messages[k]);
    expect(socket.buffered).toBe(0);

    const late = { n: 99 };
    let promise: Promise<void> | undefined;
    expect(() => (promise = socket.send(late))).not.toThrow();
    expectDropped(await outcome(promise as Promise<void>), 'closed', late);
    expect(() => socket.outgoing.next(late)).not.toThrow();
  });

  test.each([
    ['a non-retried close (reconnect: false)', { reconnect: false as const }, ConnectionClosedError],
    ['RetriesExhaustedError (maxAttempts: 3)', { reconnect: { initialDelay: 10, maxDelay: 10, jitter: false, maxAttempts: 3 } }, RetriesExhaustedError],
  ])('on %s, waiting messages reject with closed and are on dropped$ before messages$ errors', async (_what, options, ErrorClass) => {
    const server = await downServer();
    const socket = client<{ n: number }>(server.url, options);
    const drops = recordDrops(socket);
    const messages = Array.from({ length: 4 }, (_, n) => ({ n }));
    const promises = messages.slice(0, 3).map((m) => socket.send(m));
    socket.outgoing.next(messages[3] as { n: number });
    const failed = new Promise<{ error: unknown; drops: number; settled: Promise<string[]> }>((resolve) =>
      socket.messages$.subscribe({
        error: (error: unknown) => resolve({ error, drops: drops.length, settled: Promise.all(promises.map(settledNow)) }),
      }),
    );
    const atError = await failed;
    expect(atError.error).toBeInstanceOf(ErrorClass);
    expect(atError.drops).toBe(4);
    expect(await atError.settled).toEqual(['rejected', 'rejected', 'rejected']);
    expect(drops.map((d) => d.reason)).toEqual(['closed', 'closed', 'closed', 'closed']);
    drops.forEach((d, k) => expect(d.message).toBe(messages[k]));
    for (const [k, p] of promises.entries()) expectDropped(await outcome(p), 'closed', messages[k]);
    const late = { n: 5 };
    expectDropped(await outcome(socket.send(late)), 'closed', late);
  });
});

// ---------------------------------------------------------------------------------------------
// A stalled peer: a TCP proxy that stops reading the client (real backpressure). The client's
// `bufferedAmount` is read on the real `ws` instance: the test passes `ws`'s WebSocket, subclassed
// only to sample `bufferedAmount` and `readyState` around each `send()` (bufferedAmount only grows
// on a write, so its maximum over time is the maximum of these samples).

interface WriteSample {
  readonly before: number;
  readonly after: number;
  readonly readyState: number;
}

function probeWebSocket(samples: WriteSample[], sockets: WebSocket[]): WebSocketConstructor {
  class ProbeWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[], options?: ClientOptions) {
      super(address, protocols, options);
      sockets.push(this);
    }

    override send(data: unknown, ...rest: unknown[]): void {
      const before = this.bufferedAmount;
      const readyState = this.readyState;
      (WebSocket.prototype.send as (...args: unknown[]) => void).call(this, data, ...rest);
      samples.push({ before, after: this.bufferedAmount, readyState });
    }
  }
  return ProbeWebSocket as unknown as WebSocketConstructor;
}

describe('a stalled peer', () => {
  const MESSAGE = 64 * 1024;
  const FRAME = MESSAGE + 14; // + header: 2 bytes, 8-byte length, 4-byte mask
  const HIGH_WATER = 256 * 1024;

  /** `seq` padded to MESSAGE bytes: the payload stays small, the frame is big. */
  const serialize = (m: { seq: number }): string => String(m.seq).padEnd(MESSAGE, '.');
  const seqOf = (data: string | Buffer): number => Number.parseInt(data.toString().slice(0, 12), 10);

  test('bufferedAmount stays <= high-water mark + one message, memory is bounded, and after un-stalling what is within its timeout arrives in order', async () => {
    const server = await serve();
    const proxy = await proxied(server);
    const samples: WriteSample[] = [];
    const sockets: WebSocket[] = [];
    const SIZE = 16;
    const TIMEOUT = 1000;
    const socket = client<{ seq: number }>(proxy.url, {
      WebSocket: probeWebSocket(samples, sockets),
      serialize,
      highWaterMark: HIGH_WATER,
      buffer: { size: SIZE, timeout: TIMEOUT },
    });
    hold(socket);
    const drops = recordDrops(socket);
    const messages: Array<{ seq: number }> = [];
    const sentAt: number[] = [];
    const outcomes: Array<Promise<'written' | unknown>> = [];
    const resolvedAt: number[] = [];
    let writtenCount = 0;
    const send = (): void => {
      const seq = messages.length;
      const message = { seq };
      messages.push(message);
      sentAt.push(Date.now());
      outcomes.push(outcome(socket.send(message).then(() => void ((resolvedAt[seq] = Date.now()), writtenCount++))));
    };
    send();
    await waitFor(() => server.received.length === 1, 'the first message');

    proxy.set('up', { kind: 'stall' });
    const stalledAt = Date.now();
    let maxBuffered = 0;
    const STALL = 1500;
    while (Date.now() - stalledAt < STALL) {
      send();
      maxBuffered = Math.max(maxBuffered, socket.buffered);
      expect(socket.buffered).toBeLessThanOrEqual(SIZE);
      await sleep(4);
    }
    // Fresh messages wait at the un-stall, each with its whole timeout to be written after it: let
    // what waits expire, then fill the buffer again. (Un-stalling in the middle of a timeout left
    // the waiting ones a few hundred ms, and a slow drain on a loaded machine let every one expire.)
    await waitFor(() => socket.buffered === 0, 'the waiting messages to expire', TIMEOUT * 3);
    for (let i = 0; i < SIZE; i++) send();
    expect(socket.buffered).toBe(SIZE);
    const writtenBytesAt = (t: number): number => resolvedAt.filter((at) => at !== undefined && at <= t).length * FRAME;
    const lateGrowth = writtenBytesAt(stalledAt + STALL) - writtenBytesAt(stalledAt + STALL - 500);
    const heldAtStall = sockets[0]?.bufferedAmount ?? 0;
    const sent = messages.length;
    const waitingAtUnstall = socket.buffered;
    const writtenAtUnstall = writtenCount;
    const dropsAtUnstall = drops.length;

    proxy.set('up', { kind: 'pass' });
    const results = await Promise.all(outcomes);

    // Backpressure was reached: the writer stopped at the high-water mark and the buffer filled.
    expect(sockets).toHaveLength(1);
    expect(Math.max(...samples.map((s) => s.after))).toBeGreaterThan(HIGH_WATER);
    expect(maxBuffered).toBe(SIZE);
    // Checked before every write: never written above the mark, so never more than one message over it.
    expect(Math.max(...samples.map((s) => s.before))).toBeLessThanOrEqual(HIGH_WATER);
    expect(Math.max(...samples.map((s) => s.after))).toBeLessThanOrEqual(HIGH_WATER + FRAME);
    expect(heldAtStall).toBeLessThanOrEqual(HIGH_WATER + FRAME);
    expect(samples.every((s) => s.readyState === WebSocket.OPEN)).toBe(true);
    // Memory bounded: in the last 500 ms of the stall, while sends went on, ws was handed at most
    // one more refill (0 in practice: the kernel's buffers are full); the rest waited in the
    // bounded buffer or was dropped.
    expect(lateGrowth).toBeLessThanOrEqual(HIGH_WATER + FRAME);

    // Every message accounted for: written, or dropped (timeout or overflow) with the right data.
    const written = new Set<number>();
    const reasons: Record<string, number> = {};
    results.forEach((result, seq) => {
      if (result === 'written') return void written.add(seq);
      const error = result as MessageDroppedError<{ seq: number }>;
      expect(error).toBeInstanceOf(MessageDroppedError);
      expect(error.payload).toBe(messages[seq]);
      reasons[error.reason] = (reasons[error.reason] ?? 0) + 1;
      if (error.reason === 'timeout') {
        const waited = (drops.find((d) => d.message === messages[seq])?.at ?? 0) - (sentAt[seq] as number);
        expect(waited).toBeGreaterThanOrEqual(TIMEOUT - 5);
      }
    });
    expect(drops).toHaveLength(sent - written.size);
    expect(reasons.timeout).toBeGreaterThan(0);
    expect(reasons.overflow).toBeGreaterThan(0);
    expect(Object.keys(reasons).sort()).toEqual(['overflow', 'timeout']);

    // After un-stalling: everything written arrives, in order, once.
    await waitFor(() => server.received.length >= written.size, `${written.size} messages at the server`, 10000);
    await sleep(30);
    const seqs = server.received.map(seqOf);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    expect(new Set(seqs)).toEqual(written);
    // What still waited at the un-stall was written then, unless its timeout ran out first.
    const writtenAfter = writtenCount - writtenAtUnstall;
    const droppedAfter = drops.slice(dropsAtUnstall);
    expect(droppedAfter.every((d) => d.reason === 'timeout')).toBe(true);
    const expiredAfter = droppedAfter.length;
    expect(writtenAfter).toBeGreaterThan(0);
    expect(writtenAfter + expiredAfter).toBe(waitingAtUnstall);
  });

  test('kicked by the server (1008) while messages wait behind backpressure: they reject with closed before messages$ errors', async () => {
    const server = await serve();
    const proxy = await proxied(server);
    const SIZE = 8;
    const sockets: WebSocket[] = [];
    const socket = client<{ seq: number }>(proxy.url, {
      WebSocket: probeWebSocket([], sockets),
      serialize,
      highWaterMark: HIGH_WATER,
      buffer: { size: SIZE, timeout: 10000 },
    });
    const drops = recordDrops(socket);
    const sends: Array<Promise<void>> = [];
    let waiting: Array<Promise<void>> = [];
    let atError: { error: unknown; closedDrops: number; settled: Promise<string[]> } | undefined;
    socket.messages$.subscribe({
      error: (error: unknown) => {
        const closedDrops = drops.filter((d) => d.reason === 'closed').length;
        atError = { error, closedDrops, settled: Promise.all(waiting.map(settledNow)) };
      },
    });
    sends.push(socket.send({ seq: 0 }));
    const serverSide = await server.waitForConnection();
    await waitFor(() => server.received.length === 1, 'the first message');

    proxy.set('up', { kind: 'stall' });
    for (let seq = 1; socket.buffered < SIZE; seq++) {
      if (seq > 2000) throw new Error('no backpressure after 128 MB');
      sends.push(socket.send({ seq }));
      if (seq % 10 === 0 || socket.buffered > 0) await sleep(2);
    }
    const states = await Promise.all(sends.map(settledNow));
    waiting = sends.filter((_, k) => states[k] === 'pending');
    expect(waiting).toHaveLength(SIZE);
    expect(drops).toEqual([]);

    serverSide.close(1008, 'too slow'); // its close frame reaches the client (down is not stalled)
    await waitFor(() => sockets[0]?.readyState === WebSocket.CLOSING, 'the close frame at the client');
    expect(socket.state.status).toBe('open'); // rxwire learns on 'close', after the TCP end
    proxy.reset('rst'); // as the server's kernel would, closing with unread data
    await waitFor(() => atError, 'messages$ to error');
    expect(atError?.error).toBeInstanceOf(ConnectionClosedError);
    expect((atError?.error as ConnectionClosedError).code).toBe(1008);
    expect(atError?.closedDrops).toBe(SIZE);
    expect(await atError?.settled).toEqual(Array(SIZE).fill('rejected'));
    for (const promise of waiting) expect(await outcome(promise)).toMatchObject({ reason: 'closed' });
    expect(socket.state.status).toBe('closed');
  });
});
