import fc from 'fast-check';
import { firstValueFrom, filter, toArray } from 'rxjs';
import { createRawPeer, type RawConnection, type RawPeer, type RawPeerOptions } from '../../lib/testing/raw-peer.js';
import { closePayload, frame, FrameReader } from '../../lib/testing/frame.js';
import { acceptKey } from '../../lib/testing/handshake.js';
import { DisposedError } from '../../lib/testing/errors.js';
import { probe, terminate, within, type Probe } from './helpers.js';
import type { ClientOptions } from 'ws';
import { waitFor } from '../helpers/wait';
import { track } from '../helpers/dispose';

async function connected(
  options?: RawPeerOptions,
  clientOptions?: ClientOptions,
  protocols?: string[],
): Promise<{ peer: RawPeer; conn: RawConnection; client: Probe }> {
  const peer = track(await createRawPeer(options), (p) => p.close());
  const client = track(probe(peer.url, protocols, clientOptions), terminate);
  const conn = await within(peer.waitForConnection(), 10_000, 'raw connection');
  await within(client.opened, 10_000, 'client open');
  return { peer, conn, client };
}

/** The code of the close frame the client answered with. */
async function closeCodeSent(conn: RawConnection): Promise<number> {
  const close = await within(firstValueFrom(conn.frames$.pipe(filter((f) => f.opcode === 0x8))), 10_000, 'close frame');
  return close.payload.readUInt16BE(0);
}

describe('frame', () => {
  test('encodes the RFC 6455 sample frames byte for byte', () => {
    expect(frame({ opcode: 0x1, payload: 'Hello' }).toString('hex')).toBe('810548656c6c6f');
    const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
    expect(frame({ opcode: 0x1, payload: 'Hello', mask: key }).toString('hex')).toBe('818537fa213d7f9f4d5158');
    expect(frame({ opcode: 0x1, payload: 'Hel', fin: false }).toString('hex')).toBe('010348656c');
    expect(frame({ opcode: 0x9, payload: 'Hello' }).subarray(0, 2).toString('hex')).toBe('8905');
  });

  test('uses the 16- and 64-bit length forms and honours a declared length', () => {
    expect(frame({ opcode: 0x2, payload: Buffer.alloc(256) }).subarray(0, 4).toString('hex')).toBe('827e0100');
    const big = frame({ opcode: 0x2, payload: Buffer.alloc(65536) });
    expect(big.subarray(0, 10).toString('hex')).toBe('827f0000000000010000');
    const lying = frame({ opcode: 0x2, payload: 'abc', length: 10, rsv1: true, rsv2: true, rsv3: true });
    expect(lying.toString('hex')).toBe('f20a616263');
    expect(closePayload(1000, 'ok').toString('hex')).toBe('03e86f6b');
    expect(closePayload()).toHaveLength(0);
  });

  test('rejects an opcode outside 0..15 and a bad mask key', () => {
    expect(() => frame({ opcode: 16 })).toThrow('Expected `opcode` to be an integer from 0 to 15, got `16` (number)');
    expect(() => frame({ opcode: 1, mask: Buffer.alloc(3) })).toThrow('Expected `mask` to be a boolean or a 4-byte key');
  });

  test('FrameReader reads back any masked frame, whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70_000 }),
        fc.integer({ min: 0, max: 15 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 5000 }),
        (payload, opcode, fin, chunk) => {
          const bytes = Buffer.concat([frame({ opcode, fin, payload, mask: true }), frame({ opcode: 0x9 })]);
          const reader = new FrameReader();
          const frames = [];
          for (let i = 0; i < bytes.length; i += chunk) frames.push(...reader.push(bytes.subarray(i, i + chunk)));
          expect(frames).toHaveLength(2);
          expect(frames[0]).toMatchObject({ opcode, fin, masked: true });
          expect(frames[0]?.payload.equals(Buffer.from(payload))).toBe(true);
          expect(frames[1]).toMatchObject({ opcode: 0x9, masked: false });
        },
      ),
      { numRuns: 60 },
    );
  });

  test('acceptKey matches the RFC sample', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('createRawPeer', () => {
  test('completes the handshake, picks a subprotocol and delivers hand-made frames', async () => {
    const { conn, client } = await connected({ protocol: (offered) => offered[1] }, undefined, ['chat', 'v2']);
    expect(client.ws.protocol).toBe('v2');
    expect(conn.request.path).toBe('/');
    expect(conn.request.headers['sec-websocket-protocol']).toBe('chat,v2');
    conn.sendFrame({ opcode: 0x1, payload: 'hel', fin: false });
    conn.sendFrame({ opcode: 0x0, payload: 'lo' });
    conn.send(frame({ opcode: 0x2, payload: Buffer.from([1, 2]) }));
    client.ws.send('from client');
    const text = await within(firstValueFrom(conn.frames$.pipe(filter((f) => f.opcode === 0x1))), 10_000, 'text');
    expect(text).toMatchObject({ fin: true, masked: true });
    expect(text.payload.toString()).toBe('from client');
    await waitFor(() => client.messages.length === 2, 'two messages');
    expect(client.messages.map((m) => [m.data.toString('hex'), m.isBinary])).toEqual([
      [Buffer.from('hello').toString('hex'), false],
      ['0102', true],
    ]);
  });

  test.each([
    ['a masked frame', 1002, 'WS_ERR_UNEXPECTED_MASK', { opcode: 0x1, payload: 'x', mask: true }],
    ['a reserved opcode', 1002, 'WS_ERR_INVALID_OPCODE', { opcode: 0x3, payload: 'x' }],
    ['invalid UTF-8 in a text frame', 1007, 'WS_ERR_INVALID_UTF8', { opcode: 0x1, payload: Buffer.from([0xc3, 0x28]) }],
    ['RSV1 without an extension', 1002, 'WS_ERR_UNEXPECTED_RSV_1', { opcode: 0x1, payload: 'x', rsv1: true }],
    ['a fragmented ping', 1002, 'WS_ERR_EXPECTED_FIN', { opcode: 0x9, payload: 'x', fin: false }],
  ] as const)('the ws client rejects %s with close code %i (%s)', async (_name, code, errorCode, bad) => {
    const { conn, client } = await connected();
    conn.sendFrame(bad);
    expect(await closeCodeSent(conn)).toBe(code);
    expect(client.errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual([errorCode]);
  });

  test('a declared length above maxPayload makes the client close with 1009', async () => {
    const { conn, client } = await connected(undefined, { maxPayload: 1000 });
    conn.sendFrame({ opcode: 0x2, payload: 'tiny', length: 2000 });
    expect(await closeCodeSent(conn)).toBe(1009);
    expect(client.errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH']);
  });

  test('sendClose reaches the client, whose close frame echoes the code', async () => {
    const { conn, client } = await connected();
    conn.sendClose(4000, 'bye');
    expect(await closeCodeSent(conn)).toBe(4000);
    conn.end();
    expect(await within(client.closed, 10_000, 'client close')).toEqual({ code: 4000, reason: 'bye' });
    const all = await within(firstValueFrom(conn.frames$.pipe(toArray())), 10_000, 'frames complete');
    expect(all.map((f) => f.opcode)).toEqual([0x8]);
  });

  test('a subprotocol the client did not offer fails its handshake', async () => {
    const peer = track(await createRawPeer({ protocol: 'other' }), (p) => p.close());
    const client = track(probe(peer.url, ['chat']), terminate);
    await within(client.closed, 10_000, 'client close');
    expect(client.errors.map((e) => e.message)).toEqual(['Server sent an invalid subprotocol']);
  });

  test('handshake: false never answers, so the client times out', async () => {
    const peer = track(await createRawPeer({ handshake: false }), (p) => p.close());
    const client = track(probe(peer.url, undefined, { handshakeTimeout: 300 }), terminate);
    expect((await within(client.closed, 10_000, 'client close')).code).toBe(1006);
    expect(client.errors.map((e) => e.message)).toEqual(['Opening handshake has timed out']);
    expect(peer.connections).toHaveLength(0);
  });

  test('destroy() gives the client a 1006; close() rejects pending waits', async () => {
    const { peer, conn, client } = await connected();
    conn.destroy();
    expect((await within(client.closed, 10_000, 'client close')).code).toBe(1006);
    await within(conn.closed, 10_000, 'conn closed');
    const pending = expect(peer.waitForConnection()).rejects.toThrow(DisposedError);
    await peer.close();
    await pending;
  });
});
