import '../helpers/tripwires';
import { filter, first, firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import type { HandshakeConnection, WebSocketConstructor } from '../../lib/index.js';
import { client, collect, record, trackedWebSocket } from '../helpers/observe';
import { startWsPeer } from '../helpers/peers';
import { waitFor } from '../helpers/wait';

// Where features meet: each test combines two features under unusual timing, against real
// sockets on 127.0.0.1, and pins the behaviour the docs promise.

/** Blocks the event loop for `ms` of wall time, as a long synchronous task in an app does. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe('heartbeat × a busy event loop', () => {
  test('a loop blocked past the pong deadline right after a ping: no false timeout, no message lost', async () => {
    const server = await startWsPeer({
      // Every ping is answered by ws's auto-pong and preceded by two data messages.
      onConnection: (conn) => {
        let n = 0;
        conn.ws.on('ping', () => {
          conn.ws.send(`data-${++n}`);
          conn.ws.send(`data-${++n}`);
        });
      },
    });
    let pings = 0;
    class Stalling extends WebSocket {
      override ping(...args: Parameters<WebSocket['ping']>): void {
        super.ping(...args);
        // After the timers phase that sent the ping: block for 3 × the timeout before any read.
        if (++pings <= 3) setImmediate(() => busy(150));
      }
    }
    const socket = client<string>(server.url, {
      WebSocket: Stalling as unknown as WebSocketConstructor,
      deserialize: (data) => String(data),
      heartbeat: { interval: 40, timeout: 50 },
      reconnect: { initialDelay: 10 },
    });
    const rec = record(socket);
    const messages = collect(socket);
    await waitFor(() => messages.values.length >= 8, 'eight messages (four pings answered)', 5000);
    expect(rec.errors).toEqual([]);
    expect(server.connections).toHaveLength(1);
    expect(messages.values.slice(0, 8)).toEqual(['data-1', 'data-2', 'data-3', 'data-4', 'data-5', 'data-6', 'data-7', 'data-8']);
    expect(socket.state.status).toBe('open');
  });
});

/** Sends `messages` from the server in one TCP write, so the client reads them in one read. */
function sendInOneRead(conn: { ws: WebSocket; request: { socket: { cork(): void; uncork(): void } } }, ...messages: string[]): void {
  conn.request.socket.cork();
  for (const message of messages) conn.ws.send(message);
  conn.request.socket.uncork();
}

describe('handshake × framing', () => {
  type Msg = { type: string; n?: number };
  const handshakes = {
    'an Observable (first())': (conn: HandshakeConnection<Msg, Msg>) => {
      conn.send({ type: 'init' });
      return conn.messages$.pipe(first((m) => m.type === 'ack'));
    },
    'a Promise (async function)': async (conn: HandshakeConnection<Msg, Msg>) => {
      conn.send({ type: 'init' });
      await firstValueFrom(conn.messages$.pipe(filter((m) => m.type === 'ack')));
      await Promise.resolve(); // a few microtasks more than the Observable form
    },
  };

  test.each(Object.keys(handshakes) as Array<keyof typeof handshakes>)(
    'with %s: messages in the same TCP read as the answer reach messages$, in order, after open',
    async (form) => {
      const server = await startWsPeer({
        onConnection: (conn) =>
          conn.ws.on('message', (data) => {
            if (JSON.parse(String(data)).type !== 'init') return;
            sendInOneRead(conn, '{"type":"ack"}', '{"type":"welcome","n":1}', '{"type":"welcome","n":2}');
          }),
      });
      const socket = client<Msg, Msg>(server.url, { handshake: handshakes[form] });
      const rec = record(socket);
      const seen: string[] = [];
      socket.messages$.subscribe((m) => seen.push(`${socket.state.status}:${m.type}${m.n ?? ''}`));
      await waitFor(() => seen.length >= 2, 'the two welcome messages', 3000);
      expect(seen).toEqual(['open:welcome1', 'open:welcome2']);
      expect(rec.errors).toEqual([]);
    },
  );
});

describe('writer × a socket whose send throws', () => {
  type Msg = { buffer: ArrayBuffer };
  const detach = (buffer: ArrayBuffer): void => void structuredClone(buffer, { transfer: [buffer] });

  test('a buffered message the socket refuses is dropped with reason error; the writer goes on, later sends are written', async () => {
    const server = await startWsPeer();
    const received: number[] = [];
    const socket = client<unknown, Msg>(server.url, { serialize: (m) => m.buffer });
    const dropped: Array<{ reason: string; cause: unknown }> = [];
    socket.dropped$.subscribe(({ reason, cause }) => dropped.push({ reason, cause }));
    const bad = new ArrayBuffer(8);
    const first = socket.send({ buffer: new Uint8Array([1]).buffer }); // opens; waits for the open
    const refused = socket.send({ buffer: bad });
    const third = socket.send({ buffer: new Uint8Array([3]).buffer });
    detach(bad); // transferred while its message waits
    const conn = await server.connection(1);
    conn.ws.on('message', (data: Buffer) => received.push(data[0] as number));
    await first;
    await expect(refused).rejects.toMatchObject({ name: 'MessageDroppedError', reason: 'error', cause: { name: 'TypeError' } });
    await third;
    await socket.send({ buffer: new Uint8Array([4]).buffer });
    await waitFor(() => received.length >= 3 || conn.messages.length >= 3, 'three messages at the server');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ reason: 'error', cause: { name: 'TypeError' } });
    await socket.close();
  });

  test('on the direct path, send() rejects (never throws); outgoing.next() reports on dropped$', async () => {
    const server = await startWsPeer();
    const socket = client<unknown, Msg>(server.url, { serialize: (m) => m.buffer });
    const dropped: string[] = [];
    socket.dropped$.subscribe(({ reason }) => dropped.push(reason));
    collect(socket);
    await waitFor(() => socket.state.status === 'open', 'open');
    const bad = new ArrayBuffer(8);
    detach(bad);
    let result: Promise<void> | undefined;
    expect(() => (result = socket.send({ buffer: bad }))).not.toThrow();
    await expect(result).rejects.toMatchObject({ reason: 'error' });
    expect(() => socket.outgoing.next({ buffer: bad })).not.toThrow();
    expect(dropped).toEqual(['error', 'error']);
    await socket.send({ buffer: new Uint8Array([9]).buffer });
    await socket.close();
  });
});

describe('application heartbeat × a throwing isPong', () => {
  test('isPong that throws on a valid message (JSON null): the error goes to errors$, the message to messages$, the connection goes on', async () => {
    const server = await startWsPeer({ onConnection: (conn) => sendInOneRead(conn, 'null', '{"type":"data"}') });
    const socket = client<{ type: string } | null, { type: string }>(server.url, {
      heartbeat: { interval: 1000, timeout: 1000, message: () => ({ type: 'ping' }), isPong: (m) => (m as { type: string }).type === 'pong' },
    });
    const rec = record(socket);
    const messages = collect(socket);
    await waitFor(() => messages.values.length >= 2, 'both messages');
    expect(messages.values).toEqual([null, { type: 'data' }]);
    expect(rec.errors).toHaveLength(1);
    expect(rec.errors[0]).toBeInstanceOf(TypeError);
    const started = Date.now();
    await socket.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('state$ observers × the start of a session', () => {
  test.each(['send', 'request', 'channel', 'messages$'])(
    'an observer that calls %s() at connecting holds the same session: one socket, one open, no duplicates',
    async (what) => {
      const server = await startWsPeer({ onConnection: (conn) => conn.ws.send('{"id":1,"n":1}') });
      const tracked = trackedWebSocket();
      const socket = client<{ id: number; n: number }, { id: number }>(server.url, { reconnect: { initialDelay: 10 }, WebSocket: tracked.WebSocket });
      const rec = record(socket);
      let done = false;
      const subscription = socket.state$.subscribe((state) => {
        if (state.status !== 'connecting' || done) return;
        done = true;
        if (what === 'send') void socket.send({ id: 0 });
        if (what === 'request') void socket.request({ id: 1 }, { match: (m) => m.id === 1 }).catch(() => undefined);
        if (what === 'channel') socket.channel({ subscribe: () => ({ id: 2 }), filter: () => true }).subscribe();
        if (what === 'messages$') socket.messages$.subscribe();
      });
      const messages = collect(socket);
      await waitFor(() => messages.values.length >= 1, 'the server message');
      await waitFor(() => socket.state.status === 'open', 'open');
      // Every socket is created within a microtask of its session's start, long before an open.
      expect(tracked.instances).toHaveLength(1);
      expect(messages.values).toEqual([{ id: 1, n: 1 }]);
      expect(rec.trail().filter((s) => s.startsWith('open'))).toEqual(['open:1']);
      subscription.unsubscribe();
      await socket.close();
      expect(server.openCount()).toBe(0);
    },
  );
});

describe('close() × the handshake and observers', () => {
  test('close(code, reason) while the handshake runs sends that code and reason to the server', async () => {
    const server = await startWsPeer();
    let handshaking!: () => void;
    const started = new Promise<void>((resolve) => (handshaking = resolve));
    const socket = client(server.url, {
      handshake: () => {
        handshaking();
        return new Promise(() => undefined); // the server never answers
      },
    });
    collect(socket);
    await started;
    await socket.close(4001, 'user logged out');
    const conn = await server.connection(1);
    expect(await conn.closed).toEqual({ code: 4001, reason: 'user logged out' });
  });

  test("close() from an errors$ observer: no 'reconnecting' follows, one 'closed'", async () => {
    const server = await startWsPeer({ onConnection: (conn) => conn.ws.close(1012, 'restart') });
    const socket = client(server.url, { reconnect: { initialDelay: 10 } });
    const rec = record(socket);
    socket.errors$.subscribe(() => void socket.close());
    collect(socket);
    await waitFor(() => rec.statesDone, 'state$ to complete');
    expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1', 'closing:1', 'closed:1(1000)']);
    expect(server.connections).toHaveLength(1);
  });

  test("state is 'closing' from close() on (send() rejects then), and the final 'closed' carries the client's own close", async () => {
    // A server that never answers the close frame: the closing handshake lasts closeTimeout.
    const server = await startWsPeer();
    const socket = client(server.url, { closeTimeout: 300 });
    collect(socket);
    const conn = await server.connection(1);
    await waitFor(() => socket.state.status === 'open', 'open');
    conn.request.socket.pause(); // the close frame is never read, so never answered
    const closed = socket.close(4002, 'done');
    expect(socket.state.status).toBe('closing');
    await expect(socket.send('late')).rejects.toMatchObject({ reason: 'closed' });
    await closed;
    expect(socket.state).toMatchObject({ status: 'closed', lastClose: { code: 1006, wasClean: false } }); // terminated at closeTimeout
  });

  test("the final 'closed' after a clean close() carries its code and reason", async () => {
    const server = await startWsPeer();
    const socket = client(server.url);
    collect(socket);
    await waitFor(() => socket.state.status === 'open', 'open');
    await socket.close(4003, 'bye');
    expect(socket.state).toEqual({ status: 'closed', attempt: 1, lastClose: { code: 4003, reason: 'bye', wasClean: true } });
  });
});
