import { filter, first, firstValueFrom, Observable, type Subscription } from 'rxjs';
import { WebSocket } from 'ws';
import {
  ConnectionClosedError,
  ConnectTimeoutError,
  type ConnectOptions,
  type ConnectionState,
  type HandshakeConnection,
  type RxSocket,
  type WebSocketConstructor,
} from '../../lib/index.js';
import { onDispose } from '../helpers/dispose.js';
import { numberedServer, quickClient } from '../helpers/numbered-server.js';
import { tripped } from '../helpers/tripwires.js';
import { next, waitFor } from '../helpers/wait.js';

// The per-connection handshake (issue 7): it runs after every open, before state$ says 'open',
// channels resubscribe and the buffer flushes; its conn.send bypasses the buffer; what arrives
// during it reaches only conn.messages$; if it fails or outlasts connectTimeout, the attempt
// counts as failed and is retried.

interface Out {
  op: 'init' | 'extra' | 'sub' | 'unsub' | 'data' | 'mark';
  topic?: string;
  seq?: number;
}
interface In {
  op: 'ack' | 'nack' | 'hello' | 'news';
  conn?: number;
}

// ---------------------------------------------------------------------------------------------
// The fault kit's test server. On `init` it does what `onInit(conn)` says: answer `ack` (after
// `ackDelay` ms, optionally preceded by `hello`), answer `nack`, or say nothing. It logs what it
// receives, and what it sends, per connection (1 = first).

type InitReply = 'ack' | 'hello+ack' | 'nack' | 'ignore';

interface Peer {
  readonly url: string;
  /** Received (`>`) and sent (`<`) messages as `conn:dir:op`, in the server's order. */
  readonly log: string[];
  connections(): number;
  /** What connection `n` received, as ops (`sub` with its topic, `data` with its seq). */
  on(n: number): string[];
  push(msg: In): void;
  stop(): Promise<void>;
  restart(): Promise<void>;
  closeAll(code: number): Promise<void>;
}

async function serve({ onInit = (): InitReply => 'ack', ackDelay = 0 }: { onInit?: (conn: number) => InitReply; ackDelay?: number } = {}): Promise<Peer> {
  const server = await numberedServer();
  const { kit, number } = server;
  const log: string[] = [];
  const received: Array<{ conn: number; op: string }> = [];
  const timers = new Set<NodeJS.Timeout>();
  onDispose(() => timers.forEach(clearTimeout));
  const send = (ws: WebSocket, msg: In): void => {
    if (ws.readyState !== ws.OPEN) return;
    log.push(`${number(ws)}<${msg.op}`);
    ws.send(JSON.stringify(msg));
  };
  kit.received$.subscribe(({ client, data }) => {
    const msg = JSON.parse(String(data)) as Out;
    const conn = number(client);
    const op = `${msg.op}${msg.topic ?? ''}${msg.seq ?? ''}`;
    log.push(`${conn}>${op}`);
    received.push({ conn, op });
    if (msg.op !== 'init') return;
    const reply = onInit(conn);
    if (reply === 'ignore') return;
    if (reply === 'nack') return send(client, { op: 'nack', conn });
    if (reply === 'hello+ack') send(client, { op: 'hello', conn });
    if (ackDelay === 0) return send(client, { op: 'ack', conn });
    const timer = setTimeout(() => (timers.delete(timer), send(client, { op: 'ack', conn })), ackDelay);
    timers.add(timer);
  });
  return {
    url: server.url,
    log,
    connections: server.connections,
    on: (n) => received.filter((entry) => entry.conn === n).map((entry) => entry.op),
    push: (msg) => kit.clients.forEach((ws) => send(ws, msg)),
    stop: server.stop,
    restart: server.restart,
    closeAll: server.closeAll,
  };
}

/** Waits for the server's answer to `init`: resolves at `ack`, rejects at `nack`. */
async function awaitAck(conn: HandshakeConnection<In, Out>): Promise<void> {
  const reply = await firstValueFrom(conn.messages$.pipe(filter((msg) => msg.op === 'ack' || msg.op === 'nack')));
  if (reply.op === 'nack') throw new Error('nack');
}

/** The handshake of these specs: `init`, then the server's `ack`. */
function initAck(conn: HandshakeConnection<In, Out>): Promise<void> {
  conn.send({ op: 'init' });
  return awaitAck(conn);
}

const client = (url: string, options: ConnectOptions<In, Out> = {}): RxSocket<In, Out> => quickClient<In, Out>(url, { handshake: initAck, ...options });

function hold<T>(source$: Observable<T>): { values: T[]; subscription: Subscription } {
  const values: T[] = [];
  const subscription = source$.subscribe({ next: (value) => values.push(value), error: () => undefined });
  onDispose(() => subscription.unsubscribe());
  return { values, subscription };
}

function topic(name: string): Parameters<RxSocket<In, Out>['channel']>[0] {
  return {
    subscribe: () => ({ op: 'sub', topic: name }),
    unsubscribe: () => ({ op: 'unsub', topic: name }),
    filter: () => false,
  };
}

const isOpen = (state: ConnectionState): boolean => state.status === 'open';
const brief = (state: ConnectionState): string => `${state.status}:${state.attempt}`;

function record(socket: RxSocket<In, Out>): { states: string[]; errors: Error[] } {
  const states: string[] = [];
  const errors: Error[] = [];
  const subscriptions = [socket.state$.subscribe((state) => states.push(brief(state))), socket.errors$.subscribe((error) => errors.push(error))];
  onDispose(() => subscriptions.forEach((s) => s.unsubscribe()));
  return { states, errors };
}

/** Sends a marker through the buffer and waits for the server to see it. */
async function settle(socket: RxSocket<In, Out>, server: Peer, seq: number): Promise<void> {
  await socket.send({ op: 'mark', seq });
  await waitFor(() => server.log.some((line) => line.endsWith(`>mark${seq}`)), `mark ${seq} at the server`);
}

describe('connect(url, { handshake })', () => {
  test("runs before channels subscribe and the buffer flushes; state$ says 'open' only after it", async () => {
    const server = await serve({ ackDelay: 100 });
    const socket = client(server.url);
    const { states } = record(socket);
    const sent = [1, 2].map((seq) => socket.send({ op: 'data', seq })); // waits in the buffer
    hold(socket.channel(topic('a')));
    await waitFor(() => server.log.includes('1>init'), 'init at the server');
    expect(socket.state.status).toBe('connecting'); // open socket, handshake in progress
    expect(socket.buffered).toBe(2);
    await Promise.all(sent);
    expect(socket.state.status).toBe('open');
    await settle(socket, server, 3);
    // The server's own order: nothing but init before its ack left the server.
    expect(server.log).toEqual(['1>init', '1<ack', '1>suba', '1>data1', '1>data2', '1>mark3']);
    expect(states).toEqual(['idle:0', 'connecting:1', 'open:1']);
  });

  test('runs again on every connection, before the resubscribes and the buffered messages', async () => {
    const server = await serve({ ackDelay: 50 });
    let handshakes = 0;
    const socket = client(server.url, { handshake: (conn) => (handshakes++, initAck(conn)) });
    hold(socket.channel(topic('a')));
    hold(socket.channel(topic('b')));
    await waitFor(() => server.on(1).length === 3, 'init and both subscribes on connection 1');
    await server.stop();
    await next(socket.state$, (state) => state.status === 'reconnecting');
    const sent = [1, 2, 3].map((seq) => socket.send({ op: 'data', seq }));
    await server.restart();
    await Promise.all(sent);
    await settle(socket, server, 4);
    expect(server.on(1)).toEqual(['init', 'suba', 'subb']);
    expect(server.on(2)).toEqual(['init', 'suba', 'subb', 'data1', 'data2', 'data3', 'mark4']);
    expect(server.log.filter((line) => line.startsWith('2'))).toEqual([
      '2>init', '2<ack', '2>suba', '2>subb', '2>data1', '2>data2', '2>data3', '2>mark4',
    ]);
    expect(handshakes).toBe(2);
  });

  test('messages that arrive during the handshake reach only conn.messages$, later ones only messages$', async () => {
    const server = await serve({ onInit: () => 'hello+ack' });
    const during: In[] = [];
    let ended = false;
    const socket = client(server.url, {
      handshake: (conn) => {
        conn.messages$.subscribe({ next: (msg) => during.push(msg), complete: () => (ended = true) });
        return initAck(conn);
      },
    });
    const after = hold(socket.messages$);
    await next(socket.state$, isOpen);
    expect(ended).toBe(true); // conn.messages$ completes when the handshake ends
    server.push({ op: 'news' });
    await waitFor(() => after.values.length === 1, 'news on messages$');
    expect(during).toEqual([{ op: 'hello', conn: 1 }, { op: 'ack', conn: 1 }]);
    expect(after.values).toEqual([{ op: 'news' }]);
  });

  test('conn.messages$ replays what arrived before the handshake subscribed to it', async () => {
    const server = await serve({ onInit: () => 'hello+ack' });
    // Counts the frames the client's own ws emitted: once it has seen hello and ack, the client
    // has handled both too (its 'message' listener runs in the same emit), so subscribing to
    // conn.messages$ after that can only get them by replay.
    let arrived = 0;
    class Counting extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        this.on('message', () => arrived++);
      }
    }
    const socket = client(server.url, {
      WebSocket: Counting as unknown as WebSocketConstructor,
      handshake: async (conn) => {
        conn.send({ op: 'init' });
        await waitFor(() => arrived === 2, 'hello and ack to arrive at the client');
        const seen: In[] = [];
        await firstValueFrom(conn.messages$.pipe(filter((msg) => (seen.push(msg), msg.op === 'ack'))));
        expect(seen).toEqual([{ op: 'hello', conn: 1 }, { op: 'ack', conn: 1 }]);
      },
    });
    const all = hold(socket.messages$);
    await next(socket.state$, isOpen);
    expect(all.values).toEqual([]);
  });

  test('conn.send writes at once, bypassing the buffer and its limits', async () => {
    const server = await serve({ ackDelay: 50 });
    const socket = client(server.url, {
      buffer: { size: 1 },
      handshake: (conn) => {
        conn.send({ op: 'init' });
        conn.send({ op: 'extra', seq: 1 });
        conn.send({ op: 'extra', seq: 2 });
        expect(socket.buffered).toBe(1); // still just the one queued by send()
        return awaitAck(conn);
      },
    });
    const queued = socket.send({ op: 'data', seq: 1 });
    await queued;
    await settle(socket, server, 2);
    expect(server.on(1)).toEqual(['init', 'extra1', 'extra2', 'data1', 'mark2']);
  });

  test('a failed handshake fails the attempt: errors$ gets an entry, the attempt is retried, nothing else is written', async () => {
    const server = await serve({ onInit: (conn) => (conn === 1 ? 'nack' : 'ack') });
    const socket = client(server.url);
    const { states, errors } = record(socket);
    hold(socket.channel(topic('a')));
    const sent = socket.send({ op: 'data', seq: 1 });
    await sent;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConnectionClosedError);
    expect(errors[0]).toMatchObject({ code: 1006, reason: 'handshake failed: nack', wasClean: false });
    expect((errors[0] as Error).cause).toEqual(new Error('nack'));
    expect(states).toEqual(['idle:0', 'connecting:1', 'reconnecting:2', 'open:2']);
    await settle(socket, server, 2);
    expect(server.on(1)).toEqual(['init']);
    expect(server.on(2)).toEqual(['init', 'suba', 'data1', 'mark2']);
  });

  test('a handshake that throws or rejects is retried the same way', async () => {
    const server = await serve();
    let calls = 0;
    const socket = client(server.url, {
      handshake: (conn) => {
        calls++;
        if (calls === 1) throw new Error('sync failure');
        if (calls === 2) return Promise.reject(new Error('async failure'));
        return initAck(conn);
      },
    });
    const { errors } = record(socket);
    hold(socket.messages$);
    await next(socket.state$, isOpen);
    expect(errors.map((e) => (e as ConnectionClosedError).reason)).toEqual(['handshake failed: sync failure', 'handshake failed: async failure']);
    expect(server.connections()).toBe(3);
  });

  test('a handshake that outlasts connectTimeout fails the attempt with ConnectTimeoutError and is retried', async () => {
    const server = await serve({ onInit: (conn) => (conn === 1 ? 'ignore' : 'ack') });
    const socket = client(server.url, { connectTimeout: 300 });
    const { states, errors } = record(socket);
    hold(socket.channel(topic('a')));
    const started = Date.now();
    await waitFor(() => isOpen(socket.state), 'open after the retry');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConnectTimeoutError);
    expect(errors[0]).toMatchObject({ timeout: 300 });
    expect(states).toEqual(['idle:0', 'connecting:1', 'reconnecting:2', 'open:2']);
    await settle(socket, server, 1);
    expect(server.on(1)).toEqual(['init']);
    expect(server.on(2)).toEqual(['init', 'suba', 'mark1']);
  });

  test('an Observable handshake finishes at its first value or completion; an error fails it', async () => {
    const server = await serve();
    let calls = 0;
    const socket = client(server.url, {
      handshake: (conn) => {
        calls++;
        conn.send({ op: 'extra', seq: calls });
        if (calls === 1) return new Observable<never>((subscriber) => subscriber.error(new Error('refused')));
        return new Observable<never>((subscriber) => subscriber.complete());
      },
    });
    const { errors } = record(socket);
    hold(socket.messages$);
    await next(socket.state$, isOpen);
    expect(errors.map((e) => (e as ConnectionClosedError).reason)).toEqual(['handshake failed: refused']);
    await settle(socket, server, 1);
    expect(server.on(2)).toEqual(['extra2', 'mark1']);
  });

  test('an Observable handshake that completes right after its value (first(), of()) trips no RxJS stopped notification', async () => {
    const server = await serve();
    const socket = client(server.url, {
      handshake: (conn) => {
        conn.send({ op: 'init' });
        return conn.messages$.pipe(first((msg) => msg.op === 'ack'));
      },
    });
    hold(socket.messages$);
    await next(socket.state$, isOpen);
    await server.closeAll(1012);
    await waitFor(() => server.connections() === 2 && isOpen(socket.state), 'connection 2 open');
    // RxJS reports stopped notifications in a setTimeout(0); timers of equal delay run in order.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(tripped).toEqual([]);
  });

  test('conn.messages$ completes when the connection is lost during the handshake, and the attempt is retried', async () => {
    const server = await serve({ onInit: (conn) => (conn === 1 ? 'ignore' : 'ack') });
    let completed = 0;
    const socket = client(server.url, {
      handshake: (conn) => {
        conn.messages$.subscribe({ complete: () => completed++ });
        return initAck(conn);
      },
    });
    const { errors } = record(socket);
    hold(socket.messages$);
    await waitFor(() => server.log.includes('1>init'), 'init on connection 1');
    await server.closeAll(4000);
    await next(socket.state$, isOpen);
    expect(completed).toBe(2); // the lost one, and the one that finished
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 4000 });
  });

  test('a channel left during the handshake is neither subscribed nor unsubscribed on that connection', async () => {
    const server = await serve({ ackDelay: 100 });
    const socket = client(server.url);
    hold(socket.messages$);
    const a = hold(socket.channel(topic('a')));
    await waitFor(() => server.log.includes('1>init'), 'init at the server');
    a.subscription.unsubscribe();
    await next(socket.state$, isOpen);
    await settle(socket, server, 1);
    expect(server.on(1)).toEqual(['init', 'mark1']);
  });

  test('a request made during the handshake is written after it, and answered', async () => {
    const server = await serve({ ackDelay: 50 });
    const socket = client(server.url);
    const answer = socket.request({ op: 'data', seq: 9 }, { match: (msg) => msg.op === 'news' });
    await waitFor(() => server.log.includes('1>init'), 'init at the server');
    expect(socket.buffered).toBe(1);
    await waitFor(() => server.log.includes('1>data9'), 'the request at the server');
    server.push({ op: 'news' });
    await expect(answer).resolves.toEqual({ op: 'news' });
    expect(server.log).toEqual(['1>init', '1<ack', '1>data9', '1<news']);
  });
});
