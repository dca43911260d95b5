import { asyncScheduler, from, Observable, of, throwError, type SchedulerLike } from 'rxjs';
import { WebSocket, type ClientOptions } from 'ws';
import { connect, MessageDroppedError, type ConnectOptions, type DroppedMessage, type RxSocket, type WebSocketConstructor } from '../../lib/index.js';
import { createFaultProxy, type TestServerOptions } from '../../lib/testing/index.js';
import { onDispose, testScope } from '../helpers/dispose.js';
import { prng } from '../helpers/prng.js';
import { gatedServer, parsed, type GatedServer } from '../helpers/gated-server.js';
import { settledNow, settleWithin } from '../helpers/settle.js';
import { client as closedAfter, hold } from '../helpers/observe.js';
import '../helpers/tripwires.js';
import { next, sleep, waitFor } from '../helpers/wait.js';

// Integration specs of send() and outgoing against real ws servers on 127.0.0.1 (issue 3): what
// send() promises in every state, serialization failures, ordering across restarts and producers,
// and the same-tick hot path. The buffer's limits are in client-buffer.spec.ts.

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------------------------------------
// The gated test server (spec/helpers/gated-server.ts), counting connections, with a hook for
// each new server-side socket.

interface Server extends GatedServer {
  connections: number;
}

interface ServeOptions {
  onConnection?: (ws: WebSocket) => void;
  wsOptions?: TestServerOptions['wsOptions'];
}

async function serve(options: ServeOptions = {}): Promise<Server> {
  const server: Server = Object.assign(await gatedServer(testScope, { wsOptions: options.wsOptions ?? {} }), { connections: 0 });
  void (async () => {
    for (;;) {
      const ws = await server.waitForConnection().catch(() => undefined); // rejects once disposed
      if (!ws) return;
      server.connections++;
      options.onConnection?.(ws);
    }
  })();
  return server;
}

const quick = { reconnect: { initialDelay: 10, maxDelay: 50, jitter: false }, heartbeat: false as const };

function client<Out = unknown>(url: string, options: ConnectOptions<unknown, Out> = {}): RxSocket<unknown, Out> {
  return closedAfter<unknown, Out>(url, { ...(quick as ConnectOptions<unknown, Out>), ...options });
}


/** `ws`'s WebSocket, subclassed only to let the test see the instances the client creates. */
function recordingWebSocket(sockets: WebSocket[]): WebSocketConstructor {
  class RecordingWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[], options?: ClientOptions) {
      super(address, protocols, options);
      sockets.push(this);
    }
  }
  return RecordingWebSocket as unknown as WebSocketConstructor;
}

// ---------------------------------------------------------------------------------------------

describe('send() in every state', () => {
  test('never throws synchronously and always settles: idle, connecting, open, reconnecting, closing, closed', async () => {
    // The upgrade is answered after 100 ms, so 'connecting' lasts long enough to send in.
    const server = await serve({ wsOptions: { verifyClient: (_info, done) => void setTimeout(() => done(true), 100) } });
    const socket = client<unknown>(server.url);
    const results: Array<{ state: string; kind: string; result: Promise<PromiseSettledResult<void>> }> = [];

    // A well-formed message and arguments that are wrong in every way a caller can get them wrong.
    const sendAll = (state: string): void => {
      if (state !== 'closing') expect(socket.state.status).toBe(state);
      const calls: Array<[string, () => Promise<void>]> = [
        ['good', () => socket.send({ state })],
        ['undefined message', () => socket.send(undefined)],
        ['BigInt message', () => socket.send({ big: 1n })],
        ['negative timeout', () => socket.send({ state }, { timeout: -1 })],
        ['NaN timeout', () => socket.send({ state }, { timeout: Number.NaN })],
        ['string timeout', () => socket.send({ state }, { timeout: '5' as unknown as number })],
        ['null options', () => socket.send({ state }, null as unknown as undefined)],
      ];
      for (const [kind, call] of calls) {
        let promise: Promise<void> | undefined;
        expect(() => (promise = call())).not.toThrow();
        expect(promise).toBeInstanceOf(Promise);
        results.push({ state, kind, result: settleWithin(promise as Promise<void>, `send (${kind}) while ${state}`) });
      }
    };

    sendAll('idle');
    expect(socket.state.status).toBe('connecting'); // the message sent while idle opens the connection
    sendAll('connecting');
    hold(socket);
    await next(socket.state$, (s) => s.status === 'open');
    sendAll('open');
    await waitFor(() => server.received.length === 3, 'the first three messages');

    server.stop();
    await next(socket.state$, (s) => s.status === 'reconnecting');
    sendAll('reconnecting');
    await sleep(50);
    expect(socket.state.status).toBe('reconnecting');
    server.restart();
    await waitFor(() => server.received.length === 4, 'the message sent while reconnecting');

    const closing = socket.close();
    expect(socket.state.status).not.toBe('closed'); // close() is under way
    sendAll('closing');
    await closing;
    expect(socket.state.status).toBe('closed');
    sendAll('closed');

    const outcomes = await Promise.all(results.map(async ({ state, kind, result }) => ({ state, kind, outcome: await result })));
    for (const { state, kind, outcome } of outcomes) {
      const ended = state === 'closing' || state === 'closed';
      if (kind === 'good' && !ended) {
        expect({ state, kind, status: outcome.status }).toEqual({ state, kind, status: 'fulfilled' });
        continue;
      }
      expect({ state, kind, status: outcome.status }).toEqual({ state, kind, status: 'rejected' });
      const reason = (outcome as PromiseRejectedResult).reason as Error;
      if (ended) {
        // Which error wins over invalid arguments once closed: see the next test.
        if (kind === 'good') expect(reason).toMatchObject({ name: 'MessageDroppedError', reason: 'closed' });
      } else if (kind === 'negative timeout') {
        expect(reason).toBeInstanceOf(RangeError);
      } else {
        expect(reason).toBeInstanceOf(TypeError);
      }
    }
    expect(parsed(server)).toEqual([{ state: 'idle' }, { state: 'connecting' }, { state: 'open' }, { state: 'reconnecting' }]);
  });

  // Fails on 51338b8: send() validates `options` before it looks at `ended`, so an invalid
  // timeout after close() rejects with a RangeError/TypeError instead of 'closed' (serialize
  // errors do get 'closed'). The issue: "From the moment close() is called, every send()
  // rejects with 'closed'".
  test('from the moment close() is called, every send() rejects with closed, whatever its arguments', async () => {
    const server = await serve();
    const socket = client<unknown>(server.url);
    hold(socket);
    await next(socket.state$, (s) => s.status === 'open');
    const closing = socket.close();
    const calls: Array<[string, () => Promise<void>]> = [
      ['good', () => socket.send({ ok: 1 })],
      ['undefined message', () => socket.send(undefined)],
      ['negative timeout', () => socket.send({ ok: 1 }, { timeout: -1 })],
      ['NaN timeout', () => socket.send({ ok: 1 }, { timeout: Number.NaN })],
      ['null options', () => socket.send({ ok: 1 }, null as unknown as undefined)],
    ];
    const during = calls.map(([kind, call]) => [kind, call().catch((e: unknown) => e)] as const);
    await closing;
    const after = calls.map(([kind, call]) => [kind, call().catch((e: unknown) => e)] as const);
    for (const [when, results] of [['closing', during], ['closed', after]] as const) {
      for (const [kind, result] of results) {
        const error = (await result) as { name?: string; reason?: string };
        expect({ when, kind, name: error.name, reason: error.reason }).toEqual({ when, kind, name: 'MessageDroppedError', reason: 'closed' });
      }
    }
  });

  test('after a fatal close, send() rejects with closed and the payload', async () => {
    const server = await serve({ onConnection: (ws) => ws.close(1008, 'policy') });
    const socket = client<{ n: number }>(server.url);
    const error = new Promise<unknown>((resolve) => socket.messages$.subscribe({ error: resolve }));
    expect((await error as { code?: number }).code).toBe(1008);
    expect(socket.state.status).toBe('closed');
    const payload = { n: 1 };
    let promise: Promise<void> | undefined;
    expect(() => (promise = socket.send(payload))).not.toThrow();
    const rejection = await (promise as Promise<void>).catch((e: unknown) => e);
    expect(rejection).toBeInstanceOf(MessageDroppedError);
    expect(rejection).toMatchObject({ reason: 'closed' });
    expect((rejection as MessageDroppedError).payload).toBe(payload);
  });
});

describe('serialize', () => {
  test('an error thrown by serialize rejects send() with that very error; nothing is queued, nothing opens', async () => {
    const server = await serve();
    const boom = new Error('cannot serialize');
    const socket = client<{ kind: string }>(server.url, {
      serialize: (m) => {
        if (m.kind === 'throw') throw boom;
        return JSON.stringify(m);
      },
    });
    const drops: unknown[] = [];
    socket.dropped$.subscribe((d) => drops.push(d));

    await expect(socket.send({ kind: 'throw' })).rejects.toBe(boom);
    expect(socket.state.status).toBe('idle'); // nothing was queued, so nothing holds a connection
    expect(socket.buffered).toBe(0);
    await sleep(30);
    expect(server.connections).toBe(0);

    hold(socket);
    await next(socket.state$, (s) => s.status === 'open');
    await expect(socket.send({ kind: 'throw' })).rejects.toBe(boom);
    await socket.send({ kind: 'ok' });
    // The good message is the sentinel: the socket is FIFO, so anything written before it has
    // arrived by the time it has.
    await waitFor(() => parsed<{ kind: string }>(server).some((m) => m.kind === 'ok'), 'the good message');
    expect(parsed(server)).toEqual([{ kind: 'ok' }]);
    expect(drops).toEqual([]);
  });

  test.each([
    ['a number', 42],
    ['a plain object', { not: 'wire data' }],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
  ])('serialize returning %s rejects with a TypeError, not a drop, and queues nothing', async (_what, returned) => {
    const server = await serve();
    const socket = client<string>(server.url, { serialize: () => returned as unknown as string });
    const drops: unknown[] = [];
    socket.dropped$.subscribe((d) => drops.push(d));
    const idle = await socket.send('x').catch((e: unknown) => e);
    expect(idle).toBeInstanceOf(TypeError);
    expect(idle).not.toBeInstanceOf(MessageDroppedError);
    expect(socket.state.status).toBe('idle');
    expect(socket.buffered).toBe(0);

    hold(socket);
    await next(socket.state$, (s) => s.status === 'open');
    await expect(socket.send('y')).rejects.toBeInstanceOf(TypeError);
    expect(socket.buffered).toBe(0);
    await sleep(30);
    expect(server.received).toEqual([]);
    expect(drops).toEqual([]);
  });

  test('default serialize (JSON.stringify): undefined and BigInt reject with a TypeError', async () => {
    const server = await serve();
    const socket = client<unknown>(server.url);
    await expect(socket.send(undefined)).rejects.toBeInstanceOf(TypeError);
    await expect(socket.send({ n: 1n })).rejects.toBeInstanceOf(TypeError);
    expect(socket.state.status).toBe('idle');
  });

  test('through outgoing, a serialize error goes to errors$ and the stream goes on', async () => {
    const server = await serve();
    const boom = new Error('cannot serialize');
    const socket = client<{ kind: string }>(server.url, {
      serialize: (m) => {
        if (m.kind === 'throw') throw boom;
        return JSON.stringify(m);
      },
    });
    hold(socket);
    const errors: Error[] = [];
    socket.errors$.subscribe((e) => errors.push(e));
    const drops: unknown[] = [];
    socket.dropped$.subscribe((d) => drops.push(d));
    await next(socket.state$, (s) => s.status === 'open');
    of({ kind: 'a' }, { kind: 'throw' }, { kind: 'b' }).subscribe(socket.outgoing);
    await waitFor(() => server.received.length === 2, 'a and b');
    expect(parsed(server)).toEqual([{ kind: 'a' }, { kind: 'b' }]);
    expect(errors).toEqual([boom]);
    expect(drops).toEqual([]);
    expect(socket.state.status).toBe('open');
  });

  test('binary results of serialize are written as binary frames', async () => {
    const server = await serve();
    const socket = client<number>(server.url, {
      serialize: (n) => {
        if (n === 0) return new Uint8Array([0, 1, 2]);
        if (n === 1) return Buffer.from([3, 4]);
        if (n === 2) return new Uint8Array([5, 6, 7, 8]).buffer;
        return 'text';
      },
    });
    await Promise.all([socket.send(0), socket.send(1), socket.send(2), socket.send(3)]);
    await waitFor(() => server.received.length === 4, 'four messages');
    expect(server.binary).toEqual([true, true, true, false]);
    expect(server.received.slice(0, 3).map((b) => [...(b as Buffer)])).toEqual([[0, 1, 2], [3, 4], [5, 6, 7, 8]]);
    expect(server.received[3]).toBe('text');
  });
});

describe('what a resolved send() means', () => {
  test('resolves only once handed to an OPEN socket: pending while connecting and while reconnecting', async () => {
    let upgrades = 0;
    const server = await serve({ wsOptions: { verifyClient: (_info, done) => void setTimeout(() => (upgrades++, done(true)), 150) } });
    const socket = client<string>(server.url);
    const statusAtResolve: string[] = [];
    const first = socket.send('first').then(() => void statusAtResolve.push(socket.state.status));
    hold(socket);
    await sleep(80);
    expect(socket.state.status).toBe('connecting');
    expect(await settledNow(first)).toBe('pending');
    await first;
    expect(upgrades).toBe(1);
    expect(statusAtResolve).toEqual(['open']);
    await waitFor(() => server.received.length === 1, 'the first message'); // stop() would lose it in flight

    server.stop();
    await next(socket.state$, (s) => s.status === 'reconnecting');
    const second = socket.send('second').then(() => void statusAtResolve.push(socket.state.status));
    await sleep(100);
    expect(await settledNow(second)).toBe('pending');
    expect(socket.buffered).toBe(1);
    server.restart();
    await second;
    expect(statusAtResolve).toEqual(['open', 'open']);
    expect(socket.buffered).toBe(0);
    await waitFor(() => server.received.length === 2, 'both messages');
    expect(server.received).toEqual(['"first"', '"second"']);
  });

  test('nothing goes to a closing socket: a send after the server\'s close frame waits for the next connection', async () => {
    const serverSockets: WebSocket[] = [];
    const server = await serve({ onConnection: (ws) => serverSockets.push(ws) });
    const proxy = await createFaultProxy({ target: server.target });
    onDispose(() => proxy.close());
    const sockets: WebSocket[] = [];
    const socket = client<string>(proxy.url, { WebSocket: recordingWebSocket(sockets) });
    hold(socket);
    await socket.send('before');
    await waitFor(() => server.received.length === 1, 'the first message');
    const serverSide = serverSockets[0] as WebSocket;

    // The client gets the server's close frame, but its reply cannot get through: it stays CLOSING.
    proxy.set('up', { kind: 'stall' });
    serverSide.close(1012, 'service restart');
    await waitFor(() => sockets[0]?.readyState === WebSocket.CLOSING, 'the client socket to be closing');
    const during = socket.send('during closing');
    await sleep(50);
    expect(await settledNow(during)).toBe('pending');
    expect(socket.buffered).toBe(1);

    proxy.set('up', { kind: 'pass' });
    await during;
    expect(sockets).toHaveLength(2);
    expect(sockets[1]?.readyState).toBe(WebSocket.OPEN);
    await waitFor(() => server.received.length === 2, 'the second message');
    await sleep(30);
    expect(server.received).toEqual(['"before"', '"during closing"']);
  });

  test('after a reconnect, what waited is written before anything newer, even a send() from the \'open\' handler', async () => {
    const server = await serve();
    const socket = client<string>(server.url);
    hold(socket);
    await next(socket.state$, (s) => s.status === 'open');
    server.stop();
    await next(socket.state$, (s) => s.status === 'reconnecting');
    const waited = [socket.send('waited 1'), socket.send('waited 2')];
    const newer: Array<Promise<void>> = [];
    socket.state$.subscribe((s) => {
      if (s.status === 'open') newer.push(socket.send('newer'));
    });
    server.restart();
    await Promise.all(waited);
    await waitFor(() => server.received.length === 3, 'three messages');
    await Promise.all(newer);
    expect(server.received).toEqual(['"waited 1"', '"waited 2"', '"newer"']);
  });

  test('a URL function that throws: send() neither throws nor resolves; the failure goes to errors$ and the message times out', async () => {
    const boom = new Error('no token');
    const socket = connect<unknown, string>(
      () => {
        throw boom;
      },
      { ...quick, buffer: { timeout: 100 } },
    );
    onDispose(() => socket.close());
    const errors: unknown[] = [];
    socket.errors$.subscribe((e) => errors.push(e));
    let promise: Promise<void> | undefined;
    expect(() => (promise = socket.send('x'))).not.toThrow();
    const rejection = await (promise as Promise<void>).catch((e: unknown) => e);
    expect(rejection).toMatchObject({ name: 'MessageDroppedError', reason: 'timeout', payload: 'x' });
    // One entry per failed attempt (how many fit in 100 ms varies): every one caused by the URL.
    expect(errors).not.toHaveLength(0);
    for (const error of errors) expect((error as { cause?: unknown }).cause).toBe(boom);
  });

  test('a message sent while idle opens the connection, is delivered, and the connection goes idle again', async () => {
    const server = await serve();
    const socket = client<{ hello: string }>(server.url);
    const states: string[] = [];
    socket.state$.subscribe((s) => states.push(s.status));
    expect(states).toEqual(['idle']);
    await socket.send({ hello: 'world' });
    await waitFor(() => server.received.length === 1, 'the message');
    expect(parsed(server)).toEqual([{ hello: 'world' }]);
    await waitFor(() => socket.state.status === 'idle', 'idle after the lazy close');
    expect(states).toEqual(['idle', 'connecting', 'open', 'idle']);
    await waitFor(() => server.clients.size === 0, 'the server to see the close');
  });

  test('a lone message is written in the same tick: send() resolves before a setImmediate, no timer is scheduled, the clock is not read', async () => {
    const server = await serve();
    // Counts every timer rxwire asks for and every clock read; the hot path must make none.
    let scheduled = 0;
    let clockReads = 0;
    const counting: SchedulerLike = {
      now: () => {
        clockReads++;
        return asyncScheduler.now();
      },
      schedule: ((...args: Parameters<SchedulerLike['schedule']>) => {
        scheduled++;
        return asyncScheduler.schedule(...args);
      }) as SchedulerLike['schedule'],
    };
    const socket = client<string>(server.url, { scheduler: counting });
    hold(socket);
    await next(socket.state$, (s) => s.status === 'open');
    await sleep(20);
    const before = scheduled;
    const readsBefore = clockReads;

    let immediateRan = false;
    const lone = socket.send('lone');
    setImmediate(() => (immediateRan = true));
    await lone;
    expect(immediateRan).toBe(false);
    await waitFor(() => server.received.length === 1, 'the lone message');

    // A burst under the high-water mark: all written in the same tick too, in one cork.
    immediateRan = false;
    const burst = Array.from({ length: 200 }, (_, i) => socket.send(`burst ${i}`));
    setImmediate(() => (immediateRan = true));
    await Promise.all(burst);
    expect(immediateRan).toBe(false);
    await waitFor(() => server.received.length === 201, 'the burst');
    expect(server.received).toEqual(['"lone"', ...burst.map((_, i) => `"burst ${i}"`)]);
    expect(scheduled).toBe(before);
    expect(clockReads).toBe(readsBefore);
  });
});

describe('order and accounting', () => {
  test('restart mid-stream (server closes 1012 repeatedly): every message written or dropped with a reason, none twice, none out of order', async () => {
    const server = await serve({ onConnection: (ws) => void setTimeout(() => ws.close(1012, 'service restart'), 40) });
    const socket = client<{ seq: number }>(server.url, {
      reconnect: { initialDelay: 5, maxDelay: 20, jitter: false },
      buffer: { size: 40, timeout: 60 },
    });
    hold(socket);
    const dropped: Array<DroppedMessage<{ seq: number }>> = [];
    socket.dropped$.subscribe((d) => dropped.push(d));

    const N = 3000;
    const messages: Array<{ seq: number }> = [];
    const outcomes: Array<Promise<'written' | unknown>> = [];
    for (let seq = 0; seq < N; seq++) {
      const message = { seq };
      messages.push(message);
      // every 7th message may wait only 2 ms: those sent during a reconnect expire
      const options = seq % 7 === 0 ? { timeout: 2 } : undefined;
      outcomes.push(socket.send(message, options).then(() => 'written', (e: unknown) => e));
      if (seq % 10 === 9) await sleep(1);
    }
    const results = await Promise.all(outcomes.map((o, seq) => settleWithin(o, `message ${seq}`)));

    const written = new Set<number>();
    const rejected = new Map<number, MessageDroppedError>();
    results.forEach((r, seq) => {
      const value = (r as PromiseFulfilledResult<unknown>).value;
      if (value === 'written') return void written.add(seq);
      expect(value).toBeInstanceOf(MessageDroppedError);
      const error = value as MessageDroppedError<{ seq: number }>;
      expect(['timeout', 'overflow']).toContain(error.reason);
      expect(error.payload).toBe(messages[seq]); // the original object, not a copy
      rejected.set(seq, error);
    });
    expect(written.size + rejected.size).toBe(N);

    // Every drop reported on dropped$ exactly once, with the same reason, as the original object.
    expect(dropped.length).toBe(rejected.size);
    for (const { message, reason } of dropped) {
      expect(message).toBe(messages[message.seq]);
      expect(rejected.get(message.seq)?.reason).toBe(reason);
    }
    expect(new Set(dropped.map((d) => d.message.seq)).size).toBe(dropped.length);

    // Written (handed to an open socket before the client saw the server's close frame) means
    // delivered here: the server reads until the client's close frame, which follows them.
    await waitFor(() => server.received.length >= written.size, `${written.size} written messages at the server`);
    await sleep(50);
    const seqs = parsed<{ seq: number }>(server).map((m) => m.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number); // no duplicates, no reordering
    expect(new Set(seqs)).toEqual(written);
    expect(server.connections).toBeGreaterThanOrEqual(3);
    // The run exercised both ways out: written, and dropped for each reason.
    expect(written.size).toBeGreaterThan(0);
    expect(new Set(dropped.map((d) => d.reason))).toEqual(new Set(['timeout', 'overflow']));
  });

  test('50 concurrent producers mixing send() and outgoing keep per-producer order, across a server restart', async () => {
    const server = await serve();
    const socket = client<{ p: number; i: number }>(server.url, { buffer: { size: Infinity, timeout: Infinity } });
    hold(socket);
    const dropped: unknown[] = [];
    socket.dropped$.subscribe((d) => dropped.push(d));
    await next(socket.state$, (s) => s.status === 'open');

    const P = 50;
    const M = 40;
    const rand = prng(20240601); // mulberry32, so a failing interleaving can be replayed
    const sends: Array<Promise<void>> = [];
    let maxBuffered = 0;
    let issued = 0;
    const producer = async (p: number): Promise<void> => {
      let i = 0;
      while (i < M) {
        const batch: Array<{ p: number; i: number }> = [];
        const n = 1 + Math.floor(rand() * 5);
        while (batch.length < n && i < M) batch.push({ p, i: i++ });
        if (rand() < 0.5) for (const message of batch) sends.push(socket.send(message));
        else from(batch).subscribe(socket.outgoing); // completes: must not close anything
        issued += batch.length;
        maxBuffered = Math.max(maxBuffered, socket.buffered);
        const gap = rand();
        if (gap < 0.3) await Promise.resolve();
        else if (gap < 0.6) await immediate();
        else await sleep(1 + Math.floor(rand() * 3));
      }
    };
    const producers = Promise.all(Array.from({ length: P }, (_, p) => producer(p)));
    await waitFor(() => issued >= (P * M) / 3, 'a third of the messages');
    await server.closeAll(1012, 'service restart'); // mid-run: some wait in the buffer meanwhile
    await producers;
    await Promise.all(sends);
    await waitFor(() => server.received.length >= P * M, `${P * M} messages`, 10000);
    await sleep(30);

    const received = parsed<{ p: number; i: number }>(server);
    expect(received.length).toBe(P * M);
    const perProducer = Array.from({ length: P }, () => [] as number[]);
    for (const { p, i } of received) perProducer[p]?.push(i);
    const inOrder = Array.from({ length: M }, (_, i) => i);
    for (let p = 0; p < P; p++) expect({ p, order: perProducer[p] }).toEqual({ p, order: inOrder });
    expect(server.connections).toBe(2);
    expect(maxBuffered).toBeGreaterThan(0); // some waited in the buffer during the restart
    expect(dropped).toEqual([]);
  });
});

describe('outgoing', () => {
  test('outgoing.complete() and outgoing.error() never close the socket; the error goes to errors$', async () => {
    const server = await serve();
    const socket = client<{ n: number }>(server.url);
    const states: string[] = [];
    socket.state$.subscribe((s) => states.push(s.status));
    hold(socket);
    const errors: Error[] = [];
    socket.errors$.subscribe((e) => errors.push(e));
    await next(socket.state$, (s) => s.status === 'open');

    of({ n: 1 }, { n: 2 }).subscribe(socket.outgoing);
    const boom = new Error('producer failed');
    // (not concat(of(..), throwError(..)): rxjs itself then reports a stopped notification)
    new Observable<{ n: number }>((subscriber) => {
      subscriber.next({ n: 3 });
      subscriber.error(boom);
    }).subscribe(socket.outgoing);
    socket.outgoing.complete();
    socket.outgoing.error('a string failure');
    socket.outgoing.next({ n: 4 }); // the Observer is not a Subscriber: it still works
    await socket.send({ n: 5 });
    await waitFor(() => server.received.length === 5, 'five messages');
    await sleep(30);

    expect(parsed(server)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBe(boom);
    expect(errors[1]).toBeInstanceOf(Error);
    expect(errors[1]?.message).toBe('a string failure');
    expect(states).toEqual(['idle', 'connecting', 'open']);
    expect(server.connections).toBe(1);
    expect(server.clients.size).toBe(1);
  });

  test('outgoing.error() while idle reports on errors$ and opens nothing', async () => {
    const server = await serve();
    const socket = client<{ n: number }>(server.url);
    const errors: Error[] = [];
    socket.errors$.subscribe((e) => errors.push(e));
    throwError(() => new Error('early')).subscribe(socket.outgoing);
    socket.outgoing.complete();
    expect(errors.map((e) => e.message)).toEqual(['early']);
    expect(socket.state.status).toBe('idle');
    // ...and the socket still works
    await socket.send({ n: 1 });
    await waitFor(() => server.received.length === 1, 'the message');
  });
});
