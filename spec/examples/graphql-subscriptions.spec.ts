import type { Observable, Subscription } from 'rxjs';
import { ConnectionClosedError, RequestTimeoutError } from '../../lib/index.js';
import {
  createGraphqlClient,
  GraphqlError,
  startGraphqlServer,
  type ClientMessage,
  type GraphqlClient,
  type GraphqlClientOptions,
  type GraphqlServer,
  type GraphqlServerOptions,
} from '../../examples/graphql-subscriptions.js';
import { onDispose } from '../helpers/dispose.js';
import { runExample } from '../helpers/run-example.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// examples/graphql-subscriptions.ts against the graphql-ws package's own server: rxwire speaks
// graphql-transport-ws to a peer no one here wrote. A subscribe before connection_ack would make
// that server close with 4401, and any message it does not expect makes it close with 4400: the
// errors$ counts below would see either.

async function server(options: GraphqlServerOptions = {}): Promise<GraphqlServer> {
  const started = await startGraphqlServer({ tickMs: 20, ...options });
  onDispose(() => started.stop());
  return started;
}

function client(url: string, options: GraphqlClientOptions = {}): GraphqlClient {
  const created = createGraphqlClient(url, { reconnect: { initialDelay: 10, maxDelay: 50, jitter: false }, ...options });
  onDispose(() => created.socket.close());
  return created;
}

interface Seen {
  readonly counts: number[];
  completed: boolean;
  error: unknown;
  readonly subscription: Subscription;
}

function watch(results$: Observable<{ data?: { count: number } | null }>): Seen {
  const seen = { counts: [] as number[], completed: false, error: undefined as unknown } as Seen & { subscription: Subscription };
  seen.subscription = results$.subscribe({
    next: ({ data }) => data && seen.counts.push(data.count),
    complete: () => (seen.completed = true),
    error: (error: unknown) => (seen.error = error),
  });
  onDispose(() => seen.subscription.unsubscribe());
  return seen;
}

/** `type` and `id` of each message, e.g. `subscribe:1`, `connection_init`. */
const brief = (messages: ClientMessage[]): string[] => messages.map((m) => ('id' in m ? `${m.type}:${m.id}` : m.type));

describe('graphql-transport-ws on rxwire, against graphql-ws', () => {
  test('two subscriptions at once survive a server restart: connection_init/ack first, then both resubscribe and resume', async () => {
    const gql = await server({ ackDelayMs: 40 });
    const { socket, subscribe } = client(gql.url);
    const errors: Error[] = [];
    socket.errors$.subscribe((error) => errors.push(error));

    const resumed = watch(subscribe<{ count: number }>('subscription ($from: Int) { count(from: $from) }', () => ({
      from: (resumed.counts.at(-1) ?? 0) + 1,
    })));
    const restarted = watch(subscribe<{ count: number }>('subscription { count(to: 1000) }'));
    await waitFor(() => resumed.counts.length >= 3 && restarted.counts.length >= 3, 'three counts each');

    await gql.stop();
    await waitFor(() => socket.state.status === 'reconnecting', 'the client to see the restart');
    const [r, s] = [resumed.counts.length, restarted.counts.length];
    await gql.start();
    await waitFor(() => resumed.counts.length >= r + 3 && restarted.counts.length >= s + 3, 'three more counts each');

    // Connection 2: the handshake again, then both subscriptions, and nothing else.
    expect(brief(gql.received(1))).toEqual(['connection_init', 'subscribe:1', 'subscribe:2']);
    expect(brief(gql.received(2))).toEqual(['connection_init', 'subscribe:1', 'subscribe:2']);
    const second = gql.events.filter((e) => e.connection === 2 && e.kind !== 'in').map((e) => `${e.kind}${e.detail === '' ? '' : `:${String(e.detail)}`}`);
    expect(second.slice(0, 3)).toEqual(['connect', 'operation:1', 'operation:2']);
    // The one that resumes asks for the count after the last it saw; the other starts over.
    expect(gql.received(2)[1]).toMatchObject({ payload: { variables: { from: r + 1 } } });
    expect(resumed.counts).toEqual(Array.from({ length: resumed.counts.length }, (_, i) => i + 1));
    expect(restarted.counts.slice(0, s)).toEqual(Array.from({ length: s }, (_, i) => i + 1));
    expect(restarted.counts.slice(s, s + 3)).toEqual([1, 2, 3]);
    // One lost connection (graphql-ws's 1001 "Going away"), then only refused attempts.
    expect(errors[0]).toBeInstanceOf(ConnectionClosedError);
    expect(errors[0]).toMatchObject({ code: 1001 });
    expect(errors.slice(1).every((e) => (e as ConnectionClosedError).code === 1006)).toBe(true);
    expect(gql.events.filter((e) => e.kind === 'close' && e.detail !== 1001)).toEqual([]);
  });

  test('unsubscribing sends complete for that id, once; the other subscription goes on', async () => {
    const gql = await server();
    const { subscribe } = client(gql.url);
    const one = watch(subscribe<{ count: number }>('subscription { count }'));
    const two = watch(subscribe<{ count: number }>('subscription { count }'));
    await waitFor(() => one.counts.length >= 2 && two.counts.length >= 2, 'two counts each');

    one.subscription.unsubscribe();
    await waitFor(() => gql.events.some((e) => e.kind === 'complete' && e.detail === '1'), 'graphql-ws to complete operation 1');
    const n = two.counts.length;
    await waitFor(() => two.counts.length >= n + 3, 'three more counts of the other');
    expect(brief(gql.received(1))).toEqual(['connection_init', 'subscribe:1', 'subscribe:2', 'complete:1']);

    two.subscription.unsubscribe();
    await waitFor(() => brief(gql.received(1)).length === 5, 'the second complete');
    expect(brief(gql.received(1))).toEqual(['connection_init', 'subscribe:1', 'subscribe:2', 'complete:1', 'complete:2']);
  });

  test('two subscribers of one subscription share one subscribe; the last to leave sends the complete', async () => {
    const gql = await server();
    const { subscribe } = client(gql.url);
    const count$ = subscribe<{ count: number }>('subscription { count }');
    const a = watch(count$);
    await waitFor(() => a.counts.length >= 1, 'a first count');
    const b = watch(count$);
    await waitFor(() => b.counts.length >= 2, 'two counts for the second subscriber');
    a.subscription.unsubscribe();
    const n = b.counts.length;
    await waitFor(() => b.counts.length >= n + 2, 'more counts after the first left');
    b.subscription.unsubscribe();
    await waitFor(() => gql.received(1).length === 3, 'the complete');
    expect(brief(gql.received(1))).toEqual(['connection_init', 'subscribe:1', 'complete:1']);
  });

  test('a subscription the server completes completes, and the client sends no complete back', async () => {
    const gql = await server();
    const { subscribe, query } = client(gql.url);
    const three = watch(subscribe<{ count: number }>('subscription { count(to: 3) }'));
    const holder = watch(subscribe<{ count: number }>('subscription { count }')); // keeps the connection
    await waitFor(() => three.completed, 'the server to complete it');
    expect(three.counts).toEqual([1, 2, 3]);
    await query('{ hello }'); // anything sent after would have been received before its answer
    expect(brief(gql.received(1))).toEqual(['connection_init', 'subscribe:1', 'subscribe:2', 'subscribe:3']);
    expect(holder.error).toBeUndefined();
  });

  test('an error message errors the subscription with the GraphQL errors, and no complete is sent', async () => {
    const gql = await server();
    const { subscribe, query } = client(gql.url);
    const holder = watch(subscribe<{ count: number }>('subscription { count }'));
    const bad = watch(subscribe<{ count: number }>('subscription { nope }'));
    await waitFor(() => bad.error !== undefined, 'the error');
    expect(bad.error).toBeInstanceOf(GraphqlError);
    expect((bad.error as GraphqlError).errors.map((e) => e.message)).toEqual(['Cannot query field "nope" on type "Subscription".']);
    await query('{ hello }');
    expect(brief(gql.received(1))).toEqual(['connection_init', 'subscribe:1', 'subscribe:2', 'subscribe:3']);
    expect(holder.error).toBeUndefined();
  });

  test('a query is a request matched by id: answered by its next, on the connection the subscriptions share', async () => {
    const gql = await server();
    const { subscribe, query, socket } = client(gql.url);
    const live = watch(subscribe<{ count: number }>('subscription { count }'));
    await waitFor(() => live.counts.length >= 1, 'a count');
    await expect(query('{ add(a: 2, b: 3) }')).resolves.toEqual({ data: { add: 5 } });
    await expect(query('query ($name: String) { hello(name: $name) }', { name: 'rxwire' })).resolves.toEqual({ data: { hello: 'Hello, rxwire!' } });
    await expect(query('{ nope }')).rejects.toThrow(new GraphqlError([{ message: 'Cannot query field "nope" on type "Query".' }]));
    expect(brief(gql.received(1))).toEqual(['connection_init', 'subscribe:1', 'subscribe:2', 'subscribe:3', 'subscribe:4']);
    expect(gql.events.filter((e) => e.kind === 'connect')).toHaveLength(1);
    expect(socket.state.status).toBe('open');
  });

  test('a query alone opens the connection, does the handshake, and lets the connection go', async () => {
    const gql = await server({ ackDelayMs: 30 });
    const { query, socket } = client(gql.url);
    await expect(query('{ hello }')).resolves.toEqual({ data: { hello: 'Hello, world!' } });
    await waitFor(() => socket.state.status === 'idle', 'the socket to go idle', 10_000); // after the default 5 s linger
    expect(brief(gql.received(1))).toEqual(['connection_init', 'subscribe:1']);
  });

  test('a query with no answer in time rejects with RequestTimeoutError', async () => {
    const gql = await server({ ackDelayMs: 300 });
    const { query } = client(gql.url);
    await expect(query('{ hello }', undefined, { timeout: 100 })).rejects.toBeInstanceOf(RequestTimeoutError);
  });

  test("the server's pings are answered with pongs, during the handshake and after it", async () => {
    const gql = await server({ pingBeforeAck: true, ackDelayMs: 30, pingEveryMs: 40 });
    const { subscribe } = client(gql.url);
    const live = watch(subscribe<{ count: number }>('subscription { count }'));
    await waitFor(() => gql.events.filter((e) => e.kind === 'pong').length >= 3, 'three pongs');
    const order = gql.events.filter((e) => e.connection === 1).map((e) => (e.kind === 'in' ? `>${(e.detail as ClientMessage).type}` : e.kind));
    // The ping sent on connection_init, before the ack, is answered by the handshake...
    expect(order.slice(0, 4)).toEqual(['>connection_init', 'connect', '>pong', 'pong']);
    // ...and the ack comes before the subscribe (graphql-ws would close with 4401 otherwise).
    expect(order.filter((kind) => kind === '>subscribe')).toHaveLength(1);
    expect(order.filter((kind) => kind === 'close')).toEqual([]);
    expect(live.error).toBeUndefined();
  });

  test('runs by itself: `npx tsx examples/graphql-subscriptions.ts` prints a session and exits', async () => {
    const { code, out } = await runExample('examples/graphql-subscriptions.ts');
    expect({ code, out }).toMatchObject({ code: 0 });
    expect(out).toContain('query { hello }: {"data":{"hello":"Hello, world!"}}');
    expect(out).toContain('server: restarting');
    expect(out).toContain('query { add(a: 2, b: 3) }: {"data":{"add":5}}');
    expect(out).toMatch(/done: resumed saw 1,2,3,4,5,6(,\d+)*; restarted saw 1,2,3(,\d+)*,1,2,3/);
  }, 20_000);
});
