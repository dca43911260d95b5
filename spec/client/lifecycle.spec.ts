import '../helpers/tripwires';
import { ConnectionClosedError, ConnectTimeoutError, RetriesExhaustedError } from '../../lib/index.js';
import { client, collect, record, trackedWebSocket } from '../helpers/observe';
import { refusedPort, startRawPeer, startWsPeer } from '../helpers/peers';
import { waitFor, sleep } from '../helpers/wait';

// The connection lifecycle against real `ws` servers on 127.0.0.1: laziness, ref-counting,
// every row of the state table, attempts, restarts, per-attempt URL and options, hung handshakes.

const fast = { initialDelay: 10, jitter: false } as const;

describe('lazy and ref-counted', () => {
  test('connect() opens nothing; state$ and errors$ subscribers do not open it either', async () => {
    const server = await startWsPeer();
    let urlCalls = 0;
    const socket = client(() => (urlCalls++, server.url));
    const rec = record(socket);
    await new Promise((resolve) => setImmediate(resolve));
    expect(urlCalls).toBe(0);
    expect(socket.state).toEqual({ status: 'idle', attempt: 0 });
    expect(rec.trail()).toEqual(['idle:0']);

    collect(socket);
    expect(urlCalls).toBe(1); // the first messages$ subscriber starts the first attempt
    await server.connection(1);
    expect(server.connections).toHaveLength(1);
  });

  test('a messages$ subscriber opens the connection and gets messages: idle → connecting → open', async () => {
    const server = await startWsPeer({ onConnection: ({ ws }) => ws.send(JSON.stringify({ hello: 1 })) });
    const socket = client(server.url);
    const rec = record(socket);
    const messages = collect(socket);
    await waitFor(() => messages.values.length === 1, 'the first message');
    expect(messages.values).toEqual([{ hello: 1 }]);
    expect(rec.states).toEqual([
      { status: 'idle', attempt: 0 },
      { status: 'connecting', attempt: 1 },
      { status: 'open', attempt: 1 },
    ]);
    expect(rec.errors).toEqual([]);
  });

  test('two subscribers share one socket; the connection closes with 1000 only when the last one leaves', async () => {
    const server = await startWsPeer();
    const socket = client(server.url);
    const rec = record(socket);
    const a = collect(socket);
    const b = collect(socket);
    const conn = await server.connection(1);
    await waitFor(() => socket.state.status === 'open', 'open');
    conn.ws.send('"one"');
    await waitFor(() => a.values.length === 1 && b.values.length === 1, 'both subscribers to get "one"');

    a.subscription.unsubscribe();
    conn.ws.send('"two"');
    await waitFor(() => b.values.length === 2, 'b to get "two"');
    expect(a.values).toEqual(['one']);
    expect(b.values).toEqual(['one', 'two']);
    expect(conn.close).toBeUndefined();

    b.subscription.unsubscribe();
    expect(await conn.closed).toEqual({ code: 1000, reason: '' });
    await waitFor(() => socket.state.status === 'idle', 'idle');
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'idle:0']);
    expect(server.connections).toHaveLength(1);
    expect(a.completed || a.errored || b.completed || b.errored).toBe(false);
  });

  test('lazyCloseTimeout: the socket lingers that long after the last holder; a holder inside the window keeps it', async () => {
    const server = await startWsPeer();
    const socket = client(server.url, { lazyCloseTimeout: 200 });
    const rec = record(socket);
    const first = collect(socket);
    const conn = await server.connection(1);
    await waitFor(() => socket.state.status === 'open', 'open');

    first.subscription.unsubscribe();
    await sleep(50); // inside the window
    const second = collect(socket);
    conn.ws.send('"same socket"');
    await waitFor(() => second.values.length === 1, 'a message on the lingering socket');
    expect(server.connections).toHaveLength(1);

    const released = Date.now();
    second.subscription.unsubscribe();
    expect(await conn.closed).toEqual({ code: 1000, reason: '' });
    expect(Date.now() - released).toBeGreaterThanOrEqual(180);
    await waitFor(() => socket.state.status === 'idle', 'idle');
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'idle:0']);
  });

  test('after going idle, the next subscriber reconnects with a new socket (idle is not terminal)', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.send(JSON.stringify(c.index)) });
    const socket = client(server.url);
    const rec = record(socket);
    const first = collect(socket);
    await waitFor(() => first.values.length === 1, 'message from connection 1');
    first.subscription.unsubscribe();
    expect(await server.connections[0]?.closed).toEqual({ code: 1000, reason: '' });
    await waitFor(() => socket.state.status === 'idle', 'idle');

    const second = collect(socket);
    await waitFor(() => second.values.length === 1, 'message from connection 2');
    expect(second.values).toEqual([2]);
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'idle:0', 'connecting:1', 'open:1']);
    expect(server.openCount()).toBe(1);
  });
});

test('a stale socket cannot act on the current one: frames a closing socket still receives are ignored', async () => {
  // The peer ignores close frames and keeps sending `{conn}` every 5 ms on every connection.
  const peer = await startRawPeer({
    handshake: true,
    allowHalfOpen: true,
    onOpen: (conn) => {
      const payload = Buffer.from(JSON.stringify({ conn: conn.index }));
      const timer = setInterval(() => conn.write(Buffer.concat([Buffer.from([0x81, payload.length]), payload])), 5);
      void conn.closed.then(() => clearInterval(timer));
      conn.socket.once('end', () => clearInterval(timer));
    },
  });
  const tracked = trackedWebSocket();
  const socket = client<{ conn: number }>(peer.url, { WebSocket: tracked.WebSocket, closeTimeout: 600, heartbeat: false });
  const first = collect(socket);
  await waitFor(() => first.values.length >= 2, 'two frames on connection 1');
  first.subscription.unsubscribe();
  await waitFor(() => socket.state.status === 'idle', 'idle');

  const second = collect(socket);
  await waitFor(() => second.values.length >= 10, 'ten frames on connection 2');
  expect(tracked.instances[0]?.readyState).toBe(2); // the first socket is still closing, still receiving
  expect(new Set(second.values.map((m) => m.conn))).toEqual(new Set([2]));
  expect(first.values.every((m) => m.conn === 1)).toBe(true);
});

describe('state table: one test per transition, exact state$ sequences', () => {
  test('open → reconnecting → open: a retried server close (1012)', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.index === 1 && c.ws.close(1012, 'restart') });
    const socket = client(server.url, { reconnect: fast });
    const rec = record(socket);
    collect(socket);
    await server.connection(2);
    await waitFor(() => rec.states.length === 5, '5 states');
    const lastClose = { code: 1012, reason: 'restart', wasClean: true };
    expect(rec.states).toEqual([
      { status: 'idle', attempt: 0 },
      { status: 'connecting', attempt: 1 },
      { status: 'open', attempt: 1 },
      { status: 'reconnecting', attempt: 2, lastClose },
      { status: 'open', attempt: 2, lastClose },
    ]);
  });

  test('connecting → reconnecting → reconnecting → open: failed attempts (HTTP 503) carry the status', async () => {
    let upgrades = 0;
    const server = await startWsPeer({
      wsOptions: { verifyClient: (_info, done) => (++upgrades <= 2 ? done(false, 503, 'Busy') : done(true)) },
    });
    const socket = client(server.url, { reconnect: fast });
    const rec = record(socket);
    collect(socket);
    await waitFor(() => socket.state.status === 'open', 'open');
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'reconnecting:2(1006)', 'reconnecting:3(1006)', 'open:3(1006)']);
    expect(rec.states[2]?.lastClose).toEqual(expect.objectContaining({ code: 1006, wasClean: false, status: 503 }));
    expect(rec.errors).toHaveLength(2);
    for (const error of rec.errors) expect(error).toMatchObject({ name: 'ConnectionClosedError', code: 1006, status: 503 });
  });

  test('open → open with attempt 0 after resetAfter ms', async () => {
    const server = await startWsPeer();
    const socket = client(server.url, { reconnect: { ...fast, resetAfter: 50 } });
    const rec = record(socket);
    collect(socket);
    await waitFor(() => rec.states.length === 4, '4 states');
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'open:0']);
    expect(server.connections).toHaveLength(1);
  });

  test('connecting → idle: the last subscriber leaves during the handshake', async () => {
    const peer = await startRawPeer({ handshake: false });
    const socket = client(peer.url);
    const rec = record(socket);
    const messages = collect(socket);
    await peer.connection(1);
    messages.subscription.unsubscribe();
    await waitFor(() => socket.state.status === 'idle', 'idle');
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'idle:0']);
  });

  test('reconnecting → idle: the last subscriber leaves during the backoff wait, which is cancelled', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.close(1012) });
    const socket = client(server.url, { reconnect: { initialDelay: 150, jitter: false } });
    const rec = record(socket);
    const messages = collect(socket);
    await waitFor(() => socket.state.status === 'reconnecting', 'reconnecting');
    messages.subscription.unsubscribe();
    await waitFor(() => socket.state.status === 'idle', 'idle');
    await sleep(300); // past the backoff delay: no further attempt
    expect(server.connections).toHaveLength(1);
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'reconnecting:2(1012)', 'idle:0(1012)']);
  });

  test('connecting → closed: a first attempt that fails with reconnect: false', async () => {
    const port = await refusedPort();
    const socket = client(`ws://127.0.0.1:${port}/`, { reconnect: false });
    const rec = record(socket);
    const messages = collect(socket);
    await messages.ended();
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'closed:1(1006)']);
    expect(messages.error).toBeInstanceOf(ConnectionClosedError);
    expect(rec.statesDone).toBe(true);
  });

  test('open → closed: a fatal server close (1008)', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.close(1008, 'policy') });
    const socket = client(server.url, { reconnect: fast });
    const rec = record(socket);
    const messages = collect(socket);
    await messages.ended();
    expect(rec.states).toEqual([
      { status: 'idle', attempt: 0 },
      { status: 'connecting', attempt: 1 },
      { status: 'open', attempt: 1 },
      { status: 'closed', attempt: 1, lastClose: { code: 1008, reason: 'policy', wasClean: true } },
    ]);
  });

  test('reconnecting → closed: retries exhausted', async () => {
    const port = await refusedPort();
    const socket = client(`ws://127.0.0.1:${port}/`, { reconnect: { ...fast, maxAttempts: 2 } });
    const rec = record(socket);
    const messages = collect(socket);
    await messages.ended();
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'reconnecting:2(1006)', 'closed:2(1006)']);
    expect(messages.error).toBeInstanceOf(RetriesExhaustedError);
  });

  test('idle → closed, connecting → closed, reconnecting → closed, open → closed: close()', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.index === 1 && c.ws.close(1012) });
    const hung = await startRawPeer({ handshake: false });

    const idle = client(server.url);
    const idleRec = record(idle);
    await idle.close();
    expect(idleRec.trail()).toEqual(['idle:0', 'closing:0', 'closed:0(1000)']);

    const connecting = client(hung.url);
    const connectingRec = record(connecting);
    collect(connecting);
    await hung.connection(1);
    await connecting.close();
    expect(connectingRec.trail()).toEqual(['idle:0', 'connecting:1', 'closing:1', 'closed:1(1000)']);

    const reconnecting = client(server.url, { reconnect: { initialDelay: 5000 } });
    const reconnectingRec = record(reconnecting);
    collect(reconnecting);
    await waitFor(() => reconnecting.state.status === 'reconnecting', 'reconnecting');
    await reconnecting.close();
    expect(reconnectingRec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'reconnecting:2(1012)', 'closing:2(1012)', 'closed:2(1000)']);

    const open = client(server.url);
    const openRec = record(open);
    collect(open);
    await waitFor(() => open.state.status === 'open', 'open');
    await open.close();
    expect(openRec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'closing:1', 'closed:1(1000)']);
    for (const rec of [idleRec, connectingRec, reconnectingRec, openRec]) expect(rec.statesDone).toBe(true);
  });

  test('closed is terminal: a later messages$ subscriber does not reconnect', async () => {
    const server = await startWsPeer();
    const socket = client(server.url);
    const rec = record(socket);
    collect(socket);
    await waitFor(() => socket.state.status === 'open', 'open');
    await socket.close();
    const late = collect(socket);
    expect(late.completed).toBe(true);
    await sleep(50);
    expect(server.connections).toHaveLength(1);
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'closing:1', 'closed:1(1000)']);
  });
});

describe('attempts', () => {
  test('maxAttempts: 3 means 3 attempts in all, numbered 1, 2, 3, with the backoff delays between them', async () => {
    const arrivals: number[] = [];
    const server = await startWsPeer({
      onConnection: (c) => {
        arrivals.push(Date.now());
        c.ws.close(1012, `bye ${c.index}`);
      },
    });
    const socket = client(server.url, { reconnect: { initialDelay: 40, factor: 2, jitter: false, maxAttempts: 3 } });
    const rec = record(socket);
    const messages = collect(socket);
    await messages.ended();
    await sleep(150); // a 4th attempt would come 160 ms after the 3rd at the latest
    expect(server.connections).toHaveLength(3);
    expect(rec.trail()).toEqual([
      'idle:0', 'connecting:1', 'open:1', 'reconnecting:2(1012)', 'open:2(1012)', 'reconnecting:3(1012)', 'open:3(1012)', 'closed:3(1012)',
    ]);
    // Only the retried ends go to errors$; the last one is the cause of RetriesExhaustedError.
    expect(rec.errors.map((e) => [e.name, (e as ConnectionClosedError).reason])).toEqual([
      ['ConnectionClosedError', 'bye 1'],
      ['ConnectionClosedError', 'bye 2'],
    ]);
    expect(messages.error).toBeInstanceOf(RetriesExhaustedError);
    expect(messages.error).toMatchObject({ attempts: 3, cause: { code: 1012, reason: 'bye 3', wasClean: true } });
    const [t1 = 0, t2 = 0, t3 = 0] = arrivals;
    expect(t2 - t1).toBeGreaterThanOrEqual(38); // initialDelay
    expect(t3 - t2).toBeGreaterThanOrEqual(78); // initialDelay * factor
  });

  test('maxAttempts: 1 is a single attempt: RetriesExhaustedError { attempts: 1 }, nothing on errors$', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.close(1012) });
    const socket = client(server.url, { reconnect: { ...fast, maxAttempts: 1 } });
    const rec = record(socket);
    const messages = collect(socket);
    await messages.ended();
    expect(messages.error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 1, cause: { code: 1012 }, code: 1012 });
    expect((messages.error as RetriesExhaustedError).lastClose).toEqual({ code: 1012, reason: '', wasClean: true });
    expect(rec.errors).toEqual([]);
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'closed:1(1012)']);
    await sleep(60);
    expect(server.connections).toHaveLength(1);
  });

  test('a connection that drops before resetAfter counts as a failed attempt', async () => {
    const server = await startWsPeer({ onConnection: (c) => setTimeout(() => c.ws.close(1012), 20) });
    const socket = client(server.url, { reconnect: { ...fast, maxAttempts: 2, resetAfter: 200 } });
    const messages = collect(socket);
    await messages.ended();
    expect(messages.error).toMatchObject({ name: 'RetriesExhaustedError', attempts: 2 });
    expect(server.connections).toHaveLength(2);
  });

  test('a connection that stays open resetAfter ms resets the count: maxAttempts is never reached', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.index <= 3 && setTimeout(() => c.ws.close(1012), 120) });
    const socket = client(server.url, { reconnect: { ...fast, maxAttempts: 2, resetAfter: 50 } });
    const rec = record(socket);
    const messages = collect(socket);
    await server.connection(4);
    await waitFor(() => rec.trail().filter((s) => s.startsWith('open')).length === 8, '4 opens, each reset');
    expect(messages.errored).toBe(false);
    expect(rec.trail()).toEqual([
      'idle:0', 'connecting:1', 'open:1', 'open:0',
      'reconnecting:2(1012)', 'open:2(1012)', 'open:0(1012)',
      'reconnecting:2(1012)', 'open:2(1012)', 'open:0(1012)',
      'reconnecting:2(1012)', 'open:2(1012)', 'open:0(1012)',
    ]);
  });
});

describe('restarts', () => {
  test('server closes with 1012 mid-stream: it reconnects and messages keep flowing to the same subscriber', async () => {
    const server = await startWsPeer({
      onConnection: (c) => {
        let seq = 0;
        const timer = setInterval(() => c.ws.send(JSON.stringify({ conn: c.index, seq: ++seq })), 5);
        c.ws.on('close', () => clearInterval(timer));
      },
    });
    const socket = client<{ conn: number; seq: number }>(server.url, { reconnect: fast });
    const rec = record(socket);
    const messages = collect(socket);
    await waitFor(() => messages.values.length >= 3, '3 messages from connection 1');
    server.connections[0]?.ws.close(1012, 'restart');
    await waitFor(() => messages.values.filter((m) => m.conn === 2).length >= 3, '3 messages from connection 2');

    const conns = messages.values.map((m) => m.conn);
    expect(conns).toEqual([...conns].sort()); // all of connection 1, then connection 2
    for (const conn of [1, 2]) {
      const seqs = messages.values.filter((m) => m.conn === conn).map((m) => m.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1)); // none lost, none repeated
    }
    expect(messages.errored || messages.completed).toBe(false);
    expect(rec.errors).toHaveLength(1);
    expect(rec.errors[0]).toMatchObject({ name: 'ConnectionClosedError', code: 1012, reason: 'restart' });
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'reconnecting:2(1012)', 'open:2(1012)']);
  });

  test('server down (terminated, port refused) and back on the same port: retries until it is up again', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.send(JSON.stringify(c.index)) });
    const socket = client<number>(server.url, { reconnect: { initialDelay: 10, maxDelay: 30, jitter: false } });
    const rec = record(socket);
    const messages = collect(socket);
    await waitFor(() => messages.values.length === 1, 'message from connection 1');
    await server.stop();
    await waitFor(() => rec.errors.length >= 3, '3 failed attempts while the server is down');
    await server.start();
    await waitFor(() => messages.values.length === 2, 'message after the restart');
    expect(messages.values).toEqual([1, 2]);
    expect(messages.errored).toBe(false);
    expect(rec.errors.every((e) => e instanceof ConnectionClosedError && e.code === 1006)).toBe(true);
    expect(socket.state.status).toBe('open');
  });
});

describe('per-attempt URL and options', () => {
  // An unusable URL from the function is a configuration error, fatal since the validation
  // issue: spec/client/configuration-errors.spec.ts has it.
  test('a URL function is called before every attempt; throwing or rejecting with an Error fails that attempt only', async () => {
    const server = await startWsPeer();
    const calls: number[] = [];
    const url = (): string | URL | Promise<string> => {
      const n = calls.push(calls.length + 1);
      if (n === 1) throw new Error('no token yet');
      if (n === 2) return Promise.reject(new Error('token service down'));
      if (n === 3) return `${server.url}?token=${n}`;
      return new URL(`${server.url}?token=${n}`);
    };
    const socket = client(url, { reconnect: fast });
    const rec = record(socket);
    collect(socket);
    const first = await server.connection(1);
    first.ws.close(1012);
    const second = await server.connection(2);
    await waitFor(() => socket.state.status === 'open' && socket.state.attempt === 4, 'open at attempt 4');

    expect(calls).toEqual([1, 2, 3, 4]);
    expect([first.request.url, second.request.url]).toEqual(['/?token=3', '/?token=4']);
    expect(rec.errors.map((e) => [e.name, (e as ConnectionClosedError).code, (e.cause as Error | undefined)?.message])).toEqual([
      ['ConnectionClosedError', 1006, 'no token yet'],
      ['ConnectionClosedError', 1006, 'token service down'],
      ['ConnectionClosedError', 1012, undefined],
    ]);
    expect(rec.trail()).toEqual([
      'idle:0', 'connecting:1', 'reconnecting:2(1006)', 'reconnecting:3(1006)', 'open:3(1006)', 'reconnecting:4(1012)', 'open:4(1012)',
    ]);
  });

  test('a per-attempt wsOptions function gets the attempt number; the server sees its headers', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.index <= 2 && c.ws.close(4000, 'again') });
    const seen: number[] = [];
    const socket = client(server.url, {
      reconnect: fast,
      wsOptions: async (attempt) => {
        seen.push(attempt);
        return { headers: { 'x-attempt': String(attempt), authorization: `Bearer t${attempt}` } };
      },
    });
    collect(socket);
    await server.connection(3);
    await waitFor(() => socket.state.status === 'open' && socket.state.attempt === 3, 'open at attempt 3');
    expect(seen).toEqual([1, 2, 3]);
    expect(server.connections.map((c) => [c.request.headers['x-attempt'], c.request.headers.authorization])).toEqual([
      ['1', 'Bearer t1'],
      ['2', 'Bearer t2'],
      ['3', 'Bearer t3'],
    ]);
  });
});

describe('hung handshakes', () => {
  test('unsubscribing while the handshake hangs leaves no socket open', async () => {
    const peer = await startRawPeer({ handshake: false });
    const tracked = trackedWebSocket();
    const socket = client(peer.url, { WebSocket: tracked.WebSocket, connectTimeout: 150 });
    const rec = record(socket);
    const messages = collect(socket);
    const conn = await peer.connection(1);
    await waitFor(() => conn.received.includes('\r\n\r\n'), 'the upgrade request');
    messages.subscription.unsubscribe();

    await waitFor(() => conn.isClosed, 'the server side of the hung socket to close', 2000);
    await waitFor(() => tracked.instances[0]?.readyState === 3, 'the client ws to be CLOSED', 2000);
    await sleep(250); // past connectTimeout: the aborted attempt must not time out or retry
    expect(tracked.instances).toHaveLength(1);
    expect(peer.connections).toHaveLength(1);
    expect(peer.openCount()).toBe(0);
    expect(rec.errors).toEqual([]);
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'idle:0']);
  });

  test('connectTimeout aborts a hung handshake: ConnectTimeoutError on errors$, the socket is closed, then retried', async () => {
    const peer = await startRawPeer({ handshake: false });
    const socket = client(peer.url, { connectTimeout: 100, reconnect: { ...fast, maxAttempts: 2 } });
    const rec = record(socket);
    const messages = collect(socket);
    const started = Date.now();
    await messages.ended();
    const elapsed = Date.now() - started;

    expect(rec.errors).toHaveLength(1);
    expect(rec.errors[0]).toBeInstanceOf(ConnectTimeoutError);
    expect(rec.errors[0]).toMatchObject({ code: 1006, reason: 'connect timeout', wasClean: false, timeout: 100 });
    expect(messages.error).toBeInstanceOf(RetriesExhaustedError);
    expect((messages.error as RetriesExhaustedError).cause).toBeInstanceOf(ConnectTimeoutError);
    expect(elapsed).toBeGreaterThanOrEqual(190); // two attempts of 100 ms
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'reconnecting:2(1006)', 'closed:2(1006)']);
    expect(rec.states[2]?.lastClose).toEqual({ code: 1006, reason: 'connect timeout', wasClean: false });
    await waitFor(() => peer.connections.length === 2 && peer.openCount() === 0, 'both hung sockets closed', 2000);
  });

  test('connectTimeout ends with the handshake: an open connection outlives it', async () => {
    const server = await startWsPeer();
    const socket = client(server.url, { connectTimeout: 50, heartbeat: { interval: 40, timeout: 200 } });
    const rec = record(socket);
    collect(socket);
    const conn = await server.connection(1);
    await waitFor(() => conn.pings >= 5, 'five pings, 200 ms past connectTimeout', 3000);
    expect(rec.errors).toEqual([]);
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1']);
  });

  test('connectTimeout also bounds a URL function that never settles', async () => {
    const server = await startWsPeer();
    let calls = 0;
    const socket = client(() => (++calls === 1 ? new Promise<string>(() => undefined) : server.url), {
      connectTimeout: 100,
      reconnect: fast,
    });
    const rec = record(socket);
    collect(socket);
    await waitFor(() => socket.state.status === 'open', 'open');
    expect(calls).toBe(2);
    expect(rec.errors.map((e) => e.name)).toEqual(['ConnectTimeoutError']);
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'reconnecting:2(1006)', 'open:2(1006)']);
  });
});
