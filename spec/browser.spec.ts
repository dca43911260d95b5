import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { WebSocket } from 'ws';
import { listen } from '../lib/server/index.js';
import { createFaultProxy } from '../lib/testing/index.js';
import { onDispose, testScope } from './helpers/dispose.js';
import { gatedServer as gated, type GatedServer } from './helpers/gated-server.js';
import type { Harness } from './helpers/browser-page.js';
import { waitFor } from './helpers/wait.js';

// The browser build (lib/browser.ts, native WebSocket) in real Chromium against a real `ws`
// server: a page bundled with esbuild connects, exchanges text and binary messages, rides out a
// server restart with its buffer, drops by timeout, runs the application-level heartbeat, and
// closes once. Chromium is Debian's (`.ci/run` installs it), driven by playwright-core.

const root = join(__dirname, '..');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The page's global, set by spec/helpers/browser-page.ts. Only `page.evaluate` callbacks use it. */
declare const harness: Harness;

// ---------------------------------------------------------------------------------------------
// The bundle. Needs no browser: it runs everywhere.

/** Strings only `ws` (or Node's side of a WebSocket) contains: its GUID, its handshake, its env. */
const WS_INTERNALS = ['258EAFA5-E914-47DA-95CA-C5AB0DC85B11', 'Sec-WebSocket-Key', 'permessage-deflate', 'WS_NO_BUFFER_UTIL', 'Invalid WebSocket frame'];

/** Bundles `entry` as an app's bundler would for a browser; `external` stays an import. */
function bundle(entry: string, format: 'esm' | 'iife', external: string[]): { code: string; inputs: string[]; imports: string[] } {
  const result = buildSync({
    entryPoints: [join(root, entry)],
    bundle: true,
    minify: true,
    format,
    platform: 'browser',
    target: 'es2022',
    external,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0] as { imports: Array<{ path: string }> };
  return {
    code: result.outputFiles[0]?.text ?? '',
    inputs: Object.keys(result.metafile.inputs),
    imports: [...new Set(output.imports.map(({ path }) => path))],
  };
}

describe('browser build: bundle', () => {
  it('bundles for platform browser with no ws code and no Node built-ins', () => {
    const { code, inputs, imports } = bundle('lib/browser.ts', 'esm', ['rxjs']);
    expect(imports).toEqual(['rxjs']);
    expect(inputs.filter((input) => /node_modules\/ws\//.test(input) || /(^|\/)lib\/(client\/connect|transports\/ws(-errors|-options)?)\.ts$/.test(input))).toEqual([]);
    expect(code).not.toMatch(/\brequire\s*\(/);
    expect(code).not.toMatch(/["']ws["']/);
    expect(code).not.toMatch(/["']node:/);
    expect(code).not.toMatch(/(?<![\w$])Buffer\b/);
    expect(WS_INTERNALS.filter((text) => code.includes(text))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Chromium.

const haveChromium = existsSync(CHROMIUM);
const inCI = process.env.CI === 'true';
const missing = `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), as .ci/run does`;

if (!haveChromium && inCI) {
  describe('browser build in Chromium', () => {
    it('has a browser to run in (CI=true)', () => {
      throw new Error(missing);
    });
  });
} else if (!haveChromium) {
  console.warn(`browser.spec.ts: skipping the Chromium tests: ${missing}`);
  describe.skip(`browser build in Chromium (skipped: ${missing})`, () => {
    it('needs Chromium', () => undefined);
  });
} else {
  describe('browser build in Chromium', chromiumTests);
}

/** The suite's gated server, closed in `afterEach`. */
const gatedServer = (): Promise<GatedServer> => gated(testScope);

function whenClosed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function chromiumTests(): void {
  let browser: Browser;
  let pageServer: Server;
  let pageUrl: string;
  let context: BrowserContext | undefined;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    const { code, inputs } = bundle('spec/helpers/browser-page.ts', 'iife', []);
    expect(inputs.filter((input) => input.includes('node_modules/ws/'))).toEqual([]);
    const html = '<!doctype html><meta charset="utf-8"><title>rxwire</title><script src="/page.js"></script>';
    pageServer = createServer((request, response) => {
      const script = request.url === '/page.js';
      response.writeHead(200, { 'content-type': script ? 'text/javascript' : 'text/html' }).end(script ? code : html);
    });
    await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${(pageServer.address() as { port: number }).port}/`;
    // launch() gives the browser a fresh temporary profile (--user-data-dir) and removes it on close.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  });

  afterAll(async () => {
    await browser?.close();
    if (pageServer) {
      pageServer.closeAllConnections();
      await new Promise((resolve) => pageServer.close(resolve));
    }
  });

  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(pageUrl);
    await page.waitForFunction(() => typeof harness === 'object');
  });

  afterEach(async () => {
    const tripped = await page.evaluate(() => harness.tripped);
    await context?.close(); // closes the page and its sockets, before the servers are disposed
    context = undefined;
    expect([...pageErrors, ...tripped]).toEqual([]);
  });

  it('connects with the native WebSocket, receives text JSON and binary as Uint8Array, and sends both', async () => {
    const server = await gatedServer();
    await page.evaluate((url) => {
      harness.open(url, {
        serialize: (message) => (message instanceof Uint8Array ? message : JSON.stringify(message)),
      });
    }, server.url);
    const peer = await server.server.waitForConnection();
    peer.send(JSON.stringify({ hello: 'browser' }));
    peer.send(Buffer.from([1, 2, 255]), { binary: true });
    await page.waitForFunction(() => harness.recording?.messages.length === 2);

    const result = await page.evaluate(async () => {
      const socket = harness.socket!;
      await socket.send({ type: 'hi' });
      await socket.send(new Uint8Array([9, 8, 7]));
      return { recording: harness.recording, hasNativeWebSocket: typeof globalThis.WebSocket === 'function' };
    });
    expect(result.hasNativeWebSocket).toBe(true);
    expect(result.recording?.messages).toEqual([{ hello: 'browser' }, { bytes: [1, 2, 255] }]);
    expect(result.recording?.states).toEqual(['idle', 'connecting', 'open']);
    await waitFor(() => server.received.length === 2, 'the server to receive 2 messages');
    expect(server.received).toEqual(['{"type":"hi"}', Buffer.from([9, 8, 7])]);
    expect(server.binary).toEqual([false, true]);
  });

  it('a resumable session in Chromium: reliable sends resolve at the receipt and cross a reset link once each, in order', async () => {
    const server = listen<{ n: number }, { n: number }>({ logger: false, session: true });
    onDispose(() => server.close({ timeout: 500 }));
    await server.ready;
    const received: number[] = [];
    let sessions = 0;
    server.connections$.subscribe((peer) => {
      sessions++;
      peer.messages$.subscribe(({ n }) => {
        received.push(n);
        void peer.send({ n }).catch(() => undefined);
      });
    });
    const proxy = await createFaultProxy({ target: server.url });
    onDispose(() => proxy.close());
    await page.evaluate((url) => {
      harness.open(url, { session: true, reconnect: { initialDelay: 10, maxDelay: 50, jitter: false } });
    }, proxy.url);
    await page.waitForFunction(() => harness.socket?.state.status === 'open');
    await page.evaluate(() => {
      for (let n = 0; n < 50; n++) harness.send({ n });
    });
    await waitFor(() => received.length >= 20, 'the first messages');
    proxy.reset('rst'); // mid-stream
    await page.evaluate(() => {
      for (let n = 50; n < 100; n++) harness.send({ n });
    });
    const { outcomes, messages, session } = await page.evaluate(async () => ({
      outcomes: await Promise.all(harness.outcomes),
      messages: await new Promise<unknown[]>((resolve) => {
        const poll = setInterval(() => {
          if ((harness.recording?.messages.length ?? 0) < 100) return;
          clearInterval(poll);
          resolve(harness.recording?.messages ?? []);
        }, 5);
      }),
      session: harness.socket?.state.session,
    }));
    expect(outcomes).toEqual(Array.from({ length: 100 }, () => 'written')); // every receipt resolved
    expect(received).toEqual(Array.from({ length: 100 }, (_, n) => n)); // once each, in order
    expect(messages).toEqual(Array.from({ length: 100 }, (_, n) => ({ n })));
    expect(session).toMatchObject({ resumed: true });
    expect(sessions).toBe(1);
    expect(proxy.links().length).toBeGreaterThanOrEqual(2); // the link was reset: a second connection
  });

  it('survives a server restart: messages sent meanwhile are buffered and delivered in order', async () => {
    const server = await gatedServer();
    await page.evaluate((url) => {
      harness.open(url, { reconnect: { initialDelay: 10, maxDelay: 50, jitter: false } });
    }, server.url);
    await server.server.waitForConnection();
    await page.waitForFunction(() => harness.socket?.state.status === 'open');

    server.stop();
    await page.waitForFunction(() => harness.socket?.state.status === 'reconnecting');
    const buffered = await page.evaluate(() => {
      for (let n = 1; n <= 5; n++) harness.send({ n });
      return harness.socket!.buffered;
    });
    expect(buffered).toBe(5);

    server.restart();
    const peer = await server.server.waitForConnection();
    await waitFor(() => server.received.length === 5, 'the 5 buffered messages', 10000);
    expect(server.received.map((text) => JSON.parse(text as string))).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
    peer.send(JSON.stringify({ after: 'restart' }));
    await page.waitForFunction(() => harness.recording?.messages.length === 1);

    const { outcomes, recording } = await page.evaluate(async () => ({
      outcomes: await Promise.all(harness.outcomes),
      recording: harness.recording!,
    }));
    expect(outcomes).toEqual(Array(5).fill('written'));
    expect(recording.messages).toEqual([{ after: 'restart' }]);
    expect(recording.states.slice(0, 3)).toEqual(['idle', 'connecting', 'open']);
    expect(recording.states.at(-1)).toBe('open');
    expect(recording.states).toContain('reconnecting');
    expect(recording.errors.length).toBeGreaterThan(0);
    expect(recording.errors.filter(({ instanceOf }) => instanceOf !== 'ConnectionClosedError')).toEqual([]);
    expect(recording.completions.messages).toBe(0);
  });

  it('drops by timeout as in Node: MessageDroppedError with reason timeout, reported on dropped$', async () => {
    const server = await gatedServer();
    server.stop(); // every attempt is refused: messages can only wait
    const started = Date.now();
    await page.evaluate((url) => {
      harness.open(url, { reconnect: { initialDelay: 10, maxDelay: 50, jitter: false }, buffer: { timeout: 150 } });
      harness.send({ n: 1 }, 50);
      harness.send({ n: 2 }); // buffer.timeout
    }, server.url);
    const { outcomes, dropped } = await page.evaluate(async () => ({
      outcomes: await Promise.all(harness.outcomes),
      dropped: harness.recording!.dropped,
    }));
    const elapsed = Date.now() - started;
    expect(outcomes).toEqual(Array(2).fill('MessageDroppedError (instanceof MessageDroppedError): timeout'));
    expect(dropped).toEqual([
      { message: { n: 1 }, reason: 'timeout' },
      { message: { n: 2 }, reason: 'timeout' },
    ]);
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(server.received).toEqual([]);
  });

  it('application-level heartbeat: pongs (isPong) keep it open and skip messages$; a silent server is detected', async () => {
    const server = await gatedServer();
    let answering = true;
    let pings = 0;
    server.server.received$.subscribe(({ client, data }) => {
      if ((JSON.parse(data as string) as { type: string }).type !== 'ping') return;
      pings++;
      if (answering) client.send(JSON.stringify({ type: 'pong' }));
    });
    await page.evaluate((url) => {
      harness.open(url, {
        reconnect: { initialDelay: 10, maxDelay: 50, jitter: false },
        heartbeat: {
          interval: 100,
          timeout: 400, // room for a loaded machine: a late pong must not end a healthy connection here
          message: () => ({ type: 'ping' }),
          isPong: (message) => (message as { type?: string }).type === 'pong',
        },
      });
    }, server.url);
    const peer = await server.server.waitForConnection();
    await waitFor(() => pings >= 4, '4 answered pings');
    peer.send(JSON.stringify({ type: 'data' }));
    await page.waitForFunction(() => harness.recording?.messages.length === 1);
    const alive = await page.evaluate(() => ({ status: harness.socket!.state.status, recording: harness.recording! }));
    expect(alive.status).toBe('open');
    expect(alive.recording.messages).toEqual([{ type: 'data' }]); // no pong reached messages$
    expect(alive.recording.errors).toEqual([]);

    answering = false; // the server still holds the connection, but stops answering
    const closed = whenClosed(peer);
    await page.waitForFunction(() => harness.recording!.errors.length > 0, undefined, { timeout: 5000 });
    const errors = await page.evaluate(() => harness.recording!.errors);
    expect(errors[0]).toMatchObject({ name: 'HeartbeatTimeoutError', instanceOf: 'HeartbeatTimeoutError' });
    await closed; // the browser abandoned the silent connection (no terminate() there: it closes)
    await server.server.waitForConnection(); // and reconnected
    await page.waitForFunction(() => harness.socket!.state.status === 'open');
  });

  it("back online: a socket waiting out a 20 s backoff dials at once ('online'); with pageEvents: false it waits", async () => {
    const server = await gatedServer();
    const slow = { initialDelay: 20_000, maxDelay: 20_000, jitter: false };
    await page.evaluate(
      ([url, reconnect]) => {
        harness.open(url, { reconnect });
        (globalThis as { other?: unknown }).other = harness.rxwire.connect(url, { reconnect, pageEvents: false });
        (globalThis as unknown as { other: { messages$: { subscribe(): void } } }).other.messages$.subscribe();
      },
      [server.url, slow] as const,
    );
    await waitFor(() => server.clients.size === 2, 'both sockets connected');
    await page.waitForFunction(() => harness.socket?.state.status === 'open');
    server.stop();
    await page.waitForFunction(() => {
      const other = (globalThis as unknown as { other: { state: { status: string } } }).other;
      return harness.socket?.state.status === 'reconnecting' && other.state.status === 'reconnecting';
    });
    server.restart();
    const started = Date.now();
    await context!.setOffline(true);
    await context!.setOffline(false);
    await page.waitForFunction(() => harness.socket?.state.status === 'open', undefined, { timeout: 5000 });
    expect(Date.now() - started).toBeLessThan(5000);
    const states = await page.evaluate(() => harness.recording!.states);
    expect(states).toEqual(['idle', 'connecting', 'open', 'reconnecting', 'connecting', 'open']);
    // The other socket ignored the page: it still waits for its backoff (nothing to await: absence).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const other = await page.evaluate(() => (globalThis as unknown as { other: { state: { status: string; attempt: number } } }).other.state);
    expect(other).toEqual(expect.objectContaining({ status: 'reconnecting', attempt: 2 }));
    await page.evaluate(() => (globalThis as unknown as { other: { close(): Promise<void> } }).other.close());
  });

  it('visible again: an open socket is probed at once, so a dead server is found within heartbeat.timeout, not interval', async () => {
    const server = await gatedServer();
    let answering = true;
    let pings = 0;
    server.server.received$.subscribe(({ client, data }) => {
      if ((JSON.parse(data as string) as { type: string }).type !== 'ping') return;
      pings++;
      if (answering) client.send(JSON.stringify({ type: 'pong' }));
    });
    await page.evaluate((url) => {
      harness.open(url, {
        reconnect: { initialDelay: 10, maxDelay: 50, jitter: false },
        heartbeat: {
          interval: 60_000,
          timeout: 300,
          message: () => ({ type: 'ping' }),
          isPong: (message) => (message as { type?: string }).type === 'pong',
        },
      });
    }, server.url);
    const peer = await server.server.waitForConnection();
    await page.waitForFunction(() => harness.socket?.state.status === 'open');
    expect(pings).toBe(0); // the first ping is a minute away

    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await waitFor(() => pings === 1, 'the probe ping');
    await page.waitForFunction(() => harness.socket!.metrics.rtt !== undefined); // its pong arrived
    expect(await page.evaluate(() => harness.socket!.state.status)).toBe('open');

    answering = false; // the server holds the connection but no longer answers
    const closed = whenClosed(peer);
    const started = Date.now();
    await page.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })));
    await page.waitForFunction(() => harness.recording!.errors.length > 0, undefined, { timeout: 5000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(pings).toBe(2);
    expect(await page.evaluate(() => harness.recording!.errors)).toEqual([expect.objectContaining({ name: 'HeartbeatTimeoutError' })]);
    await closed;
    await server.server.waitForConnection(); // and it reconnected
  });

  it('close() completes every stream once, returns the same promise, and checks the code as browsers do', async () => {
    const server = await gatedServer();
    await page.evaluate((url) => void harness.open(url), server.url);
    const peer = await server.server.waitForConnection();
    await page.waitForFunction(() => harness.socket?.state.status === 'open');
    const closedAtServer = whenClosed(peer);

    const result = await page.evaluate(async () => {
      const socket = harness.socket!;
      let rangeError = '';
      try {
        void socket.close(1001);
      } catch (error) {
        rangeError = (error as Error).name;
      }
      const first = socket.close(4000, 'bye');
      const second = socket.close();
      await first;
      const sent = await socket.send({ late: true }).then(
        () => 'written',
        (error: { reason?: string }) => error.reason,
      );
      return { rangeError, same: first === second, sent, recording: harness.recording! };
    });
    expect(result.rangeError).toBe('RangeError');
    expect(result.same).toBe(true);
    expect(result.sent).toBe('closed');
    expect(result.recording.completions).toEqual({ messages: 1, states: 1, errors: 1, dropped: 1 });
    expect(result.recording.states).toEqual(['idle', 'connecting', 'open', 'closing', 'closed']);
    expect(result.recording.errors).toEqual([]);
    expect(await closedAtServer).toEqual({ code: 4000, reason: 'bye' });
  });
}
