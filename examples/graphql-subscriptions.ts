/**
 * GraphQL subscriptions on rxwire: the `graphql-transport-ws` protocol, spoken by a few lines of
 * rxwire against the graphql-ws package's own server (`useServer` on a `ws` server), with a
 * `graphql` schema that counts.
 *
 *   npx tsx examples/graphql-subscriptions.ts        (PORT=9000 to choose the port)
 *
 * It runs a query, two subscriptions at once, restarts the server in the middle (both
 * subscriptions resume once `connection_init`/`connection_ack` is redone), unsubscribes (the
 * server gets `complete`), then closes everything and exits by itself.
 *
 * How the protocol maps onto rxwire:
 * - `connection_init` → `connection_ack` is the `handshake`, redone on every connection, before
 *   anything else is written (the server closes with 4401 on a `subscribe` before its ack).
 * - each subscription is a `socket.channel()`: `subscribe` with its id, written again after every
 *   reconnect; `complete` when the last subscriber leaves; `next` messages with its id are its
 *   values, `complete` ends it, `error` errors it.
 * - a query is a `socket.request()` matched by id (`matchId`).
 * - the server's `ping` is answered with `pong`, during the handshake and after it.
 */
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import { buildSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { catchError, filter, first, ignoreElements, map, Observable, share, tap, throwError } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { ChannelError, connect, isRetriableClose, matchId, type ConnectOptions, type RxSocket } from '../lib/index.js';

/** The subprotocol name, offered in the WebSocket handshake. */
export const GRAPHQL_TRANSPORT_WS = 'graphql-transport-ws';

// ---------------------------------------------------------------------------------------------
// The protocol's messages (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md)

export type Variables = Record<string, unknown>;

/** What the client sends. */
export type ClientMessage =
  | { type: 'connection_init'; payload?: Record<string, unknown> }
  | { type: 'ping' | 'pong'; payload?: Record<string, unknown> }
  | { type: 'subscribe'; id: string; payload: { query: string; variables?: Variables; operationName?: string } }
  | { type: 'complete'; id: string };

/** What the server sends. */
export type ServerMessage =
  | { type: 'connection_ack'; payload?: Record<string, unknown> }
  | { type: 'ping' | 'pong'; payload?: Record<string, unknown> }
  | { type: 'next'; id: string; payload: FormattedExecutionResult }
  | { type: 'error'; id: string; payload: GraphQLFormattedError[] }
  | { type: 'complete'; id: string };

type Next = Extract<ServerMessage, { type: 'next' }>;
type ErrorMessage = Extract<ServerMessage, { type: 'error' }>;

/**
 * Close codes of graphql-transport-ws that mean "do not try again": bad request, unauthorized,
 * forbidden, subprotocol not acceptable, subscriber already exists, too many initialisation
 * requests, internal server error. 4408 (no `connection_init` in time) is retried.
 */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([4400, 4401, 4403, 4406, 4409, 4429, 4500]);

/** The server answered an operation with GraphQL errors (an `error` message). */
export class GraphqlError extends Error {
  override name = 'GraphqlError';
  readonly errors: readonly GraphQLFormattedError[];

  constructor(errors: readonly GraphQLFormattedError[]) {
    super(errors.map((e) => e.message).join('; ') || 'GraphQL error');
    this.errors = errors;
  }
}

// ---------------------------------------------------------------------------------------------
// The client: graphql-transport-ws on rxwire

export interface GraphqlClientOptions {
  /**
   * The `connection_init` payload, or a function called before every connection (fresh tokens).
   * @default undefined (no payload)
   */
  connectionParams?: Record<string, unknown> | (() => Record<string, unknown>);
  /**
   * Passed to `connect()`; `shouldReconnect` defaults to the rxwire table minus
   * {@link FATAL_CLOSE_CODES}.
   * @default { initialDelay: 100, maxDelay: 5000 }
   */
  reconnect?: ConnectOptions['reconnect'];
  /**
   * Milliseconds an attempt may take, `connection_ack` included (> 0).
   * @default 10000
   */
  connectTimeout?: number;
}

export interface GraphqlClient {
  /** The rxwire socket underneath, for `state$`, `errors$` and `close()`. */
  readonly socket: RxSocket<ServerMessage, ClientMessage>;
  /**
   * A subscription as a ref-counted Observable of its results: `subscribe` when the first
   * subscriber arrives and after every reconnect, `complete` when the last leaves. `variables`
   * may be a function, called for every `subscribe` message (to resume where it stopped).
   * Completes when the server completes it; errors with {@link GraphqlError} on an `error`.
   */
  subscribe<T = Record<string, unknown>>(query: string, variables?: Variables | (() => Variables)): Observable<FormattedExecutionResult<T>>;
  /** A query or mutation as a request: the first `next` (or `error`) with its id answers it. */
  query<T = Record<string, unknown>>(query: string, variables?: Variables, options?: { timeout?: number }): Promise<FormattedExecutionResult<T>>;
}

/**
 * A graphql-transport-ws client on rxwire.
 *
 * @example
 * ```ts
 * const client = createGraphqlClient('ws://127.0.0.1:4000/graphql');
 * client.subscribe<{ count: number }>('subscription { count(to: 3) }').subscribe(console.log);
 * console.log(await client.query('{ hello }'));
 * ```
 */
export function createGraphqlClient(url: string, options: GraphqlClientOptions = {}): GraphqlClient {
  const { connectionParams, reconnect = { initialDelay: 100, maxDelay: 5000 }, connectTimeout = 10000 } = options;
  const socket = connect<ServerMessage, ClientMessage>(url, {
    protocols: GRAPHQL_TRANSPORT_WS,
    connectTimeout,
    reconnect: reconnect && {
      shouldReconnect: (close) => !FATAL_CLOSE_CODES.has(close.code) && isRetriableClose(close),
      ...reconnect,
    },
    // connection_init → connection_ack on every connection, before subscribes and queued queries.
    handshake: (conn) => {
      const payload = typeof connectionParams === 'function' ? connectionParams() : connectionParams;
      conn.send(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
      return conn.messages$.pipe(
        tap((message) => message.type === 'ping' && conn.send({ type: 'pong' })),
        first((message) => message.type === 'connection_ack'),
      );
    },
  });

  // Answers the server's pings while any operation holds the connection (ref-counted by share).
  const pongs$ = socket.messages$.pipe(
    filter((message) => message.type === 'ping'),
    // A pong is worth nothing on a later connection: it may wait 1 s at most.
    tap(() => void socket.send({ type: 'pong' }, { timeout: 1000 }).catch(() => undefined)),
    ignoreElements(),
    share(),
  );
  const answeringPings = <T>(source$: Observable<T>): Observable<T> =>
    new Observable<T>((subscriber) => {
      const pongs = pongs$.subscribe({ error: () => undefined }); // source$ reports the socket's errors
      subscriber.add(source$.subscribe(subscriber));
      subscriber.add(pongs);
    });

  let lastId = 0;
  return {
    socket,
    subscribe<T>(query: string, variables?: Variables | (() => Variables)) {
      const id = String(++lastId);
      const channel$ = socket.channel({
        subscribe: () => ({ type: 'subscribe', id, payload: { query, ...(variables && { variables: typeof variables === 'function' ? variables() : variables }) } }),
        unsubscribe: () => ({ type: 'complete', id }),
        filter: (message) => message.type === 'next' && message.id === id,
        isComplete: (message) => message.type === 'complete' && message.id === id,
        isError: (message) => message.type === 'error' && message.id === id,
      });
      return answeringPings(channel$).pipe(
        map((message) => (message as Next).payload as FormattedExecutionResult<T>),
        catchError((error: unknown) =>
          throwError(() => (error instanceof ChannelError ? new GraphqlError((error.payload as ErrorMessage).payload) : error)),
        ),
        share(),
      );
    },
    async query<T>(query: string, variables?: Variables, { timeout: ms = 10000 }: { timeout?: number } = {}) {
      const id = String(++lastId);
      const pongs = pongs$.subscribe({ error: () => undefined });
      try {
        const answer = await socket.request({ type: 'subscribe', id, payload: { query, ...(variables && { variables }) } }, { match: matchId(id), timeout: ms });
        if (answer.type === 'next') return answer.payload as FormattedExecutionResult<T>;
        if (answer.type === 'error') throw new GraphqlError(answer.payload);
        throw new GraphqlError([{ message: 'The server completed the operation without a result' }]);
      } finally {
        pongs.unsubscribe();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The server: graphql-ws's own, on a `ws` server, stoppable and restartable on the same port

/** The schema: a query or two, and a subscription that counts. */
export const typeDefs = /* GraphQL */ `
  type Query {
    hello(name: String = "world"): String!
    add(a: Int!, b: Int!): Int!
  }
  type Subscription {
    "Counts from \`from\` to \`to\` (forever if \`to\` is null), one number per tick."
    count(to: Int, from: Int = 1): Int!
  }
`;

export interface GraphqlServerOptions {
  /** Port on 127.0.0.1; 0 picks a free one. @default 0 */
  port?: number;
  /** Milliseconds between two numbers of `count` (> 0). @default 50 */
  tickMs?: number;
  /** Milliseconds the server waits before `connection_ack` (>= 0). @default 0 */
  ackDelayMs?: number;
  /** Send a `ping` on receiving `connection_init`, before the ack. @default false */
  pingBeforeAck?: boolean;
  /** Milliseconds between the server's `ping` messages; 0: none. @default 0 */
  pingEveryMs?: number;
}

/** What one connection did at the server, in the server's order. */
export interface ServerEvent {
  /** 1 = the first connection this server accepted, counted across restarts. */
  readonly connection: number;
  /** A client message received (`in`), or one of graphql-ws's hooks having run. */
  readonly kind: 'in' | 'connect' | 'operation' | 'complete' | 'pong' | 'close';
  /** The message received, or the operation's id, or the close code. */
  readonly detail: ClientMessage | string | number;
}

export interface GraphqlServer {
  readonly port: number;
  readonly url: string;
  /** Everything the server saw, in order, across restarts. */
  readonly events: readonly ServerEvent[];
  /** Client messages received on connection `n` (ping/pong traffic left out), in order. */
  received(n: number): ClientMessage[];
  /** Closes every client with 1001 (graphql-ws's "going away") and stops listening. */
  stop(): Promise<void>;
  /** Listens again on the same port, with a fresh graphql-ws server (it forgot everything). */
  start(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts graphql-ws's server on 127.0.0.1.
 *
 * @example
 * ```ts
 * const server = await startGraphqlServer({ tickMs: 20 });
 * await server.stop();
 * await server.start(); // same port
 * await server.stop();
 * ```
 */
export async function startGraphqlServer(options: GraphqlServerOptions = {}): Promise<GraphqlServer> {
  const { tickMs = 50, ackDelayMs = 0, pingBeforeAck = false, pingEveryMs = 0 } = options;
  const schema = buildSchema(typeDefs);
  const roots = {
    query: {
      hello: ({ name }: { name: string }) => `Hello, ${name}!`,
      add: ({ a, b }: { a: number; b: number }) => a + b,
    },
    subscription: {
      count: async function* ({ to, from }: { to: number | null; from: number }) {
        for (let n = from; to === null || to === undefined || n <= to; n++) {
          await sleep(tickMs);
          yield { count: n };
        }
      },
    },
  };
  const events: ServerEvent[] = [];
  const numbers = new WeakMap<WebSocket, number>();
  let connections = 0;
  const number = (socket: WebSocket): number => numbers.get(socket) ?? 0;
  const record = (socket: WebSocket, kind: ServerEvent['kind'], detail: ServerEvent['detail']): void =>
    void events.push({ connection: number(socket), kind, detail });

  let port = options.port ?? 0;
  let running: { dispose(): Promise<void> } | undefined;

  const listen = async (): Promise<void> => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    port = (wss.address() as { port: number }).port;
    // Before useServer's own listener, so that messages are recorded before graphql-ws acts.
    wss.on('error', () => undefined); // listen errors were handled above; graphql-ws logs the rest
    wss.on('connection', (socket) => {
      socket.on('error', () => undefined); // graphql-ws listens once; a client that vanishes is no crash
      numbers.set(socket, ++connections);
      socket.on('message', (data) => record(socket, 'in', JSON.parse(String(data)) as ClientMessage));
      if (pingEveryMs > 0) {
        const pinger = setInterval(() => socket.send(JSON.stringify({ type: 'ping' })), pingEveryMs);
        socket.once('close', () => clearInterval(pinger));
      }
    });
    const server = useServer(
      {
        schema,
        roots,
        onConnect: async ({ extra }) => {
          record(extra.socket, 'connect', '');
          if (pingBeforeAck) extra.socket.send(JSON.stringify({ type: 'ping' }));
          if (ackDelayMs > 0) await sleep(ackDelayMs);
        },
        onOperation: ({ extra }, id) => void record(extra.socket, 'operation', id),
        onComplete: ({ extra }, id) => void record(extra.socket, 'complete', id),
        onPong: ({ extra }) => void record(extra.socket, 'pong', ''),
        onClose: ({ extra }, code) => void record(extra.socket, 'close', code ?? 0),
      },
      wss,
      0, // no ws-level keep-alive pings: this example's pings are the protocol's
    );
    running = { dispose: async () => void (await server.dispose()) };
  };

  await listen();
  return {
    port,
    url: `ws://127.0.0.1:${port}/graphql`,
    events,
    received: (n) =>
      events
        .filter((e) => e.connection === n && e.kind === 'in')
        .map((e) => e.detail as ClientMessage)
        .filter((m) => m.type !== 'ping' && m.type !== 'pong'),
    async stop() {
      const current = running;
      running = undefined;
      await current?.dispose();
    },
    async start() {
      if (running) return;
      // The old listener may hold the port for a moment.
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

export interface DemoResult {
  /** Counts seen by the subscription that resumes where it stopped. */
  readonly resumed: number[];
  /** Counts seen by the subscription that starts over on each connection. */
  readonly restarted: number[];
  /** The server's events. */
  readonly events: readonly ServerEvent[];
}

/**
 * The whole session, against a server it starts: a query, two subscriptions, a server restart,
 * unsubscribes, a last query. Resolves once the client and the server are closed.
 */
export async function runDemo({ port = 0, log = console.log }: DemoOptions = {}): Promise<DemoResult> {
  const server = await startGraphqlServer({ port, tickMs: 50, pingEveryMs: 120 });
  log(`server: graphql-ws on ${server.url}`);
  const client = createGraphqlClient(server.url, { reconnect: { initialDelay: 50, maxDelay: 500 } });
  const { socket } = client;
  socket.state$.subscribe(({ status, attempt }) => log(`client: ${status}${attempt > 1 ? ` (attempt ${attempt})` : ''}`));
  socket.errors$.subscribe((error) => log(`client: connection lost (${error.message}), reconnecting`));

  try {
    log(`query { hello }: ${JSON.stringify(await client.query('{ hello }'))}`);

    const resumed: number[] = [];
    const restarted: number[] = [];
    const resumed$ = client.subscribe<{ count: number }>('subscription ($from: Int) { count(from: $from) }', () => ({
      from: (resumed.at(-1) ?? 0) + 1, // resume after the last count seen
    }));
    const restarted$ = client.subscribe<{ count: number }>('subscription { count(to: 1000) }');
    const a = resumed$.subscribe(({ data }) => data && (resumed.push(data.count), log(`  resumed:   ${data.count}`)));
    const b = restarted$.subscribe(({ data }) => data && (restarted.push(data.count), log(`  restarted: ${data.count}`)));
    await waitUntil(() => resumed.length >= 3 && restarted.length >= 3);

    log('server: restarting');
    await server.stop();
    await sleep(300);
    await server.start();
    log('server: listening again');
    const [r, s] = [resumed.length, restarted.length];
    await waitUntil(() => resumed.length >= r + 3 && restarted.length >= s + 3);

    a.unsubscribe();
    log('client: unsubscribed "resumed" (the server gets `complete`)');
    await sleep(120);
    b.unsubscribe();
    log('client: unsubscribed "restarted"');

    log(`query { add(a: 2, b: 3) }: ${JSON.stringify(await client.query('{ add(a: 2, b: 3) }'))}`);
    const pongs = server.events.filter((e) => e.kind === 'pong').length;
    log(`done: resumed saw ${resumed.join(',')}; restarted saw ${restarted.join(',')}; ${pongs} pongs answered the server's pings`);
    return { resumed, restarted, events: server.events };
  } finally {
    await socket.close();
    await server.stop();
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
