import '../helpers/tripwires';
import { connect, ConnectionClosedError, RetriesExhaustedError, type CloseInfo } from '../../lib/index.js';
import { client, collect, record, trackedWebSocket } from '../helpers/observe';
import { onDispose } from '../helpers/dispose';
import { refusedPort, startRawPeer, startWsPeer, type RawConnection } from '../helpers/peers';
import { closePayload, createRawPeer, frame, type FrameOptions } from '../../lib/testing/index.js';
import { waitFor, sleep } from '../helpers/wait';

// close(): one promise, resolved once the socket is closed and every stream completed; terminal
// afterwards. And how the server's close codes and bad frames end (or do not end) a connection.

const fast = { initialDelay: 10, jitter: false } as const;

describe('close()', () => {
  test('every call returns the same promise; the first call’s code and reason are sent', async () => {
    const server = await startWsPeer();
    const socket = client(server.url);
    collect(socket);
    const conn = await server.connection(1);
    await waitFor(() => socket.state.status === 'open', 'open');
    const first = socket.close(4001, 'first');
    expect(socket.close()).toBe(first);
    expect(socket.close(4002, 'second')).toBe(first);
    await first;
    expect(socket.close()).toBe(first);
    expect(conn.close).toEqual({ code: 4001, reason: 'first' });
  });

  test('close(1001) in Node (ws) says the process is going away, and reaches the server as sent', async () => {
    const server = await startWsPeer();
    const socket = client(server.url);
    collect(socket);
    const conn = await server.connection(1);
    await waitFor(() => socket.state.status === 'open', 'open');
    await socket.close(1001, 'shutting down');
    expect(conn.close).toEqual({ code: 1001, reason: 'shutting down' });
    expect(socket.state).toMatchObject({ status: 'closed', lastClose: { code: 1001, reason: 'shutting down' } });
  });

  test('an invalid code or reason throws a RangeError and closes nothing', async () => {
    const server = await startWsPeer();
    const socket = client(server.url);
    const messages = collect(socket);
    const conn = await server.connection(1);
    expect(() => socket.close(1005)).toThrow(RangeError);
    expect(() => socket.close(2999)).toThrow(RangeError);
    expect(() => socket.close(5000)).toThrow(RangeError);
    expect(() => socket.close(1000, 'x'.repeat(124))).toThrow(RangeError);
    expect(() => socket.close(1000, 'é'.repeat(62))).toThrow(RangeError); // 124 bytes in UTF-8
    conn.ws.send('"still open"');
    await waitFor(() => messages.values.length === 1, 'a message after the rejected calls');
    expect(conn.close).toBeUndefined();
    await socket.close(1000, 'é'.repeat(61));
    expect(conn.close).toEqual({ code: 1000, reason: 'é'.repeat(61) });
  });

  test('resolves only after the socket is closed and messages$, state$, errors$ and dropped$ all completed', async () => {
    const server = await startWsPeer();
    const tracked = trackedWebSocket();
    const socket = client(server.url, { WebSocket: tracked.WebSocket });
    const rec = record(socket);
    const messages = collect(socket);
    const conn = await server.connection(1);
    await waitFor(() => socket.state.status === 'open', 'open');

    const closing = socket.close();
    expect(messages.completed).toBe(false); // not before the socket closed
    const atResolution = await closing.then(() => ({
      readyState: tracked.instances[0]?.readyState,
      messages: messages.completed,
      states: rec.statesDone,
      errors: rec.errorsDone,
      dropped: rec.droppedDone,
      status: socket.state.status,
    }));
    expect(atResolution).toEqual({ readyState: 3, messages: true, states: true, errors: true, dropped: true, status: 'closed' });
    expect(messages.errored).toBe(false);
    expect(await conn.closed).toEqual({ code: 1000, reason: '' });
  });

  test('close() inside a messages$ handler: no later message is delivered, messages$ completes', async () => {
    const server = await startWsPeer({
      onConnection: ({ ws }) => {
        for (const n of [1, 2, 3]) ws.send(JSON.stringify(n));
      },
    });
    const socket = client<number>(server.url);
    let closing: Promise<void> | undefined;
    const messages = collect(socket, () => (closing ??= socket.close()));
    await waitFor(() => closing, 'close() to be called');
    await closing;
    expect(messages.values).toEqual([1]);
    expect(messages.completed).toBe(true);
    expect(await server.connections[0]?.closed).toEqual({ code: 1000, reason: '' });
  });

  // fail() emits 'closed' and errors messages$ before it assigns `closed`: a close() from those
  // observers makes a second promise.
  test('close() inside a messages$ error handler returns the promise every later call returns', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.close(1008, 'policy') });
    const socket = client(server.url);
    let inHandler: Promise<void> | undefined;
    socket.messages$.subscribe({ error: () => (inHandler = socket.close()) });
    await waitFor(() => inHandler, 'the error handler to call close()');
    await inHandler;
    expect(socket.close()).toBe(inHandler);
  });

  // startSession() announces 'connecting' and then subscribes whatever the observer did.
  test('close() inside a state$ handler at connecting: the attempt is not started, nothing stays open', async () => {
    const server = await startWsPeer();
    const tracked = trackedWebSocket();
    const socket = client(server.url, { WebSocket: tracked.WebSocket });
    let closing: Promise<void> | undefined;
    socket.state$.subscribe((s) => s.status === 'connecting' && (closing ??= socket.close()));
    const messages = collect(socket);
    await waitFor(() => closing, 'close() to be called');
    await closing;
    expect(messages.completed).toBe(true);
    await sleep(100); // an attempt started despite close() would be open by now
    expect(socket.state.status).toBe('closed');
    expect(tracked.instances.filter((ws) => ws.readyState !== 3)).toEqual([]);
    expect(server.openCount()).toBe(0);
  });

  test('close() inside a state$ handler at reconnecting, or an errors$ handler: no further attempt', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.close(1012) });
    const viaState = client(server.url, { reconnect: fast });
    viaState.state$.subscribe((s) => s.status === 'reconnecting' && void viaState.close());
    const a = collect(viaState);
    const viaErrors = client(server.url, { reconnect: fast });
    viaErrors.errors$.subscribe(() => void viaErrors.close());
    const b = collect(viaErrors);
    await a.ended();
    await b.ended();
    expect([a.completed, b.completed]).toEqual([true, true]);
    await sleep(60);
    expect(server.connections).toHaveLength(2);
    expect([viaState.state.status, viaErrors.state.status]).toEqual(['closed', 'closed']);
  });

  test('close() also waits for a socket still closing from an earlier lazy close', async () => {
    const peer = await startRawPeer({ handshake: true, allowHalfOpen: true }); // never answers a close frame
    const tracked = trackedWebSocket();
    const socket = client(peer.url, { WebSocket: tracked.WebSocket, closeTimeout: 300, heartbeat: false });
    const messages = collect(socket);
    await waitFor(() => socket.state.status === 'open', 'open');
    const released = Date.now();
    messages.subscription.unsubscribe();
    await waitFor(() => socket.state.status === 'idle', 'idle');
    expect(tracked.instances[0]?.readyState).toBe(2); // CLOSING: waiting for the close frame
    const readyStateAtResolution = await socket.close().then(() => tracked.instances[0]?.readyState);
    expect(readyStateAtResolution).toBe(3);
    expect(Date.now() - released).toBeGreaterThanOrEqual(280);
  });

  test('racing a server close in the same tick: resolves, messages$ completes, no retry', async () => {
    const server = await startWsPeer();
    const socket = client(server.url, { reconnect: fast });
    const rec = record(socket);
    const messages = collect(socket);
    const conn = await server.connection(1);
    await waitFor(() => socket.state.status === 'open', 'open');
    conn.ws.close(1012, 'restart');
    await socket.close();
    expect(messages.completed).toBe(true);
    expect(rec.errors).toEqual([]);
    await sleep(60);
    expect(server.connections).toHaveLength(1);
    // The server's close frame crossed the client's: the socket reports the server's code.
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'closing:1', 'closed:1(1012)']);
  });

  test('racing a server terminate: resolves as soon as the TCP connection is gone, not at closeTimeout', async () => {
    const server = await startWsPeer();
    const socket = client(server.url, { reconnect: fast, closeTimeout: 5000 });
    const rec = record(socket);
    const messages = collect(socket);
    const conn = await server.connection(1);
    await waitFor(() => socket.state.status === 'open', 'open');
    const started = Date.now();
    conn.ws.terminate();
    await socket.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(messages.completed).toBe(true);
    expect(rec.errors).toEqual([]);
    expect(server.connections).toHaveLength(1);
  });

  test('close() during the backoff wait: resolves at once and no further attempt is made', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.close(1012) });
    const socket = client(server.url, { reconnect: { initialDelay: 200, jitter: false } });
    const rec = record(socket);
    const messages = collect(socket);
    await waitFor(() => socket.state.status === 'reconnecting', 'reconnecting');
    const started = Date.now();
    await socket.close();
    expect(Date.now() - started).toBeLessThan(150);
    expect(messages.completed).toBe(true);
    await sleep(300);
    expect(server.connections).toHaveLength(1);
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'reconnecting:2(1012)', 'closing:2(1012)', 'closed:2(1000)']);
  });

  test('close() while connecting (hung handshake): aborts the handshake, the TCP socket is closed', async () => {
    const peer = await startRawPeer({ handshake: false });
    const tracked = trackedWebSocket();
    const socket = client(peer.url, { WebSocket: tracked.WebSocket });
    const messages = collect(socket);
    const conn = await peer.connection(1);
    await waitFor(() => conn.received.includes('\r\n\r\n'), 'the upgrade request');
    const started = Date.now();
    await socket.close();
    expect(Date.now() - started).toBeLessThan(500);
    expect(tracked.instances[0]?.readyState).toBe(3);
    expect(messages.completed).toBe(true);
    await waitFor(() => conn.isClosed, 'the server side to close', 2000);
  });

  test('close() while the URL function is still pending resolves, and the late URL opens nothing', async () => {
    const server = await startWsPeer();
    let resolveUrl!: (url: string) => void;
    const socket = client(() => new Promise<string>((resolve) => (resolveUrl = resolve)));
    const messages = collect(socket);
    await socket.close();
    expect(messages.completed).toBe(true);
    resolveUrl(server.url);
    await sleep(60);
    expect(server.connections).toHaveLength(0);
  });

  test('a server that never answers the close frame: terminated at closeTimeout, resolves within closeTimeout + margin', async () => {
    const peer = await startRawPeer({ handshake: true, allowHalfOpen: true });
    const socket = client(peer.url, { closeTimeout: 300, heartbeat: false });
    const messages = collect(socket);
    const conn = await peer.connection(1);
    await waitFor(() => socket.state.status === 'open', 'open');
    const started = Date.now();
    await socket.close();
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(300 + 700);
    expect(conn.received[0]).toBe(0x88); // a close frame was sent first
    expect(messages.completed).toBe(true);
    await waitFor(() => conn.ended, 'the client to end the TCP connection', 1000);
  });

  test('after close(): a late messages$ subscriber completes at once; state$ replays closed and completes', async () => {
    const server = await startWsPeer();
    const socket = client(server.url);
    collect(socket);
    await waitFor(() => socket.state.status === 'open', 'open');
    await socket.close();

    const late = collect(socket);
    expect(late.completed).toBe(true);
    expect(late.values).toEqual([]);
    const states: string[] = [];
    let statesDone = false;
    socket.state$.subscribe({ next: (s) => states.push(s.status), complete: () => (statesDone = true) });
    expect(states).toEqual(['closed']);
    expect(statesDone).toBe(true);
    let errorsDone = false;
    let droppedDone = false;
    socket.errors$.subscribe({ complete: () => (errorsDone = true) });
    socket.dropped$.subscribe({ complete: () => (droppedDone = true) });
    expect([errorsDone, droppedDone]).toEqual([true, true]);
  });
});

describe('closes that are not retried', () => {
  test('reconnect: false and a clean 1000: messages$ errors with ConnectionClosedError (code, reason, wasClean)', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.close(1000, 'bye') });
    const socket = client(server.url, { reconnect: false });
    const rec = record(socket);
    const messages = collect(socket);
    await messages.ended();
    expect(messages.error).toBeInstanceOf(ConnectionClosedError);
    expect(messages.error).toMatchObject({ code: 1000, reason: 'bye', wasClean: true });
    expect(rec.errors).toEqual([]); // errors$ is for retried ends only
    expect([rec.statesDone, rec.errorsDone, rec.droppedDone]).toEqual([true, true, true]);
    expect(socket.state).toEqual({ status: 'closed', attempt: 1, lastClose: { code: 1000, reason: 'bye', wasClean: true } });

    const late = collect(socket);
    expect(late.errored).toBe(true);
    expect(late.error).toBe(messages.error); // the same error, at once
    const closing = socket.close();
    expect(socket.close()).toBe(closing);
    await closing;
  });

  test('a refused upgrade with reconnect: false: the error carries the HTTP status', async () => {
    const server = await startWsPeer({ wsOptions: { verifyClient: (_info, done) => done(false, 401, 'Unauthorized') } });
    const socket = client(server.url, { reconnect: false });
    const messages = collect(socket);
    await messages.ended();
    expect(messages.error).toBeInstanceOf(ConnectionClosedError);
    expect(messages.error).toMatchObject({ code: 1006, wasClean: false, status: 401 });
    expect(socket.state.lastClose).toMatchObject({ code: 1006, status: 401 });
  });

  test('running out of attempts: RetriesExhaustedError with attempts and the last cause', async () => {
    const port = await refusedPort();
    const socket = client(`ws://127.0.0.1:${port}/`, { reconnect: { ...fast, maxAttempts: 3 } });
    const rec = record(socket);
    const messages = collect(socket);
    await messages.ended();
    expect(messages.error).toBeInstanceOf(RetriesExhaustedError);
    const error = messages.error as RetriesExhaustedError;
    expect(error.attempts).toBe(3);
    expect(error.cause).toBeInstanceOf(ConnectionClosedError);
    expect(error.cause).toMatchObject({ code: 1006, wasClean: false, cause: { code: 'ECONNREFUSED' } });
    expect(rec.errors).toHaveLength(2);
    expect(collect(socket).error).toBe(error);
  });
});

describe('close codes from the server, per the default table', () => {
  // 1005: the server closes without a code; 1006: it drops the TCP connection.
  const retried = [1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014, 3000, 4000, 4999];

  test.each(retried)('%i is retried: errors$ gets it, and the client reconnects', async (code) => {
    const server = await startWsPeer({
      onConnection: (c) => {
        if (c.index > 1) return;
        if (code === 1006) c.ws.terminate();
        else if (code === 1005) c.ws.close();
        else c.ws.close(code, `reason ${code}`);
      },
    });
    const socket = client(server.url, { reconnect: fast });
    const rec = record(socket);
    const messages = collect(socket);
    await server.connection(2);
    await waitFor(() => socket.state.status === 'open' && socket.state.attempt === 2, 'open again');
    const clean = code !== 1006;
    const reason = code === 1005 || code === 1006 ? '' : `reason ${code}`;
    expect(rec.errors).toHaveLength(1);
    expect(rec.errors[0]).toBeInstanceOf(ConnectionClosedError);
    expect(rec.errors[0]).toMatchObject({ code, wasClean: clean, ...(clean && { reason }) });
    expect(rec.states[3]).toMatchObject({ status: 'reconnecting', attempt: 2, lastClose: { code, wasClean: clean } });
    expect(messages.errored).toBe(false);
  });

  test.each([1002, 1003, 1007, 1008, 1009, 1010])('%i is fatal: messages$ errors, no reconnect', async (code) => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.close(code, `reason ${code}`) });
    const socket = client(server.url, { reconnect: fast });
    const rec = record(socket);
    const messages = collect(socket);
    await messages.ended();
    expect(messages.error).toBeInstanceOf(ConnectionClosedError);
    expect(messages.error).toMatchObject({ code, reason: `reason ${code}`, wasClean: true });
    expect(rec.errors).toEqual([]);
    await sleep(60); // a retry would come after 10 ms
    expect(server.connections).toHaveLength(1);
  });

  test('shouldReconnect overrides the table: false for a retried 1012', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.ws.close(1012, 'restart') });
    const asked: CloseInfo[] = [];
    const socket = client(server.url, { reconnect: { ...fast, shouldReconnect: (close) => (asked.push(close), false) } });
    const messages = collect(socket);
    await messages.ended();
    expect(asked).toEqual([{ code: 1012, reason: 'restart', wasClean: true }]);
    expect(messages.error).toMatchObject({ name: 'ConnectionClosedError', code: 1012 });
    await sleep(60);
    expect(server.connections).toHaveLength(1);
  });

  test('shouldReconnect overrides the table: true for a fatal 1008', async () => {
    const server = await startWsPeer({ onConnection: (c) => c.index === 1 && c.ws.close(1008, 'policy') });
    const socket = client(server.url, { reconnect: { ...fast, shouldReconnect: (close) => close.code === 1008 } });
    const rec = record(socket);
    const messages = collect(socket);
    await server.connection(2);
    await waitFor(() => socket.state.status === 'open' && socket.state.attempt === 2, 'open again');
    expect(rec.errors).toEqual([expect.objectContaining({ code: 1008, reason: 'policy' })]);
    expect(messages.errored).toBe(false);
  });
});

describe('a server close frame, then a TCP connection the server never closes', () => {
  // The client answers the close frame and ends its side; RFC 6455 lets it close the TCP
  // connection itself if the server does not. ws would wait 30 s; rxwire waits closeTimeout.
  test('the close is reported with the server code after closeTimeout (ws alone: 30 s), and the client reconnects', async () => {
    let first: RawConnection | undefined;
    const peer = await startRawPeer({
      handshake: true,
      allowHalfOpen: true,
      onOpen: (conn) => {
        if (conn.index > 1) return;
        first = conn;
        conn.write(frame({ opcode: 0x8, payload: closePayload(1001, 'going away') }));
      },
    });
    const socket = client(peer.url, { reconnect: fast, heartbeat: false, closeTimeout: 200 });
    const rec = record(socket);
    const messages = collect(socket);
    await waitFor(() => first?.ended, 'the client to answer and end its side', 2000);
    const endedAt = Date.now();
    expect(first?.received[0]).toBe(0x88); // its close frame came before its FIN
    await peer.connection(2, 3000);
    const reconnectedAfter = Date.now() - endedAt;
    expect(reconnectedAfter).toBeGreaterThanOrEqual(150); // closeTimeout gave the server its chance
    expect(reconnectedAfter).toBeLessThan(2500); // ws alone would hold the socket for 30 s
    expect(rec.errors).toHaveLength(1);
    expect(rec.errors[0]).toMatchObject({ name: 'ConnectionClosedError', code: 1001, reason: 'going away', wasClean: true });
    expect(rec.states.map((state) => state.status).slice(0, 4)).toEqual(['idle', 'connecting', 'open', 'reconnecting']);
    expect(rec.states[3]).toMatchObject({ lastClose: { code: 1001, reason: 'going away' } });
    expect(messages.errored).toBe(false);
  });
});

describe('bad frames from the server are fatal, not a reconnect loop', () => {
  const badFrames: Array<{ what: string; code: number; wsCode: string; frame: FrameOptions; maxPayload?: number }> = [
    { what: 'a masked frame', code: 1002, wsCode: 'WS_ERR_UNEXPECTED_MASK', frame: { opcode: 0x1, payload: 'hi', mask: true } },
    { what: 'RSV1 without an extension', code: 1002, wsCode: 'WS_ERR_UNEXPECTED_RSV_1', frame: { opcode: 0x1, payload: 'a', rsv1: true } },
    { what: 'a reserved opcode', code: 1002, wsCode: 'WS_ERR_INVALID_OPCODE', frame: { opcode: 0x3 } },
    { what: 'a fragmented ping', code: 1002, wsCode: 'WS_ERR_EXPECTED_FIN', frame: { opcode: 0x9, fin: false } },
    { what: 'a close frame with code 2000', code: 1002, wsCode: 'WS_ERR_INVALID_CLOSE_CODE', frame: { opcode: 0x8, payload: closePayload(2000) } },
    { what: 'text that is not UTF-8', code: 1007, wsCode: 'WS_ERR_INVALID_UTF8', frame: { opcode: 0x1, payload: Buffer.from([0xff, 0xfe]) } },
    { what: 'a message over maxPayload', code: 1009, wsCode: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', frame: { opcode: 0x2, payload: Buffer.alloc(32) }, maxPayload: 16 },
  ];

  test.each(badFrames)('$what → $code', async ({ code, wsCode, frame, maxPayload }) => {
    const peer = await createRawPeer();
    onDispose(() => peer.close());
    const socket = client(peer.url, { reconnect: fast, ...(maxPayload && { wsOptions: { maxPayload } }) });
    const rec = record(socket);
    const messages = collect(socket);
    const conn = await peer.waitForConnection();
    conn.sendFrame(frame);
    await messages.ended(3000);
    expect(messages.error).toBeInstanceOf(ConnectionClosedError);
    expect(messages.error).toMatchObject({ code, wasClean: false, cause: { code: wsCode } });
    expect(rec.errors).toEqual([]);
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', `closed:1(${code})`]);
    await sleep(60); // a retry would come after 10 ms
    expect(peer.connections).toHaveLength(1);
  });

  // ws answers a protocol error with its own close and then waits up to 30 s for the peer's FIN;
  // rxwire waits for ws's 'close', so the heartbeat fires first and the end is retried as a
  // heartbeat timeout (without a heartbeat, the fatal close comes after 30 s). See the report.
  test('a bad frame from a peer that then stays silent and half-open: still fatal, promptly, with a heartbeat on', async () => {
    let first: RawConnection | undefined;
    const peer = await startRawPeer({
      handshake: true,
      allowHalfOpen: true,
      onOpen: (conn) => conn.index === 1 && ((first = conn), conn.write(Buffer.from([0x81, 0x02, 0xff, 0xfe]))),
    });
    const socket = client(peer.url, { reconnect: fast, heartbeat: { interval: 50, timeout: 50 }, closeTimeout: 200 });
    const rec = record(socket);
    const messages = collect(socket);
    await waitFor(() => messages.errored || messages.completed || peer.connections.length > 1, 'the connection to end', 3000);
    expect(rec.errors).toEqual([]);
    expect(peer.connections).toHaveLength(1);
    expect(messages.error).toMatchObject({ name: 'ConnectionClosedError', code: 1007, wasClean: false });
    await waitFor(() => first?.ended, 'the client to end the TCP connection', 1000);
  });
});

describe('close() re-entered from a dropped$ observer', () => {
  test('returns the same promise, and state$ says closed once', async () => {
    const socket = connect<unknown, string>('ws://127.0.0.1:9', { reconnect: { initialDelay: 1000 }, heartbeat: false });
    const inner: Array<Promise<void>> = [];
    socket.dropped$.subscribe(() => inner.push(socket.close()));
    const statuses: string[] = [];
    socket.state$.subscribe((state) => statuses.push(state.status));
    void socket.send('waiting').catch(() => undefined);
    const outer = socket.close();
    expect(inner).toHaveLength(1);
    expect(inner[0]).toBe(outer);
    await outer;
    expect(statuses.filter((status) => status === 'closed')).toEqual(['closed']);
  });
});
