import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { listen, type Server } from '../../lib/server/index.js';
import { createFaultProxy } from '../../lib/testing/index.js';
import { ensureBuilt, root } from '../helpers/build.js';
import { onDispose } from '../helpers/dispose.js';
import { refusedPort } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';

// The `rxwire` command as a user runs it: a child process (the built bin) with pipes, against real
// servers; its output, its exit codes, Ctrl-C.

const bin = join(root, 'dist', 'cjs', 'cli', 'main.js');

beforeAll(() => ensureBuilt(bin), 130_000);

interface Run {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function rxwire(...args: string[]): Run {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += String(chunk)));
  child.stderr.on('data', (chunk) => (err += String(chunk)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const exit = once(child, 'exit').then(([code]) => {
    clearTimeout(timer);
    return code as number | null;
  });
  onDispose(() => child.kill('SIGKILL'));
  return { child, out: () => out, err: () => err, exit };
}

async function echoServer(): Promise<Server<string, string>> {
  const server = listen<string, string>({ logger: false, serialize: (m) => m, deserialize: (d) => String(d) });
  onDispose(() => server.close({ timeout: 500 }));
  await server.ready;
  server.connections$.subscribe((peer) => peer.messages$.subscribe((m) => void peer.send(m)));
  return server;
}

describe('rxwire (usage)', () => {
  test('--help prints the usage and exits 0; an unknown option exits 2 with the message and the help', async () => {
    const help = rxwire('--help');
    expect(await help.exit).toBe(0);
    expect(help.out()).toContain('Usage:');
    const bad = rxwire('connect', 'ws://127.0.0.1:1', '--nope');
    expect(await bad.exit).toBe(2);
    expect(bad.err()).toMatch(/^rxwire: .*--nope/);
    expect(bad.err()).toContain('Exit codes:');
    const url = rxwire('connect', 'ftp://example.com');
    expect(await url.exit).toBe(2);
    expect(url.err()).toContain('ftp:');
  });
});

describe('rxwire connect', () => {
  test('stdin lines go out as messages, messages come back as lines; --expect 2 exits 0', async () => {
    const server = await echoServer();
    const run = rxwire('connect', server.url, '--expect', '2');
    run.child.stdin.write('hello\nworld\n');
    expect(await run.exit).toBe(0);
    expect(run.out()).toBe('hello\nworld\n');
  });

  test('--json skips a bad line (reported) and --jsonl wraps each message with its time', async () => {
    const server = await echoServer();
    const run = rxwire('connect', server.url, '--json', '--jsonl', '--expect', '2');
    run.child.stdin.write('{"x":1}\nnot json\n{"y":2}\n');
    expect(await run.exit).toBe(0);
    const lines = run.out().trim().split('\n').map((l) => JSON.parse(l) as { t: string; data: unknown });
    expect(lines.map((l) => l.data)).toEqual([{ x: 1 }, { y: 2 }]);
    expect(lines.every((l) => !Number.isNaN(Date.parse(l.t)))).toBe(true);
    expect(run.err()).toContain('line 2 is not JSON, skipped');
  });

  test('at the end of stdin, what waits is written and the connection closes with 1000: exit 0', async () => {
    const server = listen<string, string>({ logger: false, deserialize: (d) => String(d) });
    onDispose(() => server.close({ timeout: 500 }));
    await server.ready;
    const got: string[] = [];
    const closed = new Promise<number>((resolveClose) =>
      server.connections$.subscribe((peer) => {
        peer.messages$.subscribe((m) => got.push(m));
        void peer.closed.then((c) => resolveClose(c.code));
      }),
    );
    const run = rxwire('connect', server.url);
    run.child.stdin.end('one\ntwo\nthree\n');
    expect(await run.exit).toBe(0);
    expect(await closed).toBe(1000);
    expect(got).toEqual(['one', 'two', 'three']);
  });

  test('--timeout: the expected messages do not come: exit 4', async () => {
    const server = await echoServer();
    const run = rxwire('connect', server.url, '--expect', '3', '--timeout', '300');
    expect(await run.exit).toBe(4);
    expect(run.err()).toContain('--timeout');
  });

  test('a server that closes with 1008 ends it for good: exit 1, the code printed', async () => {
    const server = listen({ logger: false });
    onDispose(() => server.close({ timeout: 500 }));
    await server.ready;
    server.connections$.subscribe((peer) => void peer.close(1008, 'policy'));
    const run = rxwire('connect', server.url);
    expect(await run.exit).toBe(1);
    expect(run.err()).toContain('closed by the server: 1008 policy');
  });

  test('nobody listening, --max-attempts 2: retries exhausted, exit 3', async () => {
    const port = await refusedPort();
    const run = rxwire('connect', `ws://127.0.0.1:${port}`, '--max-attempts', '2', '--backoff', '10,20');
    expect(await run.exit).toBe(3);
    expect(run.err()).toContain('Gave up after 2 attempts');
  });

  test('SIGINT closes the connection cleanly (the server sees 1000) and exits 130; --events reports states', async () => {
    const server = await echoServer();
    const closed = new Promise<number>((resolveClose) => server.connections$.subscribe((peer) => void peer.closed.then((c) => resolveClose(c.code))));
    const run = rxwire('connect', server.url, '--events');
    await waitFor(() => run.err().includes('"status":"open"'), 'the open event');
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(await closed).toBe(1000);
    const events = run.err().trim().split('\n').map((l) => JSON.parse(l) as { event: string; status?: string });
    expect(events.filter((e) => e.event === 'state').map((e) => e.status)).toEqual(['idle', 'connecting', 'open', 'closing', 'closed']);
  });
});

describe('rxwire listen', () => {
  test('--echo: prints each message with its peer id as JSON lines, echoes it; SIGINT closes the server: exit 130', async () => {
    const run = rxwire('listen', '--port', '0', '--echo');
    await waitFor(() => run.err().includes('"listening"'), 'the listening event');
    const { url } = JSON.parse(run.err().split('\n')[0] as string) as { url: string };
    const ws = new WebSocket(url);
    onDispose(() => ws.terminate());
    await once(ws, 'open');
    ws.send('ping?');
    const [echo] = (await once(ws, 'message')) as [Buffer];
    expect(String(echo)).toBe('ping?');
    await waitFor(() => run.out().includes('"data":"ping?"'), 'the printed message');
    const closedAtClient = once(ws, 'close');
    const interrupted = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(Date.now() - interrupted).toBeLessThan(2000); // no timer of the shutdown outlives it (its timeout is 5 s)
    const [code] = (await closedAtClient) as [number];
    expect(code).toBe(1001);
    const lines = run.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.data === 'ping?')).toMatchObject({ peer: '1' });
    expect(run.err()).toContain('"event":"closed"');
  });
});

describe('rxwire --session', () => {
  test('connect --session to listen --session: every line arrives once, in order, across a reset link; exit 0 after the receipts', async () => {
    const server = rxwire('listen', '--port', '0', '--session');
    await waitFor(() => server.err().includes('"listening"'), 'the listening event');
    const { url } = JSON.parse(server.err().split('\n')[0] as string) as { url: string };
    const proxy = await createFaultProxy({ target: url });
    onDispose(() => proxy.close());
    const client = rxwire('connect', proxy.url, '--session', '--backoff', '10,50');
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i}`);
    client.child.stdin.write(lines.slice(0, 100).join('\n') + '\n');
    await waitFor(() => server.out().includes('"data":"line 99"'), 'the first half');
    proxy.reset('rst');
    client.child.stdin.end(lines.slice(100).join('\n') + '\n');
    expect(await client.exit).toBe(0);
    const printed = server.out().trim().split('\n').map((l) => JSON.parse(l) as { data?: string; session?: string; event?: string });
    expect(printed.filter((l) => l.data !== undefined).map((l) => l.data)).toEqual(lines); // once each, in order
    const opens = printed.filter((l) => l.event === 'open');
    expect(opens).toHaveLength(1); // the session was resumed: the same peer
    expect(opens[0]?.session).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.err()).not.toContain('dropped');
    server.child.kill('SIGINT');
    expect(await server.exit).toBe(130);
  });
});

describe('rxwire connect on a terminal', () => {
  const haveScript = existsSync('/usr/bin/script');
  (haveScript ? test : test.skip)('a live status line on stderr, updated in place (under a pseudo-terminal, `script`)', async () => {
    const server = await echoServer();
    server.connections$.subscribe((peer) => void peer.send('hello'));
    const command = `${process.execPath} ${bin} connect ${server.url} --expect 1`;
    const run = spawn('/usr/bin/script', ['-qfec', command, '/dev/null'], { cwd: root, stdio: 'pipe' });
    onDispose(() => run.kill('SIGKILL'));
    let out = '';
    run.stdout.on('data', (chunk) => (out += String(chunk)));
    const [code] = (await once(run, 'exit')) as [number];
    expect(code).toBe(0);
    expect(out).toContain('\r\x1b[Kopen #1'); // the status line, redrawn in place
    expect(out).toMatch(/received 1/);
    expect(out).toContain('hello');
  });
});

describe('rxwire connect through a server restart, and listen --broadcast', () => {
  test('lines typed while the server is away wait in the buffer and are delivered once it is back, in order', async () => {
    const server = await echoServer();
    const proxy = await createFaultProxy({ target: server.url });
    onDispose(() => proxy.close());
    const run = rxwire('connect', proxy.url, '--backoff', '20,50', '--expect', '3', '--events');
    run.child.stdin.write('a\n');
    await waitFor(() => run.out() === 'a\n', 'the first echo');
    proxy.accept('refuse');
    proxy.reset('rst');
    await waitFor(() => run.err().includes('"status":"reconnecting"'), 'the loss seen');
    run.child.stdin.write('b\nc\n');
    proxy.accept('pass');
    expect(await run.exit).toBe(0);
    expect(run.out()).toBe('a\nb\nc\n');
  });

  test('--broadcast: each stdin line goes to every client', async () => {
    const run = rxwire('listen', '--port', '0', '--broadcast');
    await waitFor(() => run.err().includes('"listening"'), 'the listening event');
    const { url } = JSON.parse(run.err().split('\n')[0] as string) as { url: string };
    const clients = [new WebSocket(url), new WebSocket(url)];
    const got: string[][] = [[], []];
    clients.forEach((ws, i) => {
      onDispose(() => ws.terminate());
      ws.on('message', (data) => got[i]?.push(String(data)));
    });
    await Promise.all(clients.map((ws) => once(ws, 'open')));
    await waitFor(() => (run.out().match(/"event":"open"/g) ?? []).length === 2, 'both opens printed');
    run.child.stdin.write('news\n');
    await waitFor(() => got.every((g) => g.length === 1), 'both clients got the line');
    expect(got).toEqual([['news'], ['news']]);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
  });
});
