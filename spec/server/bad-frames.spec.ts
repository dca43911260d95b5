import fc from 'fast-check';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { listen, type Peer, type PeerClose, type Server } from '../../lib/server/index.js';
import { createRawClient, type FrameOptions } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// Bad input from clients: hand-made frames through a raw client. Each ends its own peer with the
// documented code (1002 protocol error, 1007 invalid UTF-8, 1009 too big) and a report, never a
// crash, while a well-behaved client on the same server carries on.

type Msg = Record<string, unknown>;

async function serve(): Promise<Server<Msg, Msg>> {
  const server = listen<Msg, Msg>({ logger: false, maxPayload: 1024, heartbeat: false });
  onDispose(() => server.close({ timeout: 500 }));
  await server.ready;
  server.connections$.subscribe((peer) => peer.messages$.subscribe({ next: (m) => void peer.send({ echo: m }), error: () => undefined }));
  return server;
}

/** Connects a raw client, writes `frames`, and returns how its peer ended. */
async function sendBad(server: Server<Msg, Msg>, frames: FrameOptions[]): Promise<PeerClose> {
  const accepted = new Promise<Peer<Msg, Msg>>((resolve) => {
    const subscription = server.connections$.subscribe((peer) => {
      subscription.unsubscribe();
      resolve(peer);
    });
  });
  const client = await createRawClient(server.url);
  onDispose(() => client.destroy());
  const peer = await accepted;
  for (const options of frames) client.sendFrame(options);
  return peer.closed;
}

describe('bad frames from a client', () => {
  test.each<[string, number, FrameOptions[]]>([
    ['an unmasked frame', 1002, [{ opcode: 0x1, payload: '{}', mask: false }]],
    ['a reserved opcode', 1002, [{ opcode: 0x3, payload: 'x' }]],
    ['RSV1 without an extension', 1002, [{ opcode: 0x1, payload: '{}', rsv1: true }]],
    ['a fragmented ping', 1002, [{ opcode: 0x9, payload: 'p', fin: false }]],
    ['a continuation without a start', 1002, [{ opcode: 0x0, payload: 'x' }]],
    ['invalid UTF-8 in a text frame', 1007, [{ opcode: 0x1, payload: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) }]],
    ['a message over maxPayload', 1009, [{ opcode: 0x1, payload: 'x'.repeat(2000) }]],
  ])('%s ends its peer with %i', async (_what, code, frames) => {
    const server = await serve();
    const close = await sendBad(server, frames);
    expect(close.code).toBe(code);
    expect(close.wasClean).toBe(false);
    await waitFor(() => server.peers.size === 0, 'the peer gone');
  });

  test('text that is not JSON is a DecodeError on errors$; the peer goes on', async () => {
    const server = await serve();
    const accepted = new Promise<Peer<Msg, Msg>>((resolve) => server.connections$.subscribe(resolve));
    const client = await createRawClient(server.url);
    onDispose(() => client.destroy());
    const peer = await accepted;
    const errors: string[] = [];
    peer.errors$.subscribe((e) => errors.push(e.name));
    client.sendFrame({ opcode: 0x1, payload: 'not json' });
    client.sendFrame({ opcode: 0x1, payload: '{"ok":1}' });
    await waitFor(() => client.frames.length === 1, 'the echo of the good message');
    expect(errors).toEqual(['DecodeError']);
    expect(JSON.parse(client.frames[0]?.payload.toString() ?? '')).toEqual({ echo: { ok: 1 } });
  });

  test('a client that sends its close frame but never closes its side is cut off at closeTimeout', async () => {
    const server = listen<Msg, Msg>({ logger: false, heartbeat: false, closeTimeout: 300 });
    onDispose(() => server.close({ timeout: 500 }));
    await server.ready;
    const accepted = new Promise<Peer<Msg, Msg>>((resolve) => server.connections$.subscribe(resolve));
    const client = await createRawClient(server.url, { halfOpen: true });
    onDispose(() => client.destroy());
    const peer = await accepted;
    client.sendClose(1000, 'bye');
    const started = Date.now();
    // The server answers with its close frame and ends its side; the client never ends its own.
    await waitFor(() => client.frames.some((frame) => frame.opcode === 0x8), "the server's close frame");
    const close = await peer.closed;
    const elapsed = Date.now() - started;
    expect(close).toEqual({ code: 1000, reason: 'bye', wasClean: true, initiator: 'client' });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
    expect(server.peers.size).toBe(0);
  });

  test('fuzzed frames (fast-check, 60 runs, seed 15): every peer ends with 1000–1011 and the server serves a good client throughout', async () => {
    const server = await serve();
    const good = new WebSocket(server.url);
    onDispose(() => good.terminate());
    await once(good, 'open');
    const echoes: string[] = [];
    good.on('message', (data) => echoes.push(String(data)));
    const frameArb = fc.record({
      opcode: fc.integer({ min: 0, max: 15 }),
      fin: fc.boolean(),
      rsv1: fc.boolean(),
      mask: fc.boolean(),
      payload: fc.oneof(fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)), fc.constant(Buffer.from('{"a":1}'))),
    });
    const codes = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 4 }), async (frames) => {
        const accepted = new Promise<Peer<Msg, Msg>>((resolve) => {
          const subscription = server.connections$.subscribe((peer) => {
            subscription.unsubscribe();
            resolve(peer);
          });
        });
        const client = await createRawClient(server.url);
        const peer = await accepted;
        for (const options of frames) client.sendFrame(options);
        client.sendClose(1000, 'end of case'); // a valid end, for the cases whose frames were fine
        let timer: ReturnType<typeof setTimeout> | undefined;
        const close = await Promise.race([peer.closed, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 3000)))]);
        clearTimeout(timer); // else it holds the process for up to 3 s after the last case
        client.destroy();
        expect(close).toBeDefined();
        codes.add((close as PeerClose).code);
        expect((close as PeerClose).code).toBeGreaterThanOrEqual(1000);
        expect((close as PeerClose).code).toBeLessThanOrEqual(1011);
      }),
      { numRuns: 60, seed: 15 },
    );
    good.send('{"still":"here"}');
    await waitFor(() => echoes.length === 1, 'the good client answered');
    expect(JSON.parse(echoes[0] as string)).toEqual({ echo: { still: 'here' } });
    expect(codes.has(1002)).toBe(true); // the generator does reach protocol errors
    await waitFor(() => server.peers.size === 1, 'only the good client left');
  }, 60_000);
});
