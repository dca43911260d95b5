import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { onDispose } from './dispose';

/**
 * A real `redis-server` of the test's own, on a free loopback port, without persistence
 * (`--save '' --appendonly no`). `stop()` kills it (SIGKILL: an outage, not a shutdown) and
 * `start()` runs it again on the same port; the dispose registry stops it after the test.
 */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** Starts it (again) on `port`; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Kills it; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, as the system picks one. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts a `redis-server` (the binary must be on PATH; `.ci/run` installs it). */
export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
  };
  const start = async (): Promise<void> => {
    if (child) throw new Error('redis-server is already running');
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server not ready within 5 s:\n${out}`)), 5000);
      proc.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('error', (error) => (clearTimeout(timer), reject(error)));
      proc.once('exit', (code) => (clearTimeout(timer), reject(new Error(`redis-server exited (${code}):\n${out}`))));
    });
    proc.stdout.resume(); // keep draining its log
  };
  await start();
  onDispose(stop);
  return { port, url: `redis://127.0.0.1:${port}`, start, stop };
}

/**
 * Resolves once Redis counts `count` subscriptions of each of `channels` (PUBSUB NUMSUB, asked
 * every few ms through a connection of its own): SUBSCRIBE has no reply a broker's user sees.
 */
export async function subscribed(url: string, channels: readonly string[], count = 1, within = 5000): Promise<void> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const deadline = Date.now() + within;
    for (;;) {
      const counts = await client.pubSubNumSub([...channels]);
      if (channels.every((channel) => (counts[channel] ?? 0) >= count)) return;
      if (Date.now() > deadline) throw new Error(`Timed out after ${within} ms waiting for ${count} subscriptions of ${channels.join(', ')}: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    client.destroy();
  }
}
