import { listen } from '../../lib/server/index.js';

/**
 * A session server in its own process, for spec/sessions/restart.spec.ts: `listen({ port, session:
 * true })` on the port given as argument (0: any), printing `READY <port>` once listening and
 * `GOT <n>` for each message `{ n }` it delivers, in order. Its stdin ending shuts it down
 * gracefully, after which it must exit by itself; SIGKILL is the crash the spec is about.
 */

const port = Number(process.argv[2] ?? 0);
const server = listen<{ n: number }, { n: number }>({ port, session: true, logger: false, heartbeat: false });
server.connections$.subscribe((peer) => peer.messages$.subscribe(({ n }) => process.stdout.write(`GOT ${n}\n`)));
server.ready.then(
  () => process.stdout.write(`READY ${server.port}\n`),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 1;
  },
);
process.stdin.resume();
process.stdin.on('end', () => {
  process.stdin.pause();
  void server.close({ timeout: 500 });
});
