import { parseArgs } from 'node:util';

/** A command line that cannot be run: exit code 2, with the help text. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The options of `rxwire connect`, parsed and checked. */
export interface ConnectArgs {
  readonly url: string;
  readonly json: boolean;
  readonly jsonl: boolean;
  readonly binary: 'base64' | 'hex' | undefined;
  readonly reconnect: boolean;
  readonly backoff: readonly [initial: number, max: number] | undefined;
  readonly maxAttempts: number | undefined;
  readonly buffer: readonly [size: number, timeout: number] | undefined;
  readonly heartbeat: readonly [interval: number, timeout: number] | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly protocols: readonly string[];
  readonly expect: number | undefined;
  readonly timeout: number | undefined;
  readonly drainTimeout: number;
  readonly events: boolean;
  readonly session: boolean;
}

/** The options of `rxwire listen`. */
export interface ListenArgs {
  readonly port: number;
  readonly host: string;
  readonly path: string | undefined;
  readonly echo: boolean;
  readonly broadcast: boolean;
  readonly session: boolean;
}

export const HELP = `Usage:
  rxwire connect <url> [options]   stdin lines → messages, messages → stdout lines
  rxwire listen --port <n> [options]
  rxwire --help

connect:
  --json                  parse each stdin line as JSON (a bad line is reported on stderr, skipped)
  --jsonl                 print each message as {"t": iso-time, "data": …}
  --binary base64|hex     how to print binary messages (default: base64)
  --no-reconnect          end at the first close instead of reconnecting
  --backoff initial,max   reconnect delays in ms (default 1000,30000; full jitter)
  --max-attempts n        give up after n attempts in a row (exit 3)
  --buffer size,timeout   what waits while the server is away (default 1000,10000)
  --heartbeat interval,timeout   ping/pong in ms (default 25000,10000)
  -H, --header "Name: value"     an upgrade request header (repeatable)
  --protocol name         a subprotocol to offer (repeatable)
  --expect n              exit 0 after n messages
  --timeout ms            exit 4 if --expect is not met within ms
  --drain-timeout ms      at stdin's end, wait this long for the buffer to drain (default 5000)
  --events                one JSON event per state change on stderr
  --session               a resumable session: each line is sent reliably (exactly once, in order,
                          across reconnects); at stdin's end, wait for the server's receipts

listen:
  --port n (default 0)  --host h (default 127.0.0.1)  --path /p
  --echo                  send every message back to its sender
  --broadcast             send each stdin line to every client
  --session               accept resumable sessions (clients that ask for them)

Exit codes: 0 closed by us or --expect met; 1 closed for good by the server (its code printed);
2 usage error; 3 retries exhausted; 4 --timeout; 130 interrupted (SIGINT, after closing cleanly).`;

const integer = (name: string, text: string | undefined, min = 0): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`Expected ${name} to be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return value;
};

const pair = (name: string, text: string | undefined): readonly [number, number] | undefined => {
  if (text === undefined) return undefined;
  const parts = text.split(',');
  if (parts.length !== 2) throw new UsageError(`Expected ${name} to be two numbers a,b, got ${JSON.stringify(text)}`);
  return [integer(name, parts[0]) as number, integer(name, parts[1]) as number];
};

/** Parses `argv` (without node and the script): the command and its checked options. */
export function parseCommand(argv: readonly string[]): { command: 'help' } | { command: 'connect'; args: ConnectArgs } | { command: 'listen'; args: ListenArgs } {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return { command: 'help' };
  try {
    if (command === 'connect') return { command, args: parseConnect(rest) };
    if (command === 'listen') return { command, args: parseListen(rest) };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message); // parseArgs: an unknown option, a missing value
  }
  throw new UsageError(`Unknown command ${JSON.stringify(command)}`);
}

function parseConnect(argv: string[]): ConnectArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean' },
      jsonl: { type: 'boolean' },
      binary: { type: 'string' },
      'no-reconnect': { type: 'boolean' },
      backoff: { type: 'string' },
      'max-attempts': { type: 'string' },
      buffer: { type: 'string' },
      heartbeat: { type: 'string' },
      header: { type: 'string', short: 'H', multiple: true },
      protocol: { type: 'string', multiple: true },
      expect: { type: 'string' },
      timeout: { type: 'string' },
      'drain-timeout': { type: 'string' },
      events: { type: 'boolean' },
      session: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`connect takes one URL, got ${positionals.length}`);
  const binary = values.binary;
  if (binary !== undefined && binary !== 'base64' && binary !== 'hex') throw new UsageError(`Expected --binary to be base64 or hex, got ${JSON.stringify(binary)}`);
  const headers: Record<string, string> = {};
  for (const header of values.header ?? []) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new UsageError(`Expected --header to be "Name: value", got ${JSON.stringify(header)}`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  return {
    url: positionals[0] as string,
    json: values.json ?? false,
    jsonl: values.jsonl ?? false,
    binary: binary as ConnectArgs['binary'],
    reconnect: !(values['no-reconnect'] ?? false),
    backoff: pair('--backoff', values.backoff),
    maxAttempts: integer('--max-attempts', values['max-attempts'], 1),
    buffer: pair('--buffer', values.buffer),
    heartbeat: pair('--heartbeat', values.heartbeat),
    headers,
    protocols: values.protocol ?? [],
    expect: integer('--expect', values.expect, 1),
    timeout: integer('--timeout', values.timeout, 1),
    drainTimeout: integer('--drain-timeout', values['drain-timeout']) ?? 5000,
    events: values.events ?? false,
    session: values.session ?? false,
  };
}

function parseListen(argv: string[]): ListenArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: false,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      echo: { type: 'boolean' },
      broadcast: { type: 'boolean' },
      session: { type: 'boolean' },
    },
  });
  void positionals;
  return {
    port: integer('--port', values.port) ?? 0,
    host: values.host ?? '127.0.0.1',
    path: values.path,
    echo: values.echo ?? false,
    broadcast: values.broadcast ?? false,
    session: values.session ?? false,
  };
}
