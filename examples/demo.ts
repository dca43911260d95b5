/**
 * rxwire in 20 seconds: a local echo server that restarts every few seconds, and a client that
 * sends a message every 100 ms through it. Watch the state go open → reconnecting → open, the
 * buffer fill while the server is down, and messages dropped (never silently) when they wait
 * longer than the buffer's timeout or do not fit in it.
 *
 *   npx tsx examples/demo.ts                  (or: npm run demo)
 *   PORT=9000 npx tsx examples/demo.ts --duration 10
 *
 * Ctrl-C (or the end of `--duration`) closes the socket and the server; the process then exits
 * by itself.
 */
import { WebSocket, WebSocketServer } from 'ws';
import { connect, type ConnectionState, type DropReason } from '../lib/index.js';

const DEFAULT_PORT = 8787;
const SERVER_UP_MS = 3000; // the server runs this long...
const SERVER_DOWN_MS = 1500; // ...then is down this long, and listens again on the same port
const SEND_EVERY_MS = 100;
const BUFFER = { size: 8, timeout: 1000 }; // small, so drops show within seconds
const TTY_REFRESH_MS = 100;
const LOG_EVERY_MS = 1000;

interface DemoMessage {
  seq: number;
  sentAt: number;
}

// ---------------------------------------------------------------------------------------------
// Arguments

interface Args {
  port: number;
  /** Seconds before the demo stops by itself; undefined: until Ctrl-C. */
  duration: number | undefined;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args | string {
  let duration: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return 'help';
    const value = arg === '--duration' ? argv[++i] : arg.startsWith('--duration=') ? arg.slice('--duration='.length) : undefined;
    if (value === undefined) {
      if (arg === '--duration') return 'Expected a number of seconds after --duration';
      return `Unknown argument \`${arg}\``;
    }
    duration = Number(value);
    if (!Number.isFinite(duration) || duration <= 0) return `Expected --duration to be a number of seconds > 0, got \`${value}\``;
  }
  const port = env.PORT === undefined || env.PORT === '' ? DEFAULT_PORT : Number(env.PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `Expected PORT to be an integer in 1–65535, got \`${env.PORT}\``;
  return { port, duration };
}

const USAGE = `Usage: npx tsx examples/demo.ts [--duration <seconds>]
  Starts an echo server on 127.0.0.1:$PORT (default ${DEFAULT_PORT}) that restarts every
  ${SERVER_UP_MS / 1000} s, and an rxwire client that sends a message every ${SEND_EVERY_MS} ms.
  Stops on Ctrl-C, or after --duration seconds.`;

// ---------------------------------------------------------------------------------------------
// An echo server that goes down for SERVER_DOWN_MS every SERVER_UP_MS, on the same port.

class RestartingEchoServer {
  private wss: WebSocketServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly port: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Listens; rejects if the port cannot be had (the first time only). */
  async start(): Promise<void> {
    await this.listen();
    this.schedule(() => this.goDown(), SERVER_UP_MS);
  }

  /** Closes every client and stops listening; resolves once all is closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.close(1001, 'demo over');
  }

  private async listen(): Promise<void> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: this.port });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    wss.on('error', (error) => this.log(`server: ${error.message}`));
    wss.on('connection', (ws) => {
      ws.on('error', () => undefined); // a client that vanishes is part of the show
      ws.on('message', (data, isBinary) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: isBinary });
      });
    });
    this.wss = wss;
  }

  private goDown(): void {
    this.log(`server: restarting — down for ${SERVER_DOWN_MS / 1000} s`);
    void this.close(1012, 'service restart');
    this.schedule(() => void this.comeBack(), SERVER_DOWN_MS);
  }

  private async comeBack(): Promise<void> {
    try {
      await this.listen();
      if (this.stopped) return void (await this.close(1001, 'demo over'));
      this.log('server: listening again');
      this.schedule(() => this.goDown(), SERVER_UP_MS);
    } catch (error) {
      this.log(`server: cannot listen again (${(error as Error).message}); retrying`);
      this.schedule(() => void this.comeBack(), SERVER_DOWN_MS);
    }
  }

  private schedule(action: () => void, ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(action, ms);
  }

  private async close(code: number, reason: string): Promise<void> {
    const wss = this.wss;
    this.wss = undefined;
    if (!wss) return;
    const closed = [...wss.clients].map((ws) => {
      ws.close(code, reason);
      // A client that does not answer the close frame is not waited for long.
      const kill = setTimeout(() => ws.terminate(), 500);
      return new Promise<void>((resolve) => ws.once('close', () => (clearTimeout(kill), resolve())));
    });
    await Promise.all([...closed, new Promise<void>((resolve) => wss.close(() => resolve()))]);
  }
}

// ---------------------------------------------------------------------------------------------
// The live status: one line refreshed in place on a terminal, else a line per second.

class StatusView {
  private readonly tty = process.stdout.isTTY === true;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly line: () => string) {}

  start(): void {
    this.timer = setInterval(() => this.refresh(), this.tty ? TTY_REFRESH_MS : LOG_EVERY_MS);
    this.refresh();
  }

  /** Prints an event on a line of its own (above the status line on a terminal). */
  event(text: string): void {
    const stamp = new Date().toISOString().slice(11, 23);
    if (this.tty) process.stdout.write(`\r\x1b[2K${stamp}  ${text}\n${this.line()}`);
    else process.stdout.write(`${stamp}  ${text}\n`);
  }

  refresh(): void {
    if (this.tty) process.stdout.write(`\r\x1b[2K${this.line()}`);
    else if (this.timer !== undefined) process.stdout.write(`${this.line()}\n`);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) process.stdout.write(`\r\x1b[2K${this.line()}\n`);
    else process.stdout.write(`${this.line()}\n`);
  }
}

// ---------------------------------------------------------------------------------------------

function describeState({ status, attempt, lastClose }: ConnectionState): string {
  const parts: string[] = [];
  if (status === 'connecting' || status === 'reconnecting') parts.push(`attempt ${attempt}`);
  if (lastClose && status === 'reconnecting') parts.push(`last close ${lastClose.code}${lastClose.reason ? ` ${lastClose.reason}` : ''}`);
  return parts.length > 0 ? `${status} (${parts.join(', ')})` : status;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), process.env);
  if (args === 'help') return void console.log(USAGE);
  if (typeof args === 'string') {
    console.error(`${args}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }

  let view: StatusView | undefined;
  const log = (line: string): void => (view ? view.event(line) : console.log(line));
  const server = new RestartingEchoServer(args.port, log);
  try {
    await server.start();
  } catch (error) {
    console.error(`Cannot listen on 127.0.0.1:${args.port}: ${(error as Error).message}. Set PORT to another port.`);
    process.exitCode = 1;
    return;
  }

  const url = `ws://127.0.0.1:${args.port}`;
  console.log(`rxwire demo — echo server on ${url}, restarting every ${SERVER_UP_MS / 1000} s (down ${SERVER_DOWN_MS / 1000} s)`);
  console.log(`client: a message every ${SEND_EVERY_MS} ms; buffer: size ${BUFFER.size}, timeout ${BUFFER.timeout} ms`);
  console.log(args.duration === undefined ? 'Ctrl-C to stop.\n' : `Stopping after ${args.duration} s (or Ctrl-C).\n`);

  const socket = connect<DemoMessage, DemoMessage>(url, {
    reconnect: { initialDelay: 250, maxDelay: 1000 },
    buffer: BUFFER,
    logger: false, // the demo prints every state and error itself
  });

  let state: ConnectionState = socket.state;
  let sent = 0;
  let echoed = 0;
  let lastRoundTrip = 0;
  const dropped: Record<DropReason, number> = { timeout: 0, overflow: 0, closed: 0, error: 0, 'session-lost': 0 };

  view = new StatusView(() => {
    const rtt = lastRoundTrip > 0 ? `  rtt ${lastRoundTrip} ms` : '';
    const drops = `dropped: timeout ${dropped.timeout}, overflow ${dropped.overflow}, closed ${dropped.closed}`;
    return `${state.status.padEnd(12)}  sent ${sent}  echoed ${echoed}  waiting ${socket.buffered}  ${drops}${rtt}`;
  });

  socket.state$.subscribe((next) => {
    state = next;
    view?.event(`state: ${describeState(next)}`);
  });
  socket.messages$.subscribe({
    next: (message) => {
      echoed++;
      lastRoundTrip = Date.now() - message.sentAt;
    },
    error: (error: Error) => view?.event(`gave up: ${error.message}`),
  });
  socket.dropped$.subscribe(({ reason }) => dropped[reason]++);

  const sender = setInterval(() => {
    sent++;
    // A drop rejects the promise and is also counted on dropped$, which is what is shown.
    socket.send({ seq: sent, sentAt: Date.now() }).catch(() => undefined);
  }, SEND_EVERY_MS);
  view.start();

  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      clearInterval(sender);
      clearTimeout(deadline);
      process.off('SIGINT', onSigint);
      view?.event(`${why}: closing`);
      await socket.close();
      await server.stop();
      view?.stop();
      const lost = sent - echoed - dropped.timeout - dropped.overflow - dropped.closed;
      console.log(
        `\nDone. ${sent} sent, ${echoed} echoed, ${dropped.timeout + dropped.overflow + dropped.closed} dropped (every one reported), ` +
          `${lost} written but not echoed (in flight at a restart: delivery is at-most-once once written).`,
      );
    })());
  const onSigint = (): void => void stop('Ctrl-C');
  process.on('SIGINT', onSigint);
  const deadline = args.duration === undefined ? undefined : setTimeout(() => void stop(`${args.duration} s elapsed`), args.duration * 1000);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
