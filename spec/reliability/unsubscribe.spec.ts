import '../helpers/tripwires';
import { connect, type RxSocket } from '../../lib/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { instrumentedWebSocket, now, prng, SEED, sized } from './kit';
import { sleep, waitFor } from '../helpers/wait';
import { Scope } from '../helpers/scope';
import { gatedServer } from '../helpers/gated-server';

// The last subscriber leaves while the handshake is in flight, or during the backoff wait. Many
// clients, each leaving at a random moment (seeded): afterwards no socket may be open at the
// server (nor at TCP level, at the proxy) and no client may make another attempt.

const CLIENTS = sized(60, 600);
/** The 101 response is held this long in the proxy, so the handshake lasts at least that. */
const HANDSHAKE_DELAY = 40;
const BACKOFF = 200;
const QUIET_MS = 2 * BACKOFF;

interface Client {
  readonly socket: RxSocket<unknown, unknown>;
  attempts: number;
  attemptsAtLeave: number;
  statusAtLeave: string;
}

function spawnClient(url: string, scope: Scope, options: Parameters<typeof connect>[1]): Client {
  const client = { attempts: 0, attemptsAtLeave: NaN, statusAtLeave: '' } as Client & { socket: RxSocket<unknown, unknown> };
  // A URL function is called at the start of every attempt: it counts them.
  client.socket = connect(() => (client.attempts++, url), { lazyCloseTimeout: 0, ...options });
  scope.defer(() => client.socket.close());
  return client;
}

describe('unsubscribe while connecting', () => {
  test.each([
    ['the request', 'up'],
    ['the 101 response', 'down'],
  ] as const)(`during the handshake, %s held ${HANDSHAKE_DELAY} ms (${CLIENTS} clients, random moments): 0 sockets at the server, 0 attempts afterwards`, async (_held, direction) => {
    const scope = new Scope();
    onDispose(() => scope.dispose());
    const gated = await gatedServer(scope);
    gated.gate.set(direction, { kind: 'delay', ms: HANDSHAKE_DELAY });
    const ws = instrumentedWebSocket();
    const random = prng(SEED);
    let serverSaw = 0;
    void (async () => {
      for (;;) if (await gated.server.waitForConnection().catch(() => undefined)) serverSaw++; else return;
    })();

    // A quarter leave synchronously (before the URL is even resolved), a quarter on the next turn
    // (TCP connecting), the rest at a random moment of the handshake.
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const client = spawnClient(gated.url, scope, { heartbeat: false, WebSocket: ws.WebSocket, reconnect: { initialDelay: 5, maxDelay: 5 } });
        const subscription = client.socket.messages$.subscribe({ error: () => undefined });
        if (i % 4 === 1) await new Promise((resolve) => setImmediate(resolve));
        else if (i % 4 >= 2) await sleep(random() * (HANDSHAKE_DELAY + 10));
        client.statusAtLeave = client.socket.state.status;
        client.attemptsAtLeave = client.attempts;
        subscription.unsubscribe();
        return client;
      }),
    );
    const left = now();
    await waitFor(() => gated.server.clients.size === 0, 'no socket at the server', 3000);
    await waitFor(() => gated.gate.links().every((l) => !l.open), 'no TCP connection at the proxy', 3000);
    const settledMs = now() - left;
    await sleep(QUIET_MS);

    const inHandshake = clients.filter((c) => c.statusAtLeave === 'connecting').length;
    const laterAttempts = clients.reduce((sum, c) => sum + (c.attempts - c.attemptsAtLeave), 0);
    figure(
      `unsubscribe during the handshake (${direction} held ${HANDSHAKE_DELAY} ms), ${CLIENTS} clients`,
      `${inHandshake} left while connecting; the server accepted ${serverSaw} upgrades; ${gated.server.clients.size} sockets left ${Math.round(settledMs)} ms later; ${laterAttempts} attempts after`,
      `0 sockets at the server or the proxy; 0 attempts in the ${QUIET_MS} ms after; every client 'idle'`,
    );
    expect(inHandshake).toBeGreaterThanOrEqual(CLIENTS / 2);
    expect(gated.server.clients.size).toBe(0);
    expect(gated.gate.links().filter((l) => l.open)).toEqual([]);
    expect(ws.record.instances.filter((i) => i.readyState !== 3)).toEqual([]);
    expect(laterAttempts).toBe(0);
    expect(clients.map((c) => c.socket.state.status).filter((s) => s !== 'idle')).toEqual([]);
  }, 60_000);

  test(`during the backoff wait (${CLIENTS} clients, random moments): 0 sockets at the server, 0 attempts afterwards`, async () => {
    const scope = new Scope();
    onDispose(() => scope.dispose());
    const gated = await gatedServer(scope);
    gated.stop('keep'); // refused: every attempt fails and waits BACKOFF ms before the next
    const random = prng(SEED + 1);

    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const client = spawnClient(gated.url, scope, { heartbeat: false, reconnect: { initialDelay: BACKOFF, maxDelay: BACKOFF, jitter: false } });
        const subscription = client.socket.messages$.subscribe({ error: () => undefined });
        await waitFor(() => client.socket.state.status === 'reconnecting', 'reconnecting');
        await sleep(random() * (BACKOFF / 2));
        client.statusAtLeave = client.socket.state.status;
        client.attemptsAtLeave = client.attempts;
        subscription.unsubscribe();
        return client;
      }),
    );
    await sleep(QUIET_MS);
    const waiting = clients.filter((c) => c.statusAtLeave === 'reconnecting' && c.attemptsAtLeave === 1).length;
    const laterAttempts = clients.reduce((sum, c) => sum + (c.attempts - c.attemptsAtLeave), 0);
    figure(
      `unsubscribe during the backoff wait, ${CLIENTS} clients`,
      `${waiting} left during the first wait; ${gated.server.clients.size} sockets at the server; ${laterAttempts} attempts in the ${QUIET_MS} ms after`,
      "0 sockets, 0 attempts after; every client 'idle'",
    );
    expect(waiting).toBeGreaterThanOrEqual(CLIENTS / 2); // the rest left a later wait: also fine
    expect(gated.server.clients.size).toBe(0);
    expect(laterAttempts).toBe(0);
    expect(clients.map((c) => c.socket.state.status).filter((s) => s !== 'idle')).toEqual([]);
  }, 60_000);
});
