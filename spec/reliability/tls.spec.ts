import '../helpers/tripwires';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { connect, ConnectionClosedError } from '../../lib/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { now, round } from './kit';
import { hasOpenssl, nodeCryptoCert, opensslCert, type SelfSigned } from './tls-cert';
import { sleep, waitFor } from '../helpers/wait';

// wss:// to a server with a self-signed certificate for `localhost`, made at test time (openssl
// when installed, node:crypto too). Untrusted by default; trusted with wsOptions.ca; a hostname
// mismatch is refused. Certificate errors are fatal: with `initialDelay: 0`, a retried TLS error
// would be a hot loop, so the server must see exactly one TCP connection per client.

interface TlsServer {
  readonly url: string;
  /** TCP connections accepted (before TLS), and TLS handshakes that failed. */
  readonly counts: { tcp: number; tlsErrors: number };
}

async function tlsServer(cert: SelfSigned): Promise<TlsServer> {
  const counts = { tcp: 0, tlsErrors: 0 };
  const https: Server = createServer({ key: cert.key, cert: cert.cert });
  https.on('connection', () => counts.tcp++);
  https.on('tlsClientError', () => counts.tlsErrors++);
  const wss = new WebSocketServer({ server: https });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  onDispose(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    https.closeAllConnections();
    await new Promise<void>((resolve) => https.close(() => resolve()));
    // libuv releases the listening handle in the loop's close phase, after the callback: let it,
    // so that a handle count taken by the next test does not see it.
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  });
  return { url: `wss://127.0.0.1:${(https.address() as AddressInfo).port}/`, counts };
}

const sources: Array<[string, () => SelfSigned]> = [
  ...(hasOpenssl() ? [['openssl', opensslCert] as [string, () => SelfSigned]] : []),
  ['node:crypto', nodeCryptoCert],
];

describe.each(sources)('TLS with a self-signed certificate made by %s', (source, make) => {
  const cert = make();
  const QUIET_MS = 300;

  /** Connects with `wsOptions`; resolves when messages$ errors, or with 'open' once open. */
  async function attempt(url: string, wsOptions: Record<string, unknown> | undefined): Promise<{ outcome: unknown; errors: Error[]; ms: number }> {
    const socket = connect<unknown, unknown>(url, { heartbeat: false, reconnect: { initialDelay: 0, maxDelay: 0, jitter: false }, ...(wsOptions && { wsOptions }) });
    onDispose(() => socket.close());
    const errors: Error[] = [];
    socket.errors$.subscribe((error) => errors.push(error));
    let outcome: unknown;
    const start = now();
    socket.messages$.subscribe({ error: (error: unknown) => (outcome = error) });
    socket.state$.subscribe(({ status }) => status === 'open' && (outcome = 'open'));
    await waitFor(() => outcome, 'the TLS outcome', 5000);
    return { outcome, errors, ms: now() - start };
  }

  test('rejected by default (untrusted): fatal at once, one TCP connection, no retry loop', async () => {
    const server = await tlsServer(cert);
    const { outcome, errors, ms } = await attempt(server.url, undefined);
    await sleep(QUIET_MS);
    figure(
      `${source} certificate, default trust`,
      `fatal after ${round(ms)} ms: ${(outcome as ConnectionClosedError).code} (${String(((outcome as ConnectionClosedError).cause as { code?: string }).code)}); ${server.counts.tcp} TCP connection in ${QUIET_MS} ms more`,
      'ConnectionClosedError with the certificate error as cause; 0 errors$; 1 TCP connection',
    );
    expect(outcome).toBeInstanceOf(ConnectionClosedError);
    expect((outcome as ConnectionClosedError).cause).toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(errors).toEqual([]);
    expect(server.counts.tcp).toBe(1);
  });

  test('accepted with wsOptions.ca (and servername localhost): open, and an echo comes back', async () => {
    const server = await tlsServer(cert);
    const socket = connect<{ n: number }, { n: number }>(server.url, { heartbeat: false, wsOptions: { ca: cert.cert, servername: 'localhost' } });
    onDispose(() => socket.close());
    const start = now();
    const echo = new Promise<{ n: number }>((resolve, reject) => socket.messages$.subscribe({ next: resolve, error: reject }));
    await socket.send({ n: 42 });
    expect(await echo).toEqual({ n: 42 });
    figure(`${source} certificate, wsOptions.ca`, `open and echoed in ${round(now() - start)} ms`, "'open', the echo arrives, 0 TLS errors");
    expect(socket.state.status).toBe('open');
    expect(server.counts.tlsErrors).toBe(0);
  });

  test.each([
    ['127.0.0.1 (no servername)', {}],
    ['servername example.com', { servername: 'example.com' }],
  ])('a hostname mismatch is rejected even with wsOptions.ca: %s', async (what, extra) => {
    const server = await tlsServer(cert);
    const { outcome, errors } = await attempt(server.url, { ca: cert.cert, ...extra });
    await sleep(QUIET_MS);
    figure(
      `${source} certificate, ca given, hostname mismatch (${what})`,
      `fatal: ${String(((outcome as ConnectionClosedError).cause as { code?: string }).code)}; ${server.counts.tcp} TCP connection`,
      'fatal ConnectionClosedError (ERR_TLS_CERT_ALTNAME_INVALID); 0 errors$; 1 TCP connection',
    );
    expect(outcome).toBeInstanceOf(ConnectionClosedError);
    expect((outcome as ConnectionClosedError).cause).toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(errors).toEqual([]);
    expect(server.counts.tcp).toBe(1);
  });
});
