import { VirtualTimeScheduler } from 'rxjs';
import { connect, RetriesExhaustedError, type ConnectionState } from '../../lib/index.js';
import type { WebSocketLike } from '../../lib/core/transport.js';
import '../helpers/tripwires';

/**
 * The client's state machine in virtual time. Real sockets cannot run on a virtual clock, so the
 * `WebSocket` option gets a scripted socket with the standard event API: the test decides when
 * each attempt opens, fails or is closed by the server, and advances time by hand. Everything
 * with real sockets is in the client-*.spec.ts files.
 */
class ScriptedSocket implements WebSocketLike {
  static created: ScriptedSocket[] = [];
  readyState = 0;
  bufferedAmount = 0;
  binaryType = 'blob';
  readonly sent: unknown[] = [];
  private readonly listeners = new Map<string, Array<(event: unknown) => void>>();

  constructor(readonly url: string) {
    ScriptedSocket.created.push(this);
  }

  addEventListener(type: string, listener: (event: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: unknown): void {
    this.sent.push(data);
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    queueMicrotask(() => this.closed(code, reason));
  }

  open(): void {
    this.readyState = 1;
    this.emit('open', {});
  }

  fail(): void {
    this.emit('error', { error: new Error('connect ECONNREFUSED') });
    this.closed(1006, '');
  }

  closed(code: number, reason: string): void {
    this.readyState = 3;
    this.emit('close', { code, reason });
  }

  private emit(type: string, event: unknown): void {
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }
}

/**
 * Lets URL resolution settle: the client awaits the URL (a function or promise) in a chain of
 * microtasks, and a setImmediate callback runs only once the microtask queue is empty.
 */
const microtasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  ScriptedSocket.created = [];
});

test('every transition, at its virtual time: connect, fail, backoff, open, reset, drop, connect timeout, exhaustion', async () => {
  const scheduler = new VirtualTimeScheduler();
  const advanceTo = async (t: number): Promise<void> => {
    scheduler.maxFrames = t;
    scheduler.flush();
    await microtasks();
  };
  const socket = connect('ws://test.invalid', {
    WebSocket: ScriptedSocket,
    scheduler,
    heartbeat: false,
    connectTimeout: 1000,
    reconnect: { initialDelay: 100, factor: 2, jitter: false, maxAttempts: 4, resetAfter: 5000 },
  });
  const trail: string[] = [];
  socket.state$.subscribe((state: ConnectionState) => trail.push(`${scheduler.now()}:${state.status}:${state.attempt}`));
  const errors: string[] = [];
  socket.errors$.subscribe((error) => errors.push(`${scheduler.now()}:${error.name}`));
  let ended: unknown;
  socket.messages$.subscribe({ error: (error: unknown) => (ended = error) });
  await microtasks();
  expect(ScriptedSocket.created).toHaveLength(1);

  ScriptedSocket.created[0]?.fail(); // attempt 1 fails at 0 → retry 1 after 100
  await advanceTo(99);
  expect(ScriptedSocket.created).toHaveLength(1);
  await advanceTo(100);
  expect(ScriptedSocket.created).toHaveLength(2);
  ScriptedSocket.created[1]?.open(); // attempt 2 opens at 100
  await advanceTo(5100); // open for resetAfter: the count resets
  ScriptedSocket.created[1]?.closed(1012, 'restart'); // dropped at 5100 → attempt 2 after backoffDelay(1)
  await advanceTo(5200);
  expect(ScriptedSocket.created).toHaveLength(3); // attempt 2 of the new series never opens
  await advanceTo(6199);
  expect(errors).toEqual(['0:ConnectionClosedError', '5100:ConnectionClosedError']);
  await advanceTo(6200); // connectTimeout → attempt 3 after backoffDelay(2) = 200
  await advanceTo(6400);
  expect(ScriptedSocket.created).toHaveLength(4);
  ScriptedSocket.created[3]?.fail(); // attempt 3 fails → attempt 4 after 400
  await advanceTo(6800);
  ScriptedSocket.created[4]?.fail(); // attempt 4 fails: maxAttempts reached
  await microtasks();

  expect(trail).toEqual([
    '0:idle:0',
    '0:connecting:1',
    '0:reconnecting:2',
    '100:open:2',
    '5100:open:0',
    '5100:reconnecting:2',
    '6200:reconnecting:3',
    '6400:reconnecting:4',
    '6800:closed:4',
  ]);
  expect(errors).toEqual(['0:ConnectionClosedError', '5100:ConnectionClosedError', '6200:ConnectTimeoutError', '6400:ConnectionClosedError']);
  expect(ended).toBeInstanceOf(RetriesExhaustedError);
  expect((ended as RetriesExhaustedError).attempts).toBe(4);
  expect(ScriptedSocket.created.map((s) => s.readyState)).toEqual([3, 3, 3, 3, 3]);
});

test('lazy: idle until held, idle again after lazyCloseTimeout, then reconnects on the next use', async () => {
  const scheduler = new VirtualTimeScheduler();
  const advanceTo = async (t: number): Promise<void> => {
    scheduler.maxFrames = t;
    scheduler.flush();
    await microtasks();
  };
  const socket = connect('ws://test.invalid', { WebSocket: ScriptedSocket, scheduler, heartbeat: false, lazyCloseTimeout: 300 });
  const trail: string[] = [];
  socket.state$.subscribe((state) => trail.push(`${scheduler.now()}:${state.status}:${state.attempt}`));
  await microtasks();
  expect(ScriptedSocket.created).toHaveLength(0); // state$ subscribers do not hold it
  const first = socket.messages$.subscribe();
  await microtasks();
  ScriptedSocket.created[0]?.open();
  first.unsubscribe();
  await advanceTo(299);
  expect(ScriptedSocket.created[0]?.readyState).toBe(1);
  await advanceTo(300);
  expect(ScriptedSocket.created[0]?.readyState).toBe(3);
  const second = socket.messages$.subscribe();
  await microtasks();
  expect(ScriptedSocket.created).toHaveLength(2);
  second.unsubscribe();
  await socket.close().catch(() => undefined);
  expect(trail).toEqual(['0:idle:0', '0:connecting:1', '0:open:1', '300:idle:0', '300:connecting:1', '300:closing:1', '300:closed:1']);
});
