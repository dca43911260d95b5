import { createFaultProxy } from '../../lib/testing/fault-proxy.js';
import { createRawPeer } from '../../lib/testing/raw-peer.js';
import { createTestServer } from '../../lib/testing/test-server.js';
import { probe, terminate, within } from './helpers.js';
import { waitFor, sleep } from '../helpers/wait';

function count(kind: string): number {
  return process.getActiveResourcesInfo().filter((k) => k === kind).length;
}

function handles(): { sockets: number; servers: number; timers: number } {
  return { sockets: count('TCPSocketWrap'), servers: count('TCPServerWrap'), timers: count('Timeout') };
}

/**
 * Jest may run this file in a worker where an earlier file's sockets are still closing: wait for
 * the counts to hold still for 100 ms (at most 3 s) so the baseline is the worker's own.
 */
async function settledHandles(): Promise<ReturnType<typeof handles>> {
  const deadline = Date.now() + 3000;
  let last = JSON.stringify(handles());
  let steady = 0;
  while (steady < 5 && Date.now() < deadline) {
    await sleep(20);
    const now = JSON.stringify(handles());
    steady = now === last ? steady + 1 : 0;
    last = now;
  }
  return handles();
}

test('after close/dispose no socket, server or timer handle of the kit remains', async () => {
  const before = await settledHandles();
  const server = await createTestServer({ echo: true });
  const peer = await createRawPeer();
  const proxy = await createFaultProxy({ target: server.url });
  const viaProxy = probe(proxy.url);
  const direct = probe(peer.url);
  await within(Promise.all([viaProxy.opened, direct.opened]), 10_000, 'both open');
  const conn = await peer.waitForConnection();
  conn.sendFrame({ opcode: 0x1, payload: 'hi' });
  // Leave every kind of timer armed: delayed and throttled chunks, a stalled link, slices.
  proxy.set('down', { kind: 'delay', ms: 60_000 });
  viaProxy.ws.send('held in the delay queue');
  await waitFor(() => (proxy.links()[0]?.bytesUp ?? 0) > 0 && direct.messages.length === 1, 'traffic');
  proxy.set('up', { kind: 'slice', bytes: 1, gapMs: 60_000 });
  viaProxy.ws.send('sliced');
  proxy.accept('hang');
  const hung = probe(proxy.url);
  await waitFor(() => proxy.links().length === 2, 'hung link');
  const during = handles();
  // 3 clients, 2 accepted by the proxy + 1 upstream, 1 on the test server, 1 on the raw peer
  expect(during.sockets).toBeGreaterThanOrEqual(before.sockets + 8);
  expect(during.servers).toBe(before.servers + 3);
  expect(during.timers).toBeGreaterThan(before.timers);

  await Promise.all([terminate(viaProxy), terminate(direct), terminate(hung)]);
  await Promise.all([proxy.close(), peer.close(), server.close()]);
  const after = await settledHandles();
  expect({ sockets: after.sockets, servers: after.servers }).toEqual({ sockets: before.sockets, servers: before.servers });
  // Jest keeps timers of its own that may end meanwhile, so timers may only go down, never up.
  expect(after.timers).toBeLessThanOrEqual(before.timers);
});
