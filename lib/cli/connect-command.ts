import { createInterface } from 'node:readline';
import { asyncScheduler } from 'rxjs';
import type { Readable, Writable } from 'node:stream';
import { connect } from '../client/connect.js';
import type { ConnectOptions } from '../client/options.js';
import type { ConnectionState } from '../client/rx-socket.js';
import { ConnectionClosedError, RetriesExhaustedError } from '../core/errors.js';
import { SessionLostError } from '../core/session-errors.js';
import type { ConnectArgs } from './args.js';
import { UsageError } from './args.js';

/** Where a command reads and writes, and how it learns of Ctrl-C: the process's own, or a test's. */
export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Whether stderr is a terminal: a live status line instead of nothing. */
  readonly tty: boolean;
  /** Calls `handler` on SIGINT (and SIGTERM); returns the function that stops listening. */
  onInterrupt(handler: () => void): () => void;
}

/** Exit codes, derived from how the connection ended (see `HELP`). */
export const EXIT = { ok: 0, closedByServer: 1, usage: 2, retriesExhausted: 3, timeout: 4, interrupted: 130 } as const;

/**
 * `rxwire connect <url>`: stdin lines → messages; messages → stdout lines. Resolves with the exit
 * code once everything it opened is closed.
 */
export async function runConnect(args: ConnectArgs, io: CliIo): Promise<number> {
  let received = 0;
  let sent = 0;
  let dropped = 0;
  let state: ConnectionState = { status: 'idle', attempt: 0 };
  const options: ConnectOptions<string | Uint8Array, unknown> = {
    serialize: args.json ? (message) => JSON.stringify(message) : (message) => message as string,
    deserialize: (data) => data,
    reconnect: args.reconnect && {
      ...(args.backoff && { initialDelay: args.backoff[0], maxDelay: Math.max(args.backoff[0], args.backoff[1]) }),
      ...(args.maxAttempts !== undefined && { maxAttempts: args.maxAttempts }),
    },
    ...(args.buffer && { buffer: { size: args.buffer[0], timeout: args.buffer[1] } }),
    ...(args.heartbeat && { heartbeat: { interval: args.heartbeat[0], timeout: args.heartbeat[1] } }),
    ...(Object.keys(args.headers).length > 0 && { wsOptions: { headers: { ...args.headers } } }),
    ...(args.protocols.length > 0 && { protocols: [...args.protocols] }),
    ...(args.session && { session: true }),
    lazyCloseTimeout: Infinity, // the command holds its connection until it ends
    logger: (level, message) => void (level === 'warn' && line(io.stderr, `rxwire: ${message}`)),
  };
  let socket;
  try {
    socket = connect<string | Uint8Array, unknown>(args.url, options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const status = (): void => {
    if (!io.tty) return;
    const rtt = socket.metrics.rtt;
    const close = state.lastClose ? ` (last close ${state.lastClose.code})` : '';
    io.stderr.write(`\r\x1b[K${state.status} #${state.attempt}${close} · sent ${sent} · received ${received} · dropped ${dropped} · buffered ${socket.buffered}${rtt === undefined ? '' : ` · rtt ${rtt} ms`}`);
  };
  const endStatus = (): void => void (io.tty && io.stderr.write('\n'));

  return new Promise<number>((resolve) => {
    let exitCode: number | undefined;
    const finish = (code: number): void => {
      if (exitCode !== undefined) return;
      exitCode = code;
      deadline?.unsubscribe();
      stopInterrupt();
      input.close();
      io.stdin.pause();
      void socket.close().then(() => {
        endStatus();
        resolve(code);
      });
    };
    const deadline =
      args.timeout === undefined
        ? undefined
        : asyncScheduler.schedule(() => {
            line(io.stderr, `rxwire: --timeout: ${received} of ${args.expect ?? 'the expected'} messages in ${args.timeout} ms`);
            finish(EXIT.timeout);
          }, args.timeout);
    const stopInterrupt = io.onInterrupt(() => finish(EXIT.interrupted));

    socket.state$.subscribe((next) => {
      state = next;
      if (args.events) line(io.stderr, JSON.stringify({ event: 'state', t: new Date().toISOString(), ...next }));
      status();
    });
    socket.dropped$.subscribe(({ reason }) => {
      dropped++;
      line(io.stderr, JSON.stringify({ event: 'dropped', reason }));
      status();
    });
    socket.errors$.subscribe((error) => {
      if (error instanceof SessionLostError) line(io.stderr, `rxwire: ${error.message}`);
      else if (args.events) line(io.stderr, JSON.stringify({ event: 'error', name: error.name, message: error.message }));
    });
    socket.messages$.subscribe({
      next: (data) => {
        received++;
        line(io.stdout, format(data, args));
        status();
        if (args.expect !== undefined && received >= args.expect) finish(EXIT.ok);
      },
      error: (error: unknown) => {
        if (error instanceof RetriesExhaustedError) {
          line(io.stderr, `rxwire: ${error.message}`);
          return finish(EXIT.retriesExhausted);
        }
        const close = error instanceof ConnectionClosedError ? error : undefined;
        line(io.stderr, `rxwire: closed by the server: ${close ? `${close.code}${close.reason ? ` ${close.reason}` : ''}` : String(error)}`);
        finish(EXIT.closedByServer);
      },
    });

    let lineNumber = 0;
    const input = createInterface({ input: io.stdin, crlfDelay: Infinity });
    input.on('line', (text) => {
      lineNumber++;
      let message: unknown = text;
      if (args.json) {
        try {
          message = JSON.parse(text);
        } catch (error) {
          return line(io.stderr, `rxwire: line ${lineNumber} is not JSON, skipped: ${(error as Error).message}`);
        }
      }
      socket.send(message).then(
        () => void sent++,
        () => undefined, // reported by dropped$
      );
    });
    input.on('close', () => {
      if (exitCode !== undefined || args.expect !== undefined) return; // --expect: wait for the messages
      // stdin ended: what waits is written (up to --drain-timeout), then close with 1000.
      const until = Date.now() + args.drainTimeout;
      const drain = (): void => {
        if (exitCode !== undefined) return;
        // With a session, until the server's receipts: every line acknowledged.
        if ((socket.buffered === 0 && socket.metrics.unacknowledged === 0) || Date.now() >= until) return finish(EXIT.ok);
        asyncScheduler.schedule(drain, 10);
      };
      drain();
    });
  });
}

function format(data: string | Uint8Array, args: ConnectArgs): string {
  const binary = typeof data !== 'string';
  const text = binary ? Buffer.from(data).toString(args.binary === 'hex' ? 'hex' : 'base64') : data;
  if (!args.jsonl) return text;
  const t = new Date().toISOString();
  if (binary) return JSON.stringify({ t, binary: text, encoding: args.binary ?? 'base64' });
  try {
    return JSON.stringify({ t, data: JSON.parse(text) as unknown });
  } catch {
    return JSON.stringify({ t, text });
  }
}

function line(stream: Writable, text: string): void {
  stream.write(`${text}\n`);
}
