import '../helpers/tripwires';
import fc from 'fast-check';
import { connect, ConnectionClosedError, isRetriableClose, type RxSocket } from '../../lib/index.js';
import { closePayload, createRawPeer, createTestServer, type RawConnection } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { instrumentedWebSocket, now, round, SEED, sized, type WsRecord } from './kit';
import { sleep, waitFor } from '../helpers/wait';
import { Scope } from '../helpers/scope';

// Every close code a server may send — 1000…1015, 3000, and all of 4000–4999 — through a real
// socket: retried or not exactly as docs/reconnect.md's table says. And the client side: close()
// accepts exactly 1000 and 3000–4999, and ws.close() is never called with a code ws rejects
// (a subclass of ws records every call and whether ws threw).

/** What the docs table says, as the codes arrive on the wire. */
function expectation(code: number): { retried: boolean; code: number } {
  // 1004 and 1015 must not be sent: ws rejects them as a protocol error, which is fatal (1002).
  if (code === 1004 || code === 1015) return { retried: false, code: 1002 };
  const retried = [1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014].includes(code) || (code >= 3000 && code <= 4999);
  return { retried, code };
}

const SERVER_CODES = [
  ...Array.from({ length: 16 }, (_, i) => 1000 + i),
  3000,
  ...Array.from({ length: 1000 }, (_, i) => 4000 + i),
];

function sendCode(conn: RawConnection, code: number): void {
  if (code === 1006) conn.destroy(); // no close frame at all
  else if (code === 1005) conn.sendFrame({ opcode: 0x8 }); // a close frame without a code
  else conn.sendFrame({ opcode: 0x8, payload: closePayload(code, `code ${code}`) });
}

function wsCloseThrows(records: WsRecord[]): string[] {
  return records.flatMap((r) => r.closeCalls.filter((c) => c.threw !== undefined).map((c) => `close(${c.code}): ${c.threw}`));
}

describe('close codes', () => {
  test(`from the server, ${SERVER_CODES.length} codes (1000…1015, 3000, 4000–4999): retried or fatal exactly per the table`, async () => {
    const scope = new Scope();
    onDispose(() => scope.dispose());
    const peer = scope.add(await createRawPeer(), (p) => p.close());
    const records: WsRecord[] = [];
    const mismatches: string[] = [];
    let retried = 0;
    let fatal = 0;
    let clients = 0;
    const start = now();

    let socket: RxSocket<unknown, unknown> | undefined;
    let errors: Error[] = [];
    let ended: unknown;
    const fresh = (): void => {
      const ws = instrumentedWebSocket();
      records.push(ws.record);
      clients++;
      errors = [];
      ended = undefined;
      const s = connect(peer.url, { heartbeat: false, WebSocket: ws.WebSocket, reconnect: { initialDelay: 0, maxDelay: 0, jitter: false } });
      s.errors$.subscribe((error) => errors.push(error));
      s.messages$.subscribe({ error: (error: unknown) => (ended = error) });
      scope.defer(() => s.close());
      socket = s;
    };

    for (const code of SERVER_CODES) {
      if (!socket || ended !== undefined) fresh();
      const seen = errors.length;
      const conn = await peer.waitForConnection();
      sendCode(conn, code);
      const outcome = await waitFor(
        () => (errors.length > seen ? 'retried' : ended !== undefined ? 'fatal' : undefined),
        `the outcome of ${code}`,
        3000,
      );
      const want = expectation(code);
      const got = outcome === 'retried' ? (errors[seen] as ConnectionClosedError) : (ended as ConnectionClosedError);
      if (outcome !== (want.retried ? 'retried' : 'fatal') || !(got instanceof ConnectionClosedError) || got.code !== want.code) {
        mismatches.push(`${code}: ${outcome} with ${String(got)} (expected ${want.retried ? 'retried' : 'fatal'} ${want.code})`);
      }
      // The table as a function agrees with the docs table.
      if (code !== 1004 && code !== 1015 && isRetriableClose({ code, reason: '', wasClean: true }) !== want.retried) mismatches.push(`isRetriableClose(${code})`);
      if (outcome === 'retried') retried++;
      else {
        fatal++;
        // Fatal means no reconnect: the peer sees no further connection from this client.
        const connections = peer.connections.length;
        await sleep(30);
        if (peer.connections.length !== connections) mismatches.push(`${code}: reconnected after a fatal close`);
      }
    }
    await socket?.close();
    const ms = now() - start;

    figure(
      `${SERVER_CODES.length} close codes from the server`,
      `${retried} retried, ${fatal} fatal, ${mismatches.length} differ from the table; ${clients} clients, ${round(ms)} ms; ${wsCloseThrows(records).length} ws.close() throws`,
      'exactly the docs/reconnect.md table (1004/1015 are protocol errors: fatal 1002); ws.close() never throws',
    );
    expect(mismatches).toEqual([]);
    expect(retried).toBe(8 + 1 + 1000); // 1000, 1001, 1005, 1006, 1011–1014; 3000; 4000–4999
    expect(fatal).toBe(SERVER_CODES.length - retried);
    expect(wsCloseThrows(records)).toEqual([]);
  }, 120_000);

  const RUNS = sized(200, 2000);
  test(`close(code) from the client, ${RUNS} fast-check codes (seed ${SEED}): the codes ws may send (1000–1003, 1007–1014, 3000–4999) are sent as given, anything else throws a RangeError and closes nothing`, async () => {
    const scope = new Scope();
    onDispose(() => scope.dispose());
    const server = scope.add(await createTestServer(), (s) => s.close());
    const records: WsRecord[] = [];
    let sent = 0;
    let refused = 0;
    const codeArb = fc.oneof(
      fc.integer({ min: -1, max: 70_000 }),
      fc.integer({ min: 999, max: 1016 }),
      fc.integer({ min: 2990, max: 3010 }),
      fc.integer({ min: 4990, max: 5010 }),
      fc.constantFrom(Number.NaN, Infinity, -Infinity, 1000.5, 3000.1, -0),
    );
    await fc.assert(
      fc.asyncProperty(codeArb, async (code) => {
        const ws = instrumentedWebSocket();
        records.push(ws.record);
        const socket = connect(server.url, { heartbeat: false, WebSocket: ws.WebSocket });
        socket.messages$.subscribe({ error: () => undefined });
        await waitFor(() => socket.state.status === 'open', 'open');
        const client = await server.waitForConnection();
        const closed = new Promise<number>((resolve) => client.once('close', (c) => resolve(c)));
        // What ws sends (RFC 6455 §7.4): 1000–1003, 1007–1014, 3000–4999.
        const valid = Number.isInteger(code) && ((code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999));
        if (valid) {
          await socket.close(code);
          expect(await closed).toBe(code);
          // The first call is rxwire's; ws itself calls close() again when the server's reply arrives.
          expect(ws.record.closeCalls[0]).toEqual({ code, threw: undefined });
          expect(ws.record.closeCalls.every((c) => c.code === code && c.threw === undefined)).toBe(true);
          sent++;
        } else {
          expect(() => socket.close(code)).toThrow(RangeError);
          expect(ws.record.closeCalls).toEqual([]);
          expect(socket.state.status).toBe('open');
          refused++;
          await socket.close();
          expect(await closed).toBe(1000);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    figure(
      `close(code) from the client, ${RUNS} fast-check codes, seed ${SEED}`,
      `${sent} sent as given, ${refused} refused with a RangeError; ${wsCloseThrows(records).length} ws.close() throws`,
      'valid ⇔ 1000–1003, 1007–1014 or an integer in 3000–4999 (ws); refused codes close nothing; ws.close() never throws',
    );
    expect(wsCloseThrows(records)).toEqual([]);
    expect(sent).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 120_000);
});

