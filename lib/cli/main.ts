#!/usr/bin/env node
import { HELP, parseCommand, UsageError } from './args.js';
import { EXIT, runConnect, type CliIo } from './connect-command.js';
import { runListen } from './listen-command.js';

/**
 * The `rxwire` command: parses `argv`, runs the command on `io`, and resolves with the exit code.
 * A usage error prints the message and the help to stderr and resolves with 2.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parseCommand(argv);
    if (parsed.command === 'help') {
      io.stdout.write(`${HELP}\n`);
      return EXIT.ok;
    }
    return parsed.command === 'connect' ? await runConnect(parsed.args, io) : await runListen(parsed.args, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`rxwire: ${error.message}\n\n${HELP}\n`);
    return EXIT.usage;
  }
}

if (require.main === module) {
  const io: CliIo = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    tty: process.stderr.isTTY === true,
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
  main(process.argv.slice(2), io).then(
    (code) => void (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`rxwire: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
