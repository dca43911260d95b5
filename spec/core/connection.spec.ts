import { asyncScheduler } from 'rxjs';
import { WebSocket } from 'ws';
import { runConnection, type ConnectionConfig, type ConnectionRuntime, type OpenConnection } from '../../lib/core/connection.js';
import { ConnectTimeoutError, type ConnectionClosedError } from '../../lib/core/errors.js';
import { createRawPeer } from '../../lib/testing/index.js';
import { listenToWs } from '../../lib/transports/ws.js';
import { onDispose } from '../helpers/dispose.js';
import { startWsPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import '../helpers/tripwires.js';

// The per-connection runtime on its own (no dialing, no retry, no client): a `ws` socket handed to
// runConnection against real peers. It tells `connectionOpened` once, `connectionEnded` once with
// how the connection ended, and nothing after `stop()`.

interface Run {
  runtime: ConnectionRuntime;
  opened: Promise<OpenConnection>;
  ended: Promise<ConnectionClosedError>;
  events: string[];
  messages: Array<string | Uint8Array>;
  closing: Array<Promise<unknown>>;
}

function run(url: string, config: Partial<ConnectionConfig> = {}): Run {
  const socket = new WebSocket(url);
  const events: string[] = [];
  const messages: Run['messages'] = [];
  const closing: Run['closing'] = [];
  let open!: (conn: OpenConnection) => void;
  let end!: (error: ConnectionClosedError) => void;
  const opened = new Promise<OpenConnection>((resolve) => (open = resolve));
  const ended = new Promise<ConnectionClosedError>((resolve) => (end = resolve));
  const runtime = runConnection(
    socket as never,
    {
      listen: listenToWs,
      scheduler: asyncScheduler,
      closeTimeout: 1000,
      heartbeat: false,
      handshake: undefined,
      onClosing: (closed) => void closing.push(closed),
      ...config,
    },
    {
      connectionMessage: (data) => void messages.push(data),
      connectionOpened: (conn) => {
        events.push('open');
        open(conn);
      },
      connectionEnded: (error) => {
        events.push(`end ${error.code}`);
        end(error);
      },
    },
  );
  onDispose(() => socket.terminate());
  return { runtime, opened, ended, events, messages, closing };
}

describe('runConnection', () => {
  test('open once with a transport that writes; messages in order; the peer’s close ends it with its code and reason', async () => {
    const peer = await startWsPeer();
    onDispose(() => peer.stop());
    const r = run(peer.url);
    const conn = await r.opened;
    conn.transport.send('one');
    conn.transport.send(new Uint8Array([1, 2]));
    const server = await peer.connection(1);
    server.ws.send('a');
    server.ws.send('b');
    server.ws.close(4001, 'bye');
    const error = await r.ended;
    expect(error).toMatchObject({ name: 'ConnectionClosedError', code: 4001, reason: 'bye', wasClean: true });
    expect(r.messages).toEqual(['a', 'b']);
    expect(server.messages).toEqual(['one']); // text only: the binary frame is not recorded as text
    expect(r.events).toEqual(['open', 'end 4001']);
  });

  test('stop() closes gracefully with its code; nothing is reported afterwards', async () => {
    const peer = await startWsPeer();
    onDispose(() => peer.stop());
    const r = run(peer.url);
    await r.opened;
    const server = await peer.connection(1);
    r.runtime.stop(4002, 'done');
    expect(await server.closed).toEqual({ code: 4002, reason: 'done' });
    await Promise.all(r.closing);
    expect(r.closing).toHaveLength(1);
    expect(r.events).toEqual(['open']);
  });

  test('fail() terminates at once and reports the given error', async () => {
    const peer = await startWsPeer();
    onDispose(() => peer.stop());
    const r = run(peer.url);
    await r.opened;
    const server = await peer.connection(1);
    r.runtime.fail(new ConnectTimeoutError(5));
    expect(await r.ended).toMatchObject({ name: 'ConnectTimeoutError', code: 1006 });
    expect((await server.closed).code).toBe(1006); // terminated: no close frame
  });

  test('a protocol error in the peer’s frames ends it at once with the mapped code (1002), the ws error as cause', async () => {
    const peer = await createRawPeer();
    onDispose(() => peer.close());
    const r = run(peer.url);
    const conn = await peer.waitForConnection();
    await r.opened;
    conn.sendFrame({ opcode: 0x3, payload: Buffer.from('reserved opcode') });
    const error = await r.ended;
    expect(error).toMatchObject({ code: 1002, wasClean: false });
    expect((error.cause as { code?: string }).code).toMatch(/^WS_ERR_/);
    expect(r.events).toEqual(['open', 'end 1002']);
  });

  test('a peer that stops answering pings ends it with HeartbeatTimeoutError after interval + timeout', async () => {
    const peer = await startWsPeer({ wsOptions: { autoPong: false } });
    onDispose(() => peer.stop());
    const started = Date.now();
    const r = run(peer.url, { heartbeat: { interval: 50, timeout: 100, ping: undefined } });
    await r.opened;
    const error = await r.ended;
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ name: 'HeartbeatTimeoutError', code: 1006, reason: 'heartbeat timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(145);
    expect((await peer.connection(1)).pings).toBeGreaterThanOrEqual(1);
  });

  test('a handshake runs before open; its rejection ends the connection (1006, "handshake failed: …")', async () => {
    const peer = await startWsPeer();
    onDispose(() => peer.stop());
    const good = run(peer.url, { handshake: (conn) => Promise.resolve(conn.transport.send('hello')) });
    await good.opened;
    const first = await peer.connection(1);
    await waitFor(() => first.messages.length === 1, "the handshake's message");
    expect(first.messages).toEqual(['hello']);
    expect(good.events).toEqual(['open']);
    const bad = run(peer.url, { handshake: () => Promise.reject(new Error('no ack')) });
    const error = await bad.ended;
    expect(error).toMatchObject({ code: 1006, reason: 'handshake failed: no ack' });
    expect(bad.events).toEqual(['end 1006']);
  });
});
