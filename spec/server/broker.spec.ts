import { once } from 'node:events';
import { Observable } from 'rxjs';
import { WebSocket } from 'ws';
import { listen, memoryBroker, memoryBus, BrokerUnavailableError, type Broker, type Server } from '../../lib/server/index.js';
import { onDispose } from '../helpers/dispose.js';
import '../helpers/tripwires.js';
import { poke, waitFor } from '../helpers/wait.js';

// listen({ broker }) in one process: servers on one memory bus are the nodes of a cluster. What the
// Redis specs prove across processes, proven here on the server's side alone: relay once and in
// order, the node's own peers first, one broker subscription per topic with local members.

async function node(broker: Broker): Promise<Server<unknown, unknown>> {
  const server = listen<unknown, unknown>({ broker, logger: false, heartbeat: false });
  onDispose(() => server.close({ timeout: 500 }));
  server.connections$.subscribe((peer) => peer.messages$.subscribe((m) => (m as { join?: string }).join !== undefined && peer.join((m as { join: string }).join)));
  await server.ready;
  return server;
}

/** A plain ws client that joined `topic` (or none), recording what it receives. */
async function client(server: Server<unknown, unknown>, topic?: string): Promise<string[]> {
  const ws = new WebSocket(server.url);
  ws.on('error', () => undefined);
  onDispose(() => ws.terminate());
  const got: string[] = [];
  ws.on('message', (data) => void (got.push(String(data)), poke()));
  await once(ws, 'open');
  const before = server.peers.size;
  if (topic !== undefined) {
    ws.send(JSON.stringify({ join: topic }));
    await waitFor(() => [...server.peers].some((peer) => peer.topics.has(topic)) && server.peers.size >= before, 'joined');
  }
  return got;
}

/** A memory broker that counts subscribe/unsubscribe per topic, and may fail publishes. */
function counting(bus = memoryBus()): Broker & { active: Map<string | null, number>; fail: boolean } {
  const inner = memoryBroker({ bus });
  const active = new Map<string | null, number>();
  const spy = {
    nodeId: inner.nodeId,
    health$: inner.health$,
    gaps$: inner.gaps$,
    active,
    fail: false,
    publish: (topic: string | null, data: never) => (spy.fail ? Promise.reject(new Error('down')) : inner.publish(topic, data)),
    subscribe: (topic: string | null) =>
      new Observable<never>((subscriber) => {
        active.set(topic, (active.get(topic) ?? 0) + 1);
        const subscription = inner.subscribe(topic).subscribe(subscriber as never);
        return () => {
          subscription.unsubscribe();
          active.set(topic, (active.get(topic) ?? 0) - 1);
        };
      }),
    close: () => inner.close(),
  };
  return spy;
}

test('a publish on one node reaches the topic members of every node, once and in order; broadcasts too; a filtered broadcast stays local', async () => {
  const bus = memoryBus();
  const [a, b] = await Promise.all([node(memoryBroker({ bus })), node(memoryBroker({ bus }))]);
  const [atA, atB, outsider] = await Promise.all([client(a, 'room'), client(b, 'room'), client(b)]);
  for (let i = 0; i < 50; i++) expect(a.publish('room', { i })).toBe(1); // the local count
  a.broadcast({ all: true });
  a.broadcast({ filtered: true }, { filter: () => true });
  const expected = [...Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })), '{"all":true}'];
  await waitFor(() => atB.length === 51 && outsider.length === 1 && atA.length === 52, 'every message');
  expect(atB).toEqual(expected);
  expect(atA).toEqual([...expected, '{"filtered":true}']);
  expect(outsider).toEqual(['{"all":true}']);
});

test('one broker subscription per topic per node: made when the first local peer joins, ended when the last leaves', async () => {
  const broker = counting();
  const server = await node(broker);
  expect(broker.active.get(null)).toBe(1); // broadcasts, from the start
  const one = await client(server, 'room');
  await client(server, 'room');
  expect(one).toEqual([]);
  expect(broker.active.get('room')).toBe(1);
  for (const peer of [...server.peers]) await peer.close();
  expect(broker.active.get('room')).toBe(0);
  await server.close();
  expect([...broker.active.values()]).toEqual([0, 0]);
});

test('a relay that fails goes to relayErrors$ as a BrokerUnavailableError (local peers got the message)', async () => {
  const broker = counting();
  const server = await node(broker);
  const got = await client(server, 'room');
  const errors: BrokerUnavailableError[] = [];
  server.relayErrors$.subscribe((error) => void (errors.push(error), poke()));
  broker.fail = true;
  expect(server.publish('room', { n: 1 })).toBe(1);
  server.broadcast({ n: 2 });
  await waitFor(() => errors.length === 2 && got.length === 2, 'two relay errors, two local deliveries');
  expect(errors.map((e) => [e.name, e.topic, e.payload])).toEqual([
    ['BrokerUnavailableError', 'room', { n: 1 }],
    ['BrokerUnavailableError', null, { n: 2 }],
  ]);
  expect((errors[0] as BrokerUnavailableError).cause).toEqual(new Error('down'));
});

test('`broker` is checked', () => {
  expect(() => listen({ broker: {} as Broker })).toThrow('Expected `broker` to be a Broker (publish, subscribe, close, health$, gaps$), got `Object` (object)');
});
