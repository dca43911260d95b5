#!/usr/bin/env bash
# Checks the package as it would be published: packs it (needs `npm run build` first), lints the
# tarball with publint and @arethetypeswrong/cli, then installs it into a throwaway consumer
# project and uses it from ESM (.mjs), CommonJS (.cjs), TypeScript (moduleResolution node16 and
# bundler) and a browser bundle (esbuild, which must not pull in ws). rxwire/redis is checked across
# two servers and a redis-server of its own (redis-server must be on PATH; .ci/run installs it).
# Exits non-zero on any problem.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export NO_UPDATE_NOTIFIER=1 npm_config_fund=false npm_config_audit=false

for built in dist/cjs/index.js dist/cjs/testing/index.js dist/cjs/server/index.js dist/cjs/redis/index.js dist/esm/browser.js; do
  [ -f "$built" ] || { echo "check-package: $built is missing; run \`npm run build\` first" >&2; exit 1; }
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/rxwire-package.XXXXXX")"
redis_pid=''
trap '[ -z "$redis_pid" ] || kill "$redis_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

echo "== npm pack"
tarball="$tmp/$(npm pack --silent --pack-destination "$tmp" | tail -n 1)"
echo "$tarball ($(tar -tzf "$tarball" | wc -l) files)"

# The linters run while the consumer project installs; their output is printed in order after.
npx --no-install publint run "$tarball" --strict > "$tmp/publint.log" 2>&1 &
publint=$!
# No attw rule is ignored: in Node, `import` and `require` both resolve to the CJS build (one class
# identity), which attw reports as "node16 (from ESM): CJS" and accepts.
npx --no-install attw "$tarball" > "$tmp/attw.log" 2>&1 &
attw=$!

consumer="$tmp/consumer"
mkdir -p "$consumer"
version() { node -p "require('$root/node_modules/$1/package.json').version"; }
echo '{ "name": "rxwire-consumer", "private": true }' > "$consumer/package.json"
# The versions this repo is tested with, so that npm's cache (warm after `npm ci`) serves them.
# @types/ws: rxwire/testing's declarations use ws's types (without them they degrade to `any`).
# redis: rxwire/redis's optional peer dependency.
(cd "$consumer" && npm install --prefer-offline --no-save --silent --ignore-scripts "$tarball" \
  "rxjs@$(version rxjs)" "redis@$(version redis)" "@types/node@$(version @types/node)" "@types/ws@$(version @types/ws)") > "$tmp/install.log" 2>&1 &
install=$!

failed=''
for step in publint attw install; do
  echo "== $step"
  wait "${!step}" || failed="$failed $step"
  grep -v 'Unknown user config' "$tmp/$step.log" || true
done
[ -z "$failed" ] || { echo "check-package: failed:$failed" >&2; exit 1; }

echo "== consumer project"
cd "$consumer"

# Node, both module systems: a round trip through the kit's echo server, and one class identity.
cat > esm.mjs <<'JS'
import { createRequire } from 'node:module';
import { firstValueFrom } from 'rxjs';
import { connect, MessageDroppedError } from 'rxwire';
import { createTestServer } from 'rxwire/testing';

const server = await createTestServer({ echo: true });
const socket = connect(server.url);
const echoed = firstValueFrom(socket.messages$);
await socket.send({ from: 'esm' });
if ((await echoed).from !== 'esm') throw new Error('esm: wrong echo');
await socket.close();
await server.dispose();
if (createRequire(import.meta.url)('rxwire').MessageDroppedError !== MessageDroppedError) {
  throw new Error('esm: import and require resolved to different builds');
}
console.log('esm (.mjs): ok, import and require share one build');
JS
cat > cjs.cjs <<'JS'
const { firstValueFrom } = require('rxjs');
const { connect } = require('rxwire');
const { createTestServer } = require('rxwire/testing');

(async () => {
  const server = await createTestServer({ echo: true });
  const socket = connect(server.url);
  const echoed = firstValueFrom(socket.messages$);
  await socket.send({ from: 'cjs' });
  if ((await echoed).from !== 'cjs') throw new Error('cjs: wrong echo');
  await socket.close();
  await server.dispose();
  console.log('cjs (.cjs): ok');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
JS
cat > server.mjs <<'JS'
import { firstValueFrom } from 'rxjs';
import { connect } from 'rxwire';
import { listen } from 'rxwire/server';

const server = listen({ port: 0, logger: false });
await server.ready;
server.connections$.subscribe((peer) => peer.messages$.subscribe((msg) => void peer.send({ echo: msg })));
const socket = connect(server.url, { logger: false });
const echoed = firstValueFrom(socket.messages$);
await socket.send({ from: 'server.mjs' });
if ((await echoed).echo.from !== 'server.mjs') throw new Error('server: wrong echo');
const report = await server.close(); // with the client connected: it gets 1001
if (report.peers !== 1 || report.closedCleanly !== 1) throw new Error(`server: wrong shutdown report ${JSON.stringify(report)}`);
await socket.close();
console.log('rxwire/server (.mjs): ok, both ends, and the process exits');
JS
cat > server.cjs <<'JS'
const { listen } = require('rxwire/server');
if (typeof listen !== 'function') throw new Error('rxwire/server: no listen() from require');
console.log('rxwire/server (.cjs): ok');
JS
# rxwire/redis: two servers on one redis-server; a publish on one reaches a client of the other.
cat > redis.mjs <<'JS'
import { firstValueFrom, filter } from 'rxjs';
import { connect } from 'rxwire';
import { listen } from 'rxwire/server';
import { redisBroker, BrokerUnavailableError } from 'rxwire/redis';

const url = `redis://127.0.0.1:${process.env.REDIS_PORT}`;
const brokers = [redisBroker({ url, logger: false }), redisBroker({ url, logger: false })];
await Promise.all(brokers.map((b) => firstValueFrom(b.health$.pipe(filter(({ status }) => status === 'up')))));
const [a, b] = brokers.map((broker) => listen({ port: 0, broker, logger: false }));
await Promise.all([a.ready, b.ready]);
b.connections$.subscribe((peer) => peer.join('room'));
const socket = connect(b.url, { logger: false });
const got = firstValueFrom(socket.messages$);
await socket.opened({ timeout: 2000 });
let n = 0;
// Until b's SUBSCRIBE is in place, a's publishes reach nobody: publish until one arrives (bounded).
const timer = setInterval(() => a.publish('room', { hello: ++n }), 20);
const message = await Promise.race([got, new Promise((_, reject) => setTimeout(() => reject(new Error('redis: nothing relayed within 5 s')), 5000))]);
clearInterval(timer);
if (typeof message.hello !== 'number') throw new Error('redis: wrong message');
if (typeof BrokerUnavailableError !== 'function') throw new Error('redis: no BrokerUnavailableError');
await socket.close();
await Promise.all([a.close(), b.close()]);
console.log('rxwire/redis (.mjs): ok, relayed across two servers, and the process exits');
JS
cat > redis.cjs <<'JS'
const { redisBroker } = require('rxwire/redis');
if (typeof redisBroker !== 'function') throw new Error('rxwire/redis: no redisBroker() from require');
console.log('rxwire/redis (.cjs): ok');
JS
node esm.mjs
node cjs.cjs
node server.mjs
node server.cjs
redis_port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > "$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 100); do grep -q 'Ready to accept' "$tmp/redis.log" && break; sleep 0.05; done
REDIS_PORT="$redis_port" node redis.mjs
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=''
node redis.cjs

# TypeScript. The @ts-expect-error lines fail the check if the types degrade to `any`.
cat > use.ts <<'TS'
import { connect, MessageDroppedError, type ConnectOptions, type RxSocket } from 'rxwire';

interface In { type: 'tick'; price: number }
interface Out { type: 'subscribe'; symbol: string }
const options: ConnectOptions<In, Out> = { buffer: { size: 10, timeout: 1000 }, heartbeat: false };
const socket: RxSocket<In, Out> = connect<In, Out>('ws://127.0.0.1:1', options);
socket.messages$.subscribe((message) => console.log(message.price.toFixed(2)));
socket.send({ type: 'subscribe', symbol: 'BTC' }).catch((error: unknown) => {
  if (error instanceof MessageDroppedError) console.log(error.reason);
});
// @ts-expect-error: not an `Out`
void socket.send({ type: 'unsubscribe' });
// @ts-expect-error: `In` has no `volume`
socket.messages$.subscribe((message) => message.volume);
TS
cp use.ts use.mts # ESM under node16
cp use.ts use.cts # CJS under node16
cat > testing.ts <<'TS'
import { createFaultProxy, createTestServer, type TestServer } from 'rxwire/testing';

export async function kit(): Promise<TestServer> {
  const server = await createTestServer({ echo: true });
  // @ts-expect-error: ws's WebSocket has no `nonexistent` (an unused directive if ws's types were missing)
  server.clients.forEach((client) => client.nonexistent());
  const proxy = await createFaultProxy({ target: server.url });
  proxy.set('down', { kind: 'blackhole' });
  // @ts-expect-error: not a fault kind
  proxy.set('down', { kind: 'melt' });
  await proxy.close();
  return server;
}
TS
cat > server.ts <<'TS'
import { listen, type Peer, type ShutdownReport } from 'rxwire/server';

const server = listen<{ text: string }, { text: string; from: string }>({ port: 0, slowConsumer: 'close' });
server.connections$.subscribe((peer: Peer<{ text: string }, { text: string; from: string }>) =>
  peer.messages$.subscribe(({ text }) => server.broadcast({ text, from: peer.id })),
);
// @ts-expect-error: not an `Out`
server.broadcast({ text: 1 });
export const done: Promise<ShutdownReport> = server.close();
TS
cat > redis.ts <<'TS'
import { listen } from 'rxwire/server';
import { redisBroker, type BrokerGap, type RedisBrokerOptions } from 'rxwire/redis';

const options: RedisBrokerOptions = { url: 'redis://127.0.0.1:6379', probe: { interval: 1000 } };
const broker = redisBroker(options);
broker.gaps$.subscribe((gap: BrokerGap) => console.log(gap.topics.join(), gap.to - gap.from));
const server = listen<{ text: string }, { text: string }>({ port: 0, broker });
server.relayErrors$.subscribe((error) => console.log(error.topic, error.since));
// @ts-expect-error: not an option
redisBroker({ urls: [] });
export const count: number = server.publish('room', { text: 'hi' });
TS
# A Node project (node16, @types/node, skipLibCheck as most have it) and a browser project
# (bundler, no @types; rxwire's and rxjs's declarations checked too), in one `tsc -b` process.
cat > tsconfig.node16.json <<'JSON'
{
  "compilerOptions": {
    "module": "node16", "moduleResolution": "node16", "target": "ES2022", "lib": ["ES2022"],
    "types": ["node"], "strict": true, "noEmit": true, "skipLibCheck": true
  },
  "files": ["use.ts", "use.mts", "use.cts", "testing.ts", "server.ts", "redis.ts"]
}
JSON
cat > tsconfig.bundler.json <<'JSON'
{
  "compilerOptions": {
    "module": "esnext", "moduleResolution": "bundler", "target": "ES2022", "lib": ["ES2022", "DOM"],
    "types": [], "strict": true, "noEmit": true, "skipDefaultLibCheck": true
  },
  "files": ["use.ts"]
}
JSON
echo '{ "files": [], "references": [{ "path": "./tsconfig.node16.json" }, { "path": "./tsconfig.bundler.json" }] }' > tsconfig.json
node "$root/node_modules/typescript/bin/tsc" -b
echo "typescript: ok (node16: .ts, .mts, .cts, rxwire/testing, rxwire/server and rxwire/redis; bundler without @types)"

# A browser bundle of the installed package: the browser condition, and no ws.
cat > bundle.cjs <<'JS'
const { buildSync } = require(process.argv[2]);
const result = buildSync({
  stdin: { contents: "export { connect } from 'rxwire';", resolveDir: __dirname },
  bundle: true, platform: 'browser', format: 'esm', external: ['rxjs'], write: false, metafile: true, logLevel: 'silent',
});
const inputs = Object.keys(result.metafile.inputs);
const bad = inputs.filter((input) => /node_modules\/ws\/|\/dist\/cjs\//.test(input));
if (bad.length > 0 || !inputs.some((input) => input.endsWith('rxwire/dist/esm/browser.js'))) {
  throw new Error(`browser bundle: expected rxwire/dist/esm and no ws, got\n${inputs.join('\n')}`);
}
console.log('browser bundle (esbuild, platform browser): ok, dist/esm, no ws');
JS
node bundle.cjs "$root/node_modules/esbuild"

echo "check-package: ok"
