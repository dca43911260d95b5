import type { Observable, Subscription } from 'rxjs';
import { ConnectionClosedError } from '../../lib/index.js';
import {
  createKrakenClient,
  isEvent,
  isTicker,
  KrakenError,
  startKrakenFeed,
  type KrakenClient,
  type KrakenFeed,
  type KrakenFeedOptions,
  type KrakenMessage,
  type Ticker,
} from '../../examples/kraken-feed.js';
import { onDispose } from '../helpers/dispose.js';
import { runExample } from '../helpers/run-example.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// examples/kraken-feed.ts against its simulated feed: the same checks as the graphql spec on a
// protocol of another shape (events and data arrays, channel ids that change per subscription).
// The feed answers a second `subscribe` of a pair on one connection with an error, which errors
// the channel: a duplicate subscribe cannot go unnoticed.

async function feed(options: KrakenFeedOptions = {}): Promise<KrakenFeed> {
  const started = await startKrakenFeed({ tickMs: 20, heartbeatMs: 1000, ...options });
  onDispose(() => started.stop());
  return started;
}

function client(url: string): KrakenClient {
  const created = createKrakenClient(url, { reconnect: { initialDelay: 10, maxDelay: 50, jitter: false }, heartbeat: false });
  onDispose(() => created.socket.close());
  return created;
}

interface Seen {
  readonly ticks: Ticker[];
  error: unknown;
  readonly subscription: Subscription;
}

function watch(ticker$: Observable<Ticker>): Seen {
  const seen = { ticks: [] as Ticker[], error: undefined as unknown } as Seen & { subscription: Subscription };
  seen.subscription = ticker$.subscribe({ next: (t) => seen.ticks.push(t), error: (error: unknown) => (seen.error = error) });
  onDispose(() => seen.subscription.unsubscribe());
  return seen;
}

function record<T>(source$: Observable<T>): T[] {
  const values: T[] = [];
  const subscription = source$.subscribe({ next: (value) => values.push(value), error: () => undefined });
  onDispose(() => subscription.unsubscribe());
  return values;
}

const trades = (seen: Seen): number[] => seen.ticks.map((t) => t.trades);
const statuses = (messages: KrakenMessage[]): string[] =>
  messages.flatMap((m) => (isEvent(m, 'subscriptionStatus') ? [`${m.pair} ${m.status}`] : []));

describe('a Kraken-style feed on rxwire', () => {
  test('two tickers at once survive a feed crash: both resubscribed first thing, and flowing again on new channel ids', async () => {
    const kraken = await feed();
    const { socket, ticker } = client(kraken.url);
    const errors = record(socket.errors$);
    const xbt = watch(ticker('XBT/USD'));
    const eth = watch(ticker('ETH/USD'));
    await waitFor(() => xbt.ticks.length >= 3 && eth.ticks.length >= 3, 'three ticks each');

    await kraken.stop();
    await waitFor(() => socket.state.status === 'reconnecting', 'the client to see the crash');
    const [x, e] = [xbt.ticks.length, eth.ticks.length];
    await kraken.start();
    await waitFor(() => xbt.ticks.length >= x + 3 && eth.ticks.length >= e + 3, 'three more ticks each');

    expect(kraken.on(1)).toEqual(['subscribe XBT/USD', 'subscribe ETH/USD']);
    expect(kraken.on(2)).toEqual(['subscribe XBT/USD', 'subscribe ETH/USD']);
    // One channel id per connection, a new one after the crash.
    expect(new Set(xbt.ticks.slice(0, x).map((t) => t.channelID)).size).toBe(1);
    expect(new Set(xbt.ticks.slice(x).map((t) => t.channelID)).size).toBe(1);
    expect(xbt.ticks[x]?.channelID).not.toBe(xbt.ticks[0]?.channelID);
    expect(eth.ticks[e]?.channelID).not.toBe(eth.ticks[0]?.channelID);
    expect(xbt.ticks.every((t) => t.pair === 'XBT/USD') && eth.ticks.every((t) => t.pair === 'ETH/USD')).toBe(true);
    expect([xbt.error, eth.error]).toEqual([undefined, undefined]);
    // A crash: no close frame, then refused attempts until the feed is back.
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.every((error) => error instanceof ConnectionClosedError && error.code === 1006)).toBe(true);
  });

  test('trade counts are continuous within a connection and increase across the crash', async () => {
    const kraken = await feed();
    const { socket, ticker } = client(kraken.url);
    const xbt = watch(ticker('XBT/USD'));
    await waitFor(() => xbt.ticks.length >= 3, 'three ticks');
    await kraken.stop();
    await waitFor(() => socket.state.status === 'reconnecting', 'the crash');
    const before = trades(xbt);
    await kraken.start();
    await waitFor(() => xbt.ticks.length >= before.length + 3, 'three more ticks');
    const after = trades(xbt).slice(before.length);
    expect(before).toEqual(Array.from({ length: before.length }, (_, i) => i + 1));
    const first = after[0] as number;
    expect(first).toBeGreaterThan(before.at(-1) as number);
    expect(after).toEqual(Array.from({ length: after.length }, (_, i) => first + i));
  });

  test('unsubscribing one ticker sends one unsubscribe event for it; the other goes on, and only it is resubscribed', async () => {
    const kraken = await feed();
    const { socket, ticker } = client(kraken.url);
    const all = record(socket.messages$);
    const xbt = watch(ticker('XBT/USD'));
    const eth = watch(ticker('ETH/USD'));
    await waitFor(() => xbt.ticks.length >= 1 && eth.ticks.length >= 1, 'a tick each');

    xbt.subscription.unsubscribe();
    await waitFor(() => statuses(all).includes('XBT/USD unsubscribed'), 'the unsubscribed status');
    const n = eth.ticks.length;
    await waitFor(() => eth.ticks.length >= n + 3, 'three more ETH ticks');
    expect(kraken.on(1)).toEqual(['subscribe XBT/USD', 'subscribe ETH/USD', 'unsubscribe XBT/USD']);

    await kraken.stop();
    await waitFor(() => socket.state.status === 'reconnecting', 'the crash');
    await kraken.start();
    const m = eth.ticks.length;
    await waitFor(() => eth.ticks.length >= m + 2, 'ETH ticks after the restart');
    expect(kraken.on(2)).toEqual(['subscribe ETH/USD']);
    expect(statuses(all)).toEqual(['XBT/USD subscribed', 'ETH/USD subscribed', 'XBT/USD unsubscribed', 'ETH/USD subscribed']);
  });

  test('two subscribers of one ticker: one subscribe; the last to leave, one unsubscribe', async () => {
    const kraken = await feed();
    const { socket, ticker } = client(kraken.url);
    const all = record(socket.messages$);
    const a = watch(ticker('XBT/USD'));
    const b = watch(ticker('XBT/USD'));
    await waitFor(() => a.ticks.length >= 2 && b.ticks.length >= 2, 'two ticks each');
    a.subscription.unsubscribe();
    const n = b.ticks.length;
    await waitFor(() => b.ticks.length >= n + 2, 'more ticks for the one left');
    b.subscription.unsubscribe();
    await waitFor(() => statuses(all).length === 2, 'the unsubscribed status');
    expect(kraken.on(1)).toEqual(['subscribe XBT/USD', 'unsubscribe XBT/USD']);
    expect(statuses(all)).toEqual(['XBT/USD subscribed', 'XBT/USD unsubscribed']);
  });

  test('heartbeat events reach messages$ only; ticker channels never see them', async () => {
    const kraken = await feed({ heartbeatMs: 40, tickMs: 100 }); // heartbeats between the ticks
    const { socket, ticker } = client(kraken.url);
    const all = record(socket.messages$);
    const xbt = watch(ticker('XBT/USD'));
    await waitFor(() => xbt.ticks.length >= 2 && all.filter((m) => isEvent(m, 'heartbeat')).length >= 2, 'two ticks and two heartbeats');
    const tickers = all.filter(isTicker);
    expect(xbt.ticks.map((t) => t.trades)).toEqual(tickers.map((m) => m[1].t[0]));
    expect(xbt.ticks.every((t) => t.pair === 'XBT/USD')).toBe(true);
    expect(xbt.error).toBeUndefined();
  });

  test("a pair the feed refuses errors its ticker with KrakenError, sends no unsubscribe, and leaves the others alone", async () => {
    const kraken = await feed();
    const { socket, ticker } = client(kraken.url);
    const xbt = watch(ticker('XBT/USD'));
    const bad = watch(ticker('DOGE/EUR'));
    await waitFor(() => bad.error !== undefined, 'the refusal');
    expect(bad.error).toBeInstanceOf(KrakenError);
    expect(bad.error).toMatchObject({ pair: 'DOGE/EUR', message: 'DOGE/EUR: Currency pair not supported' });
    const n = xbt.ticks.length;
    await waitFor(() => xbt.ticks.length >= n + 2, 'XBT ticks after the refusal');
    await kraken.stop();
    await waitFor(() => socket.state.status === 'reconnecting', 'the crash');
    await kraken.start();
    await waitFor(() => xbt.ticks.length >= n + 4, 'XBT ticks after the restart');
    expect(kraken.on(1)).toEqual(['subscribe XBT/USD', 'subscribe DOGE/EUR']);
    expect(kraken.on(2)).toEqual(['subscribe XBT/USD']);
  });

  test('ping is a request answered by the pong with its reqid', async () => {
    const kraken = await feed();
    const { ping } = client(kraken.url);
    const rtts = await Promise.all([ping(), ping(), ping()]);
    expect(rtts.every((ms) => ms >= 0 && ms < 2000)).toBe(true);
    expect(kraken.on(1)).toEqual(['ping 1', 'ping 2', 'ping 3']);
  });

  test('runs by itself: `npx tsx examples/kraken-feed.ts` prints a session and exits', async () => {
    const { code, out } = await runExample('examples/kraken-feed.ts');
    expect({ code, out }).toMatchObject({ code: 0 });
    expect(out).toMatch(/ping: answered in \d+ ms/);
    expect(out).toContain('feed: heartbeat while nothing else is sent');
    expect(out).toContain('feed: crashing');
    expect(out).toMatch(/feed: XBT\/USD subscribed \(channel 10001\)[\s\S]*feed: XBT\/USD subscribed \(channel 1000[34]\)/);
    expect(out).toContain('feed: ETH/USD unsubscribed');
    expect(out).toMatch(/done: \d+ heartbeats?; the feed received 7 messages/);
  }, 20_000);
});
