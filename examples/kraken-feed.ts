/**
 * A Kraken-style public market feed on rxwire, against a local simulator of its WebSocket API
 * (v1 public messages: `subscribe`/`unsubscribe` events, `subscriptionStatus` replies,
 * `heartbeat` events, ticker data as arrays `[channelID, {...}, 'ticker', 'XBT/USD']`).
 *
 *   npx tsx examples/kraken-feed.ts        (PORT=9000 to choose the port)
 *
 * It subscribes to two tickers, restarts the feed in the middle (a crash: no close frame), sees
 * both tickers resubscribed and flowing again with new channel ids, pings the feed as a request,
 * unsubscribes, then closes everything and exits by itself.
 *
 * How the protocol maps onto rxwire:
 * - each pair's ticker is a `socket.channel()`: `{ event: 'subscribe', pair: [pair], subscription:
 *   { name: 'ticker' } }`, written again after every reconnect; `unsubscribe` when the last
 *   subscriber leaves. The channel id changes with every subscription, so the filter matches the
 *   channel name and the pair (the array's last two items), never the id.
 * - a `subscriptionStatus` with `status: 'error'` for the pair errors the channel.
 * - `{ event: 'ping', reqid }` is a `socket.request()` answered by the `pong` with that `reqid`.
 * - `heartbeat` events arrive on `messages$` only (channels are filtered views).
 */
import { catchError, filter, map, Observable, share, throwError } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { ChannelError, connect, type ConnectOptions, type RxSocket } from '../lib/index.js';

// ---------------------------------------------------------------------------------------------
// The messages

export type SubscriptionName = 'ticker';

/** What the client sends. */
export type KrakenRequest =
  | { event: 'subscribe' | 'unsubscribe'; reqid?: number; pair: string[]; subscription: { name: SubscriptionName } }
  | { event: 'ping'; reqid: number };

/** `[ask|bid price, whole lot volume, lot volume]`, `c`: `[price, lot volume]`, `t`: trades `[today, last 24 h]`. */
export interface TickerData {
  a: [string, number, string];
  b: [string, number, string];
  c: [string, string];
  t: [number, number];
}

export type TickerMessage = [channelID: number, data: TickerData, channelName: 'ticker', pair: string];

export type KrakenEvent =
  | { event: 'systemStatus'; status: 'online'; version: string; connectionID: number }
  | { event: 'heartbeat' }
  | { event: 'pong'; reqid?: number }
  | {
      event: 'subscriptionStatus';
      status: 'subscribed' | 'unsubscribed' | 'error';
      pair: string;
      subscription: { name: SubscriptionName };
      channelID?: number;
      channelName?: SubscriptionName;
      reqid?: number;
      errorMessage?: string;
    };

/** What the server sends. */
export type KrakenMessage = KrakenEvent | TickerMessage;

type StatusEvent = Extract<KrakenEvent, { event: 'subscriptionStatus' }>;

export const isTicker = (message: KrakenMessage): message is TickerMessage => Array.isArray(message) && message[2] === 'ticker';
export const isEvent = <E extends KrakenEvent['event']>(message: KrakenMessage, event: E): message is Extract<KrakenEvent, { event: E }> =>
  !Array.isArray(message) && message.event === event;

/** The feed refused a subscription (`subscriptionStatus` with `status: 'error'`). */
export class KrakenError extends Error {
  override name = 'KrakenError';
  readonly pair: string;

  constructor(status: StatusEvent) {
    super(`${status.pair}: ${status.errorMessage ?? 'subscription refused'}`);
    this.pair = status.pair;
  }
}

// ---------------------------------------------------------------------------------------------
// The client

/** One ticker update. */
export interface Ticker {
  readonly pair: string;
  /** The id the feed gave this subscription; a new one after every reconnect. */
  readonly channelID: number;
  readonly ask: number;
  readonly bid: number;
  readonly last: number;
  /** Trades today, as the feed counts them. */
  readonly trades: number;
}

export interface KrakenClient {
  readonly socket: RxSocket<KrakenMessage, KrakenRequest>;
  /** A pair's ticker, ref-counted: one `subscribe` for all its subscribers, kept across reconnects. */
  ticker(pair: string): Observable<Ticker>;
  /** Pings the feed (a request matched by `reqid`); resolves with the round trip in milliseconds. */
  ping(timeout?: number): Promise<number>;
}

/**
 * A client of a Kraken-style feed on rxwire.
 *
 * @example
 * ```ts
 * const kraken = createKrakenClient('wss://ws.kraken.com');
 * kraken.ticker('XBT/USD').subscribe((t) => console.log(t.pair, t.last));
 * ```
 */
export function createKrakenClient(url: string, options: Pick<ConnectOptions<KrakenMessage, KrakenRequest>, 'reconnect' | 'heartbeat'> = {}): KrakenClient {
  const socket = connect<KrakenMessage, KrakenRequest>(url, options);
  const tickers = new Map<string, Observable<Ticker>>();
  let lastReqid = 0;
  return {
    socket,
    ticker(pair) {
      let ticker$ = tickers.get(pair);
      if (ticker$) return ticker$;
      const subscription = { name: 'ticker' } as const;
      ticker$ = socket
        .channel({
          subscribe: () => ({ event: 'subscribe', pair: [pair], subscription }),
          unsubscribe: () => ({ event: 'unsubscribe', pair: [pair], subscription }),
          filter: (message) => isTicker(message) && message[3] === pair,
          isError: (message) => isEvent(message, 'subscriptionStatus') && message.status === 'error' && message.pair === pair,
        })
        .pipe(
          map((message) => {
            const [channelID, data] = message as TickerMessage;
            return { pair, channelID, ask: Number(data.a[0]), bid: Number(data.b[0]), last: Number(data.c[0]), trades: data.t[0] };
          }),
          catchError((error: unknown) =>
            throwError(() => (error instanceof ChannelError ? new KrakenError(error.payload as StatusEvent) : error)),
          ),
          share(),
        );
      tickers.set(pair, ticker$);
      return ticker$;
    },
    async ping(timeout = 5000) {
      const reqid = ++lastReqid;
      const started = Date.now();
      await socket.request({ event: 'ping', reqid }, { match: (message) => isEvent(message, 'pong') && message.reqid === reqid, timeout });
      return Date.now() - started;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The simulated feed

export interface KrakenFeedOptions {
  /** Port on 127.0.0.1; 0 picks a free one. @default 0 */
  port?: number;
  /** Milliseconds between two ticker updates of a subscribed pair (> 0). @default 100 */
  tickMs?: number;
  /** A `heartbeat` is sent after this many milliseconds without other traffic (> 0). @default 1000 */
  heartbeatMs?: number;
  /** The pairs the feed knows. @default ['XBT/USD', 'ETH/USD'] */
  pairs?: string[];
}

export interface KrakenFeed {
  readonly port: number;
  readonly url: string;
  /** Every client message, with the connection it came on (1 = first, counted across restarts). */
  readonly received: ReadonlyArray<{ connection: number; message: KrakenRequest }>;
  /** What connection `n` received, e.g. `subscribe XBT/USD`, `ping 3`. */
  on(n: number): string[];
  /** Crashes: destroys every connection without a close frame, and stops listening. */
  stop(): Promise<void>;
  /** Listens again on the same port; subscriptions are forgotten, channel ids keep counting. */
  start(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a simulated Kraken-style public feed on 127.0.0.1.
 *
 * @example
 * ```ts
 * const feed = await startKrakenFeed({ tickMs: 20 });
 * await feed.stop();
 * ```
 */
export async function startKrakenFeed(options: KrakenFeedOptions = {}): Promise<KrakenFeed> {
  const { tickMs = 100, heartbeatMs = 1000, pairs = ['XBT/USD', 'ETH/USD'] } = options;
  const received: Array<{ connection: number; message: KrakenRequest }> = [];
  const trades = new Map<string, number>(pairs.map((pair) => [pair, 0]));
  let connections = 0;
  let lastChannelId = 10000;
  let port = options.port ?? 0;
  let wss: WebSocketServer | undefined;

  const serve = (ws: WebSocket): void => {
    const connection = ++connections;
    const subscribed = new Map<string, number>(); // pair → channelID, for this connection only
    let lastSent = Date.now();
    const send = (message: KrakenMessage): void => {
      lastSent = Date.now();
      ws.send(JSON.stringify(message));
    };
    const ticker = setInterval(() => {
      for (const [pair, channelID] of subscribed) {
        const n = (trades.get(pair) ?? 0) + 1;
        trades.set(pair, n);
        const base = pair.startsWith('XBT') ? 60000 : 3000;
        const price = (base + n / 10).toFixed(5);
        send([channelID, { a: [price, 1, '1.000'], b: [(base + n / 10 - 0.1).toFixed(5), 1, '1.000'], c: [price, '0.01'], t: [n, n] }, 'ticker', pair]);
      }
    }, tickMs);
    const heartbeat = setInterval(() => {
      if (Date.now() - lastSent >= heartbeatMs) send({ event: 'heartbeat' });
    }, heartbeatMs / 4);
    ws.on('error', () => undefined);
    ws.once('close', () => {
      clearInterval(ticker);
      clearInterval(heartbeat);
    });
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as KrakenRequest;
      received.push({ connection, message });
      if (message.event === 'ping') return send({ event: 'pong', reqid: message.reqid });
      const { event, reqid, subscription } = message;
      for (const pair of message.pair) {
        const reply = { event: 'subscriptionStatus', pair, subscription, ...(reqid === undefined ? {} : { reqid }) } as const;
        if (!trades.has(pair)) {
          send({ ...reply, status: 'error', errorMessage: 'Currency pair not supported' });
        } else if (event === 'subscribe') {
          if (subscribed.has(pair)) {
            send({ ...reply, status: 'error', errorMessage: 'Already subscribed' });
            continue;
          }
          const channelID = ++lastChannelId;
          subscribed.set(pair, channelID);
          send({ ...reply, status: 'subscribed', channelID, channelName: 'ticker' });
        } else if (subscribed.has(pair)) {
          const channelID = subscribed.get(pair) as number;
          subscribed.delete(pair);
          send({ ...reply, status: 'unsubscribed', channelID, channelName: 'ticker' });
        } else {
          send({ ...reply, status: 'error', errorMessage: 'Subscription not found' });
        }
      }
    });
    send({ event: 'systemStatus', status: 'online', version: '1.9.0', connectionID: connection });
  };

  const listen = async (): Promise<void> => {
    const server = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('error', () => undefined);
    port = (server.address() as { port: number }).port;
    server.on('connection', serve);
    wss = server;
  };

  await listen();
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    received,
    on: (n) =>
      received
        .filter((entry) => entry.connection === n)
        .map(({ message }) => (message.event === 'ping' ? `ping ${message.reqid}` : `${message.event} ${message.pair.join(',')}`)),
    async stop() {
      const server = wss;
      wss = undefined;
      if (!server) return;
      const closed = [...server.clients].map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
      for (const ws of server.clients) ws.terminate();
      await Promise.all([...closed, new Promise<void>((resolve) => server.close(() => resolve()))]);
    },
    async start() {
      if (wss) return;
      for (let attempt = 1; ; attempt++) {
        try {
          return await listen();
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 40) throw error;
          await sleep(50);
        }
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The demo session

export interface DemoOptions {
  /** Port on 127.0.0.1; 0 picks a free one. @default 0 */
  port?: number;
  /** Where the session is told. @default console.log */
  log?: (line: string) => void;
}

/** The whole session against a feed it starts; resolves once the client and the feed are closed. */
export async function runDemo({ port = 0, log = console.log }: DemoOptions = {}): Promise<{ ticks: Record<string, number[]> }> {
  const feed = await startKrakenFeed({ port, tickMs: 60, heartbeatMs: 150 });
  log(`feed: listening on ${feed.url}`);
  const kraken = createKrakenClient(feed.url, { reconnect: { initialDelay: 50, maxDelay: 500 } });
  const { socket } = kraken;
  socket.state$.subscribe(({ status, attempt }) => log(`client: ${status}${attempt > 1 ? ` (attempt ${attempt})` : ''}`));
  socket.errors$.subscribe((error) => log(`client: connection lost (${error.message}), reconnecting`));
  let heartbeats = 0;
  const statuses: string[] = [];
  const events = socket.messages$.pipe(filter((message) => !isTicker(message))).subscribe((message) => {
    if (isEvent(message, 'heartbeat')) heartbeats++;
    else if (isEvent(message, 'subscriptionStatus') && statuses.push(`${message.pair} ${message.status}`)) log(`feed: ${message.pair} ${message.status}${message.channelID ? ` (channel ${message.channelID})` : ''}`);
    else if (isEvent(message, 'systemStatus')) log(`feed: system ${message.status}, connection ${message.connectionID}`);
  });

  try {
    log(`ping: answered in ${await kraken.ping()} ms`);
    await waitUntil(() => heartbeats >= 1);
    log('feed: heartbeat while nothing else is sent');

    const ticks: Record<string, number[]> = { 'XBT/USD': [], 'ETH/USD': [] };
    const watch = (pair: string) =>
      kraken.ticker(pair).subscribe((t) => {
        ticks[pair]?.push(t.trades);
        log(`  ${pair.padEnd(8)} last ${t.last.toFixed(1).padStart(8)}  trade #${t.trades}  (channel ${t.channelID})`);
      });
    const xbt = watch('XBT/USD');
    const eth = watch('ETH/USD');
    await waitUntil(() => (ticks['XBT/USD']?.length ?? 0) >= 3 && (ticks['ETH/USD']?.length ?? 0) >= 3);

    log('feed: crashing, back in 300 ms');
    await feed.stop();
    await sleep(300);
    await feed.start();
    const [x, e] = [ticks['XBT/USD']?.length ?? 0, ticks['ETH/USD']?.length ?? 0];
    await waitUntil(() => (ticks['XBT/USD']?.length ?? 0) >= x + 3 && (ticks['ETH/USD']?.length ?? 0) >= e + 3);

    xbt.unsubscribe();
    log('client: unsubscribed XBT/USD');
    await sleep(150);
    eth.unsubscribe();
    log('client: unsubscribed ETH/USD');
    await waitUntil(() => statuses.includes('ETH/USD unsubscribed'));
    log(`done: ${heartbeats} heartbeat${heartbeats === 1 ? '' : 's'}; the feed received ${feed.received.length} messages`);
    return { ticks };
  } finally {
    events.unsubscribe();
    await socket.close();
    await feed.stop();
  }
}

/** Resolves once `check()` is true (polled every 10 ms); rejects after `ms`. */
async function waitUntil(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`The demo waited more than ${ms} ms`);
    await sleep(10);
  }
}

if (require.main === module) {
  const port = process.env.PORT ? Number(process.env.PORT) : 0;
  runDemo({ port }).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
