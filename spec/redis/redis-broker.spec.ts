import { firstValueFrom, filter } from 'rxjs';
import { redisBroker, BrokerUnavailableError, type Broker, type BrokerGap, type BrokerHealth, type RedisBrokerOptions } from '../../lib/redis/index.js';
import { createFaultProxy } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose.js';
import { startRedis, subscribed } from '../helpers/redis.js';
import '../helpers/tripwires.js';
import { poke, waitFor } from '../helpers/wait.js';

// The Redis broker against a real redis-server of each test's own: relay between two nodes, the
// node's own echo ignored, a Redis restart (publishes fail loudly, health, resubscribe by
// node-redis, the gap reported), and the probe that finds a silent link.

const FAST: RedisBrokerOptions = { reconnect: { initialDelay: 20, maxDelay: 200 }, probe: { interval: 100, timeout: 300 }, logger: false };

function broker(url: string, options: RedisBrokerOptions = {}): Broker & { healths: BrokerHealth[]; gaps: BrokerGap[] } {
  const made = redisBroker({ url, ...FAST, ...options });
  onDispose(() => made.close());
  const healths: BrokerHealth[] = [];
  const gaps: BrokerGap[] = [];
  made.health$.subscribe((health) => void (healths.push(health), poke()));
  made.gaps$.subscribe((gap) => void (gaps.push(gap), poke()));
  return Object.assign(made, { healths, gaps });
}

const up = (b: Broker): Promise<BrokerHealth> => firstValueFrom(b.health$.pipe(filter(({ status }) => status === 'up')));
const text = (data: unknown): string => (typeof data === 'string' ? data : `binary:${Buffer.from(data as Uint8Array).toString('hex')}`);

test('a publish reaches the other node subscribed to its topic, in order, text and binary; never its own node', async () => {
  const redis = await startRedis();
  const [a, b] = [broker(redis.url), broker(redis.url)];
  await Promise.all([up(a), up(b)]);
  const atA: string[] = [];
  const atB: string[] = [];
  const ofB: string[] = [];
  a.subscribe('room').subscribe((data) => void (atA.push(text(data)), poke()));
  b.subscribe('room').subscribe((data) => void (atB.push(text(data)), poke()));
  b.subscribe(null).subscribe((data) => void (ofB.push(text(data)), poke()));
  await subscribed(redis.url, ['rxwire:t:room'], 2);
  await subscribed(redis.url, ['rxwire:b']);
  for (let i = 0; i < 100; i++) await a.publish('room', JSON.stringify({ i }));
  await a.publish('room', new Uint8Array([1, 2, 255]));
  await a.publish(null, 'to every node');
  await waitFor(() => atB.length === 101 && ofB.length === 1, 'b has every message');
  expect(atB.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => JSON.stringify({ i })));
  expect(atB[100]).toBe('binary:0102ff');
  expect(ofB).toEqual(['to every node']);
  expect(atA).toEqual([]); // a's own publishes never come back to a
});

test('Redis restarted: publishes reject with BrokerUnavailableError, health goes down and up, node-redis resubscribes, the gap is reported', async () => {
  const redis = await startRedis();
  const [a, b] = [broker(redis.url), broker(redis.url)];
  await Promise.all([up(a), up(b)]);
  const atB: string[] = [];
  b.subscribe('room').subscribe((data) => void (atB.push(text(data)), poke()));
  await subscribed(redis.url, ['rxwire:t:room']);
  await a.publish('room', 'before');
  await waitFor(() => atB.length === 1, 'the first message');

  const stoppedAt = Date.now();
  await redis.stop();
  await waitFor(() => a.healths.at(-1)?.status === 'down' && b.healths.at(-1)?.status === 'down', 'both down');
  const down = a.healths.at(-1) as BrokerHealth;
  expect(down.error).toBeInstanceOf(Error);
  expect(down.since).toBeGreaterThanOrEqual(stoppedAt - 5);
  const failed = await a.publish('room', 'during').then(() => undefined, (error: unknown) => error);
  expect(failed).toBeInstanceOf(BrokerUnavailableError);
  expect(failed).toMatchObject({ topic: 'room', payload: 'during', since: down.since });

  await redis.start();
  const back = Date.now();
  await Promise.all([up(a), up(b)]);
  await a.publish('room', 'after');
  await waitFor(() => atB.length === 2, 'a message after the restart');
  expect(Date.now() - back).toBeLessThan(2000);
  expect(atB).toEqual(['before', 'after']);
  expect(b.gaps).toEqual([{ topics: ['room'], broadcast: false, from: expect.any(Number), to: expect.any(Number) }]);
  const [gap] = b.gaps as [BrokerGap];
  expect(gap.from).toBeGreaterThanOrEqual(stoppedAt - 5);
  expect(gap.to).toBeGreaterThanOrEqual(back);
  expect(gap.to - gap.from).toBeGreaterThan(0);
}, 15_000);

test('the probe finds a link that went silent (blackholed): health down with the probe error, then up again and the gap reported', async () => {
  const redis = await startRedis();
  const proxy = await createFaultProxy({ target: { port: redis.port } });
  onDispose(() => proxy.close());
  const a = broker(redis.url);
  const b = broker(`redis://127.0.0.1:${proxy.port}`);
  await Promise.all([up(a), up(b)]);
  const atB: string[] = [];
  b.subscribe('room').subscribe((data) => void (atB.push(text(data)), poke()));
  await subscribed(redis.url, ['rxwire:t:room']);
  const silentAt = Date.now();
  proxy.set('both', { kind: 'blackhole' }); // both sockets stay open: only the probe can tell
  await a.publish('room', 'lost'); // Redis takes it; b's subscriber never sees it
  const down = await firstValueFrom(b.health$.pipe(filter(({ status }) => status === 'down')));
  expect(down.error?.message).toMatch(/^Redis probe: no reply to PUBLISH within 300 ms/);
  expect(Date.now() - silentAt).toBeLessThan(100 + 300 + 500); // interval + timeout, and some slack
  proxy.set('both', { kind: 'pass' }); // the replacement connections get through
  await up(b);
  await subscribed(redis.url, ['rxwire:t:room']);
  await a.publish('room', 'after');
  await waitFor(() => atB.length > 0, 'a message after the link came back');
  expect(atB).toEqual(['after']);
  expect(b.gaps).toEqual([{ topics: ['room'], broadcast: false, from: expect.any(Number), to: expect.any(Number) }]);
  expect((b.gaps[0] as BrokerGap).from).toBeLessThanOrEqual(silentAt); // from the last probe that came back
  expect(proxy.links().length).toBe(4); // the two silent connections were replaced, once each
}, 15_000);
