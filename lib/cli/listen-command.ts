import { createInterface } from 'node:readline';
import { listen } from '../server/server.js';
import type { ListenArgs } from './args.js';
import { EXIT, type CliIo } from './connect-command.js';

/**
 * `rxwire listen`: a server for quick tests. Prints every incoming message as a JSON line with
 * its peer's id; `--echo` answers each message to its sender, `--broadcast` sends each stdin line
 * to every client. Resolves with the exit code once the server is closed (Ctrl-C: 130).
 */
export async function runListen(args: ListenArgs, io: CliIo): Promise<number> {
  const server = listen<string | Uint8Array, string | Uint8Array>({
    port: args.port,
    host: args.host,
    ...(args.path !== undefined && { path: args.path }),
    ...(args.session && { session: true }),
    serialize: (message) => message,
    deserialize: (data) => data,
    logger: (level, message) => void (level === 'warn' && io.stderr.write(`rxwire: ${message}\n`)),
  });
  await server.ready;
  io.stderr.write(`${JSON.stringify({ event: 'listening', url: server.url })}\n`);
  server.connections$.subscribe((peer) => {
    const session = peer.sessionId === undefined ? {} : { session: peer.sessionId };
    io.stdout.write(`${JSON.stringify({ t: new Date().toISOString(), peer: peer.id, event: 'open', remoteAddress: peer.request.remoteAddress, ...session })}\n`);
    peer.messages$.subscribe((data) => {
      const text = typeof data === 'string' ? { data } : { binary: Buffer.from(data).toString('base64') };
      io.stdout.write(`${JSON.stringify({ t: new Date().toISOString(), peer: peer.id, ...text })}\n`);
      if (args.echo) void peer.send(data).catch(() => undefined); // a drop is reported by the peer's dropped$
    });
    void peer.closed.then(({ code, initiator }) => io.stdout.write(`${JSON.stringify({ t: new Date().toISOString(), peer: peer.id, event: 'close', code, initiator })}\n`));
  });
  const input = args.broadcast ? createInterface({ input: io.stdin, crlfDelay: Infinity }) : undefined;
  input?.on('line', (text) => void server.broadcast(text));
  if (!input) io.stdin.pause();
  return new Promise<number>((resolve) => {
    const stop = io.onInterrupt(() => {
      stop();
      input?.close();
      io.stdin.pause();
      void server.close().then((report) => {
        io.stderr.write(`${JSON.stringify({ event: 'closed', ...report })}\n`);
        resolve(EXIT.interrupted);
      });
    });
  });
}
