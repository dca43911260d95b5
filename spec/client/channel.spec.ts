import { filter, first, type Observable, type Subscription } from 'rxjs';
import { ChannelError, ConnectionClosedError, type ChannelOptions, type ConnectOptions, type ConnectionState, type RxSocket } from '../../lib/index.js';
import { onDispose } from '../helpers/dispose.js';
import { jsonPeer, quickClient, type JsonPeer } from '../helpers/numbered-server.js';
import '../helpers/tripwires.js';
import { next, waitFor } from '../helpers/wait.js';

// socket.channel() against a real ws server (issue 7): one server-side subscription per channel
// while it has subscribers, written again on every connection before the buffer flushes; the
// unsubscribe message only while open, never after the server ended the channel.

/** The toy protocol of these specs: `sub`/`unsub` a topic, `data` and `mark` from send(). */
interface Out {
  op: 'sub' | 'unsub' | 'data' | 'mark';
  topic?: string;
  seq?: number;
}
/** From the server: data of a topic (`n`), or the end of a topic (`done` / `fail`). */
interface In {
  topic: string;
  n?: number;
  done?: boolean;
  fail?: string;
}

// The fault kit's test server, with what it receives recorded per connection (1 = first).

type Peer = JsonPeer<In, Out>;

const serve = (): Promise<Peer> => jsonPeer<In, Out>();

const client = (url: string, options: ConnectOptions<In, Out> = {}): RxSocket<In, Out> => quickClient<In, Out>(url, options);

function topic(name: string): ChannelOptions<In, Out> {
  return {
    subscribe: () => ({ op: 'sub', topic: name }),
    unsubscribe: () => ({ op: 'unsub', topic: name }),
    filter: (msg) => msg.topic === name && msg.n !== undefined,
    isComplete: (msg) => msg.topic === name && msg.done === true,
    isError: (msg) => msg.topic === name && msg.fail !== undefined,
  };
}

/** A subscriber that records what it saw; unsubscribed in afterEach. */
interface Seen<T> {
  readonly values: T[];
  completed: boolean;
  error: unknown;
  readonly subscription: Subscription;
}

function watch<T>(source$: Observable<T>): Seen<T> {
  const seen = { values: [] as T[], completed: false, error: undefined as unknown } as Seen<T> & { subscription: Subscription };
  seen.subscription = source$.subscribe({
    next: (value) => seen.values.push(value),
    complete: () => (seen.completed = true),
    error: (error: unknown) => (seen.error = error),
  });
  onDispose(() => seen.subscription.unsubscribe());
  return seen;
}

const isOpen = (state: ConnectionState): boolean => state.status === 'open';
const ops = (msgs: Out[]): string[] => msgs.map((m) => `${m.op}${m.topic ?? ''}${m.seq ?? ''}`);

/** Sends a marker through the buffer and waits for the server to see it: what came before is in. */
async function settle(socket: RxSocket<In, Out>, server: Peer, seq: number): Promise<void> {
  await socket.send({ op: 'mark', seq });
  await waitFor(() => server.log.some(({ msg }) => msg.op === 'mark' && msg.seq === seq), `mark ${seq} at the server`);
}

/** Stops the server and waits until the client knows it is down. */
async function down(socket: RxSocket<In, Out>, server: Peer): Promise<void> {
  await server.stop();
  await next(socket.state$, (state) => state.status === 'reconnecting');
}

/** Restarts the server and waits until connection `n` is open at the client. */
async function up(socket: RxSocket<In, Out>, server: Peer, n: number): Promise<void> {
  await server.restart();
  await waitFor(() => server.connections() === n && isOpen(socket.state), `connection ${n} open`);
}

describe('socket.channel()', () => {
  test('writes subscribe() when the first subscriber arrives, and emits only what its filter accepts', async () => {
    const server = await serve();
    const socket = client(server.url);
    const all = watch(socket.messages$);
    const a = watch(socket.channel(topic('a')));
    await waitFor(() => server.log.length === 1, 'the subscribe message');
    expect(server.on(1)).toEqual([{ op: 'sub', topic: 'a' }]);

    server.push({ topic: 'b', n: 1 });
    server.push({ topic: 'a', n: 1 });
    server.push({ topic: 'a' }); // the topic's, but the filter refuses it
    server.push({ topic: 'a', n: 2 });
    await waitFor(() => all.values.length === 4, 'four messages');
    expect(a.values).toEqual([{ topic: 'a', n: 1 }, { topic: 'a', n: 2 }]);
    // messages$ emits everything, including what the channel takes: channels are filtered views.
    expect(all.values).toEqual([{ topic: 'b', n: 1 }, { topic: 'a', n: 1 }, { topic: 'a' }, { topic: 'a', n: 2 }]);
  });

  test('holds the connection: subscribing opens it, the last unsubscribe lets it go idle', async () => {
    const server = await serve();
    const socket = client(server.url);
    expect(socket.state.status).toBe('idle');
    const a = watch(socket.channel(topic('a')));
    expect(socket.state.status).toBe('connecting');
    await next(socket.state$, isOpen);
    a.subscription.unsubscribe();
    await next(socket.state$, (state) => state.status === 'idle');
    await waitFor(() => server.log.length === 2, 'subscribe and unsubscribe at the server');
    expect(ops(server.on(1))).toEqual(['suba', 'unsuba']);
    expect(server.connections()).toBe(1);
  });

  test('is ref-counted: two subscribers, one subscribe message; the last to leave, one unsubscribe', async () => {
    const server = await serve();
    const socket = client(server.url);
    const holder = watch(socket.messages$);
    const channel$ = socket.channel(topic('a'));
    const first = watch(channel$);
    await next(socket.state$, isOpen);
    const second = watch(channel$);
    server.push({ topic: 'a', n: 1 });
    await waitFor(() => second.values.length === 1, 'the second subscriber to get n=1');
    expect(first.values).toEqual([{ topic: 'a', n: 1 }]);

    first.subscription.unsubscribe();
    await settle(socket, server, 1);
    expect(ops(server.on(1))).toEqual(['suba', 'mark1']); // one subscriber is still there

    second.subscription.unsubscribe();
    await settle(socket, server, 2);
    expect(ops(server.on(1))).toEqual(['suba', 'mark1', 'unsuba', 'mark2']);
    expect(holder.values).toEqual([{ topic: 'a', n: 1 }]);
    expect(server.connections()).toBe(1);
  });

  test('after a reconnect, every live channel subscribes again before the buffered messages flush', async () => {
    const server = await serve();
    const socket = client(server.url);
    watch(socket.channel(topic('a')));
    watch(socket.channel(topic('b')));
    await waitFor(() => server.log.length === 2, 'both subscribe messages');

    await down(socket, server);
    const sends = [1, 2, 3].map((seq) => socket.send({ op: 'data', seq }));
    expect(socket.buffered).toBe(3);
    await up(socket, server, 2);
    await Promise.all(sends);
    await settle(socket, server, 4);

    expect(ops(server.on(1))).toEqual(['suba', 'subb']);
    expect(ops(server.on(2))).toEqual(['suba', 'subb', 'data1', 'data2', 'data3', 'mark4']);
  });

  test('a channel resubscribes on every connection, and emits what each one brings', async () => {
    const server = await serve();
    const socket = client(server.url);
    const a = watch(socket.channel(topic('a')));
    for (let n = 1; n <= 3; n++) {
      await waitFor(() => server.on(n).length === 1 && isOpen(socket.state), `subscribe on connection ${n}`);
      server.push({ topic: 'a', n });
      await waitFor(() => a.values.length === n, `n=${n}`);
      await server.closeAll(1012); // service restart: retried
    }
    await waitFor(() => server.on(4).length === 1, 'subscribe on connection 4');
    expect([1, 2, 3, 4].map((n) => ops(server.on(n)))).toEqual([['suba'], ['suba'], ['suba'], ['suba']]);
    expect(a.values.map((msg) => msg.n)).toEqual([1, 2, 3]);
  });

  test('a channel that was unsubscribed is not subscribed again after a reconnect', async () => {
    const server = await serve();
    const socket = client(server.url);
    const a = watch(socket.channel(topic('a')));
    watch(socket.channel(topic('b'))); // holds the connection
    await waitFor(() => server.log.length === 2, 'both subscribe messages');
    a.subscription.unsubscribe();
    await settle(socket, server, 1);

    await server.closeAll(1012);
    await waitFor(() => server.connections() === 2 && isOpen(socket.state), 'connection 2 open');
    await settle(socket, server, 2);
    expect(ops(server.on(1))).toEqual(['suba', 'subb', 'unsuba', 'mark1']);
    expect(ops(server.on(2))).toEqual(['subb', 'mark2']);
  });

  test('unsubscribe() is skipped while the socket is not open, and the channel is not subscribed again', async () => {
    const server = await serve();
    const socket = client(server.url);
    watch(socket.messages$); // holds the connection
    const a = watch(socket.channel(topic('a')));
    await waitFor(() => server.log.length === 1, 'the subscribe message');

    await down(socket, server);
    a.subscription.unsubscribe(); // the server has already forgotten it
    await up(socket, server, 2);
    await settle(socket, server, 1);
    expect(ops(server.on(1))).toEqual(['suba']);
    expect(ops(server.on(2))).toEqual(['mark1']);
  });

  test('a channel subscribed while the socket is down is subscribed once, when it opens, before the buffer', async () => {
    const server = await serve();
    const socket = client(server.url);
    watch(socket.messages$);
    await next(socket.state$, isOpen);
    await down(socket, server);
    const sent = socket.send({ op: 'data', seq: 1 });
    watch(socket.channel(topic('a')));
    await up(socket, server, 2);
    await sent;
    await settle(socket, server, 2);
    expect(ops(server.on(1))).toEqual([]);
    expect(ops(server.on(2))).toEqual(['suba', 'data1', 'mark2']);
  });

  test('the server completing the channel completes it; no unsubscribe, no resubscribe after a reconnect', async () => {
    const server = await serve();
    const socket = client(server.url);
    watch(socket.messages$);
    const a = watch(socket.channel(topic('a')));
    await waitFor(() => server.log.length === 1, 'the subscribe message');
    server.push({ topic: 'a', n: 1 });
    server.push({ topic: 'a', done: true });
    server.push({ topic: 'a', n: 2 }); // after the end: not emitted
    await waitFor(() => a.completed, 'the channel to complete');
    await settle(socket, server, 1);
    expect(a.values).toEqual([{ topic: 'a', n: 1 }]); // the completing message is not emitted
    expect(a.subscription.closed).toBe(true);

    await server.closeAll(1012);
    await waitFor(() => server.connections() === 2 && isOpen(socket.state), 'connection 2 open');
    await settle(socket, server, 2);
    expect(ops(server.on(1))).toEqual(['suba', 'mark1']);
    expect(ops(server.on(2))).toEqual(['mark2']);
  });

  test('the server erroring the channel errors it with a ChannelError carrying the message; no unsubscribe', async () => {
    const server = await serve();
    const socket = client(server.url);
    watch(socket.messages$);
    const a = watch(socket.channel(topic('a')));
    await waitFor(() => server.log.length === 1, 'the subscribe message');
    server.push({ topic: 'a', fail: 'no such topic' });
    await waitFor(() => a.error !== undefined, 'the channel to error');
    expect(a.error).toBeInstanceOf(ChannelError);
    expect(a.error).toMatchObject({ name: 'ChannelError', payload: { topic: 'a', fail: 'no such topic' } });
    expect(a.values).toEqual([]);

    await server.closeAll(1012);
    await waitFor(() => server.connections() === 2 && isOpen(socket.state), 'connection 2 open');
    await settle(socket, server, 1);
    expect(ops(server.on(1))).toEqual(['suba']);
    expect(ops(server.on(2))).toEqual(['mark1']);
  });

  test('the deprecated names complete and error still end the channel', async () => {
    const server = await serve();
    const socket = client(server.url);
    watch(socket.messages$);
    const deprecated = (name: string): ChannelOptions<In, Out> => {
      const { isComplete, isError, ...rest } = topic(name);
      return { ...rest, complete: isComplete, error: isError };
    };
    const a = watch(socket.channel(deprecated('a')));
    const b = watch(socket.channel(deprecated('b')));
    await waitFor(() => server.log.length === 2, 'both subscribe messages');
    server.push({ topic: 'a', done: true });
    server.push({ topic: 'b', fail: 'gone' });
    await waitFor(() => a.completed && b.error !== undefined, 'a to complete and b to error');
    expect(b.error).toMatchObject({ name: 'ChannelError', payload: { topic: 'b', fail: 'gone' } });
    expect([a.values, b.values]).toEqual([[], []]);
  });

  test('a channel the server ended starts a new server-side subscription for its next subscriber', async () => {
    const server = await serve();
    const socket = client(server.url);
    watch(socket.messages$);
    const channel$ = socket.channel(topic('a'));
    const before = watch(channel$);
    await waitFor(() => server.log.length === 1, 'the first subscribe');
    server.push({ topic: 'a', done: true });
    await waitFor(() => before.completed, 'the channel to complete');
    const after = watch(channel$);
    await waitFor(() => server.log.length === 2, 'the second subscribe');
    server.push({ topic: 'a', n: 7 });
    await waitFor(() => after.values.length === 1, 'n=7');
    after.subscription.unsubscribe();
    await settle(socket, server, 1);
    expect(ops(server.on(1))).toEqual(['suba', 'suba', 'unsuba', 'mark1']);
  });

  test('a close that is not retried errors the channel with ConnectionClosedError, and sends nothing more', async () => {
    const server = await serve();
    const socket = client(server.url);
    const a = watch(socket.channel(topic('a')));
    await waitFor(() => server.log.length === 1, 'the subscribe message');
    await server.closeAll(1008); // policy violation: fatal
    await waitFor(() => a.error !== undefined, 'the channel to error');
    expect(a.error).toBeInstanceOf(ConnectionClosedError);
    expect(a.error).toMatchObject({ code: 1008 });
    expect(socket.state.status).toBe('closed');
    expect(server.connections()).toBe(1);
    expect(ops(server.on(1))).toEqual(['suba']);
  });

  test('two channels made from the same options each resubscribe, even after one of them left', async () => {
    const server = await serve();
    const socket = client(server.url);
    const options = topic('a');
    const one = watch(socket.channel(options));
    watch(socket.channel(options));
    await waitFor(() => server.log.length === 2, 'two subscribe messages');

    await server.closeAll(1012);
    await waitFor(() => server.connections() === 2 && isOpen(socket.state), 'connection 2 open');
    await settle(socket, server, 1);
    expect(ops(server.on(2))).toEqual(['suba', 'suba', 'mark1']);

    one.subscription.unsubscribe();
    await server.closeAll(1012);
    await waitFor(() => server.connections() === 3 && isOpen(socket.state), 'connection 3 open');
    await settle(socket, server, 2);
    expect(ops(server.on(2))).toEqual(['suba', 'suba', 'mark1', 'unsuba']);
    expect(ops(server.on(3))).toEqual(['suba', 'mark2']);
  });

  test("a channel subscribed when state$ says 'open' sends subscribe() once on that connection", async () => {
    const server = await serve();
    const socket = client(server.url);
    socket.state$.pipe(filter(isOpen), first()).subscribe(() => watch(socket.channel(topic('late'))));
    watch(socket.messages$);
    await next(socket.state$, isOpen);
    await settle(socket, server, 1);
    expect(ops(server.on(1))).toEqual(['sublate', 'mark1']);
  });
});

describe('socket.channel() with throwing callbacks', () => {
  test('a filter that throws errors that channel only; the socket and other channels go on', async () => {
    const server = await serve();
    const socket = client(server.url);
    const boom = new Error('filter broke');
    const broken = watch(socket.channel({ ...topic('a'), filter: () => { throw boom; } }));
    const healthy = watch(socket.channel(topic('b')));
    await waitFor(() => server.on(1).length === 2, 'both subscribes');
    server.push({ topic: 'b', n: 1 });
    await waitFor(() => broken.error !== undefined && healthy.values.length === 1, 'the error and the healthy message');
    expect(broken.error).toBe(boom);
    expect(healthy.values).toEqual([{ topic: 'b', n: 1 }]);
    expect(socket.state.status).toBe('open');
  });

  test('a subscribe() that throws on a reconnect goes to errors$; the socket and other channels resubscribe', async () => {
    const server = await serve();
    const socket = client(server.url);
    const errors: unknown[] = [];
    socket.errors$.subscribe((error) => errors.push(error));
    let calls = 0;
    const boom = new Error('subscribe broke');
    watch(socket.channel({ ...topic('a'), subscribe: () => { if (++calls > 1) throw boom; return { op: 'sub', topic: 'a' }; } }));
    watch(socket.channel(topic('b')));
    await waitFor(() => server.on(1).length === 2, 'both subscribes on connection 1');
    await server.closeAll(1012);
    await waitFor(() => server.connections() === 2 && server.on(2).length === 1, 'b resubscribed on connection 2');
    expect(ops(server.on(2))).toEqual(['subb']);
    expect(errors).toContain(boom);
    expect(socket.state.status).toBe('open');
  });
});
