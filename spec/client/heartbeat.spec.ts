import '../helpers/tripwires';
import { ConnectionClosedError, HeartbeatTimeoutError } from '../../lib/index.js';
import { client, collect, record, spyScheduler, trackedWebSocket } from '../helpers/observe';
import { onDispose } from '../helpers/dispose';
import { startWsPeer } from '../helpers/peers';
import { createFaultProxy, type FaultProxy } from '../../lib/testing/index.js';
import { waitFor, sleep } from '../helpers/wait';

// Heartbeat against real sockets: a zombie (a TCP link that stays up but carries nothing) is found
// by a missed pong; a live server is not; other traffic is no proof of life.

const heartbeat = { interval: 50, timeout: 50 };
const margin = 400;

async function proxyTo(url: string): Promise<FaultProxy> {
  const proxy = await createFaultProxy({ target: url });
  onDispose(() => proxy.close());
  return proxy;
}

test('a zombie behind a blackholed proxy is detected within interval + timeout: HeartbeatTimeoutError, 1006, reconnect', async () => {
  const server = await startWsPeer();
  const proxy = await proxyTo(server.url);
  const tracked = trackedWebSocket();
  const socket = client(proxy.url, { heartbeat, reconnect: { initialDelay: 10, jitter: false }, WebSocket: tracked.WebSocket });
  const rec = record(socket);
  const messages = collect(socket);
  await waitFor(() => socket.state.status === 'open', 'open');
  const first = await server.connection(1);
  await waitFor(() => first.pings >= 2, 'two pings answered'); // alive while the link passes

  const silenced = Date.now();
  proxy.set('both', { kind: 'blackhole' });
  let serverSawClose: unknown = 'not yet detected';
  socket.errors$.subscribe(() => {
    serverSawClose = first.close;
    proxy.set('both', { kind: 'pass' }); // before the retry, 10 ms later: the next link works
  });
  await waitFor(() => rec.errors.length > 0, 'an error on errors$', 3000);
  const detectedAfter = Date.now() - silenced;
  expect(serverSawClose).toBeUndefined(); // the server never learned: it was a zombie

  expect(detectedAfter).toBeLessThanOrEqual(heartbeat.interval + heartbeat.timeout + margin);
  expect(rec.errors).toHaveLength(1);
  const [error] = rec.errors;
  expect(error).toBeInstanceOf(HeartbeatTimeoutError);
  expect(error).toBeInstanceOf(ConnectionClosedError);
  expect(error).toMatchObject({ code: 1006, reason: 'heartbeat timeout', wasClean: false, timeout: 50 });
  // terminate(), not a close handshake that would wait for the zombie (ws would wait 30 s)
  await waitFor(() => tracked.instances[0]?.readyState === 3, 'the zombie ws to be CLOSED', 200);

  await waitFor(() => socket.state.status === 'open' && socket.state.attempt === 2, 'open again through a new link');
  expect(rec.states).toEqual([
    { status: 'idle', attempt: 0 },
    { status: 'connecting', attempt: 1 },
    { status: 'open', attempt: 1 },
    { status: 'reconnecting', attempt: 2, lastClose: { code: 1006, reason: 'heartbeat timeout', wasClean: false } },
    { status: 'open', attempt: 2, lastClose: { code: 1006, reason: 'heartbeat timeout', wasClean: false } },
  ]);
  expect(proxy.links()).toHaveLength(2);
  expect(server.connections).toHaveLength(2);
  expect(messages.errored).toBe(false);
});

test('with reconnect: false a heartbeat timeout ends messages$ with HeartbeatTimeoutError', async () => {
  const server = await startWsPeer();
  const proxy = await proxyTo(server.url);
  const socket = client(proxy.url, { heartbeat, reconnect: false });
  const rec = record(socket);
  const messages = collect(socket);
  await waitFor(() => socket.state.status === 'open', 'open');
  proxy.set('both', { kind: 'blackhole' });
  await messages.ended(3000);
  expect(messages.error).toBeInstanceOf(HeartbeatTimeoutError);
  expect(rec.errors).toEqual([]);
  expect(socket.state).toEqual({ status: 'closed', attempt: 1, lastClose: { code: 1006, reason: 'heartbeat timeout', wasClean: false } });
});

test('heartbeat: false: no ping and no heartbeat timer; a silent link stays open', async () => {
  const server = await startWsPeer();
  const proxy = await proxyTo(server.url);
  const spy = spyScheduler();
  const socket = client(proxy.url, {
    heartbeat: false,
    scheduler: spy.scheduler,
    connectTimeout: 4000,
    reconnect: { resetAfter: 3000 },
    closeTimeout: 50, // the blackhole swallows the close frame too
  });
  const rec = record(socket);
  collect(socket);
  const conn = await server.connection(1);
  await waitFor(() => socket.state.status === 'open', 'open');
  proxy.set('both', { kind: 'blackhole' });
  await sleep(6 * (heartbeat.interval + heartbeat.timeout) / 2);
  expect(conn.pings).toBe(0);
  // No heartbeat timer at its defaults (25000 between pings, 10000 for a pong).
  expect(spy.delays).toContain(4000); // the spy does see the client's timers
  expect(spy.delays).not.toContain(25000);
  expect(spy.delays).not.toContain(10000);
  expect(rec.errors).toEqual([]);
  expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1']);
});

test('the default heartbeat is on with ws: its first ping is scheduled at 25000 ms', async () => {
  const server = await startWsPeer();
  const spy = spyScheduler();
  const socket = client(server.url, { scheduler: spy.scheduler, connectTimeout: 4000, reconnect: { resetAfter: 3000 } });
  collect(socket);
  await waitFor(() => socket.state.status === 'open', 'open');
  expect(spy.delays).toContain(25000);
});

test('a server that answers pings stays open over many intervals', async () => {
  const server = await startWsPeer();
  const socket = client(server.url, { heartbeat, reconnect: { initialDelay: 10 } });
  const rec = record(socket);
  const messages = collect(socket);
  const conn = await server.connection(1);
  await waitFor(() => conn.pings >= 6, 'six pings', 3000);
  expect(rec.errors).toEqual([]);
  expect(rec.trail()).toEqual(['idle:0', 'connecting:1', 'open:1']);
  expect(server.connections).toHaveLength(1);
  expect(conn.close).toBeUndefined();
  expect(messages.errored).toBe(false);
});

test('traffic is no proof of life: a server that streams messages but never answers pings is dropped', async () => {
  const server = await startWsPeer({
    wsOptions: { autoPong: false },
    onConnection: (c) => {
      const timer = setInterval(() => c.ws.send(JSON.stringify(c.index)), 10);
      c.ws.on('close', () => clearInterval(timer));
    },
  });
  const socket = client<number>(server.url, { heartbeat, reconnect: { initialDelay: 10, jitter: false } });
  const rec = record(socket);
  const messages = collect(socket);
  const opened = await waitFor(() => socket.state.status === 'open' && Date.now(), 'open');
  await waitFor(() => rec.errors.length > 0, 'a heartbeat timeout', 3000);
  expect(Date.now() - opened).toBeLessThanOrEqual(heartbeat.interval + heartbeat.timeout + margin);
  expect(rec.errors[0]).toBeInstanceOf(HeartbeatTimeoutError);
  expect(messages.values.filter((n) => n === 1).length).toBeGreaterThan(2); // messages were flowing
  await waitFor(() => messages.values.includes(2), 'messages from the next connection');
  expect(await server.connections[0]?.closed).toMatchObject({ code: 1006 }); // terminated, no close frame
});
