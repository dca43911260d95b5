// Runs under Deno and Bun (and Node): one build of rxwire against the test's server. Each phase is
// printed as a JSON line on stdout; the test drives the server and the fault proxy from them.
// Usage: <runtime> check.mjs <entry module path> <url>
const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const [entry, url] = args;
const { connect } = await import(entry);
const log = (phase, data = {}) => console.log(JSON.stringify({ phase, ...data }));
const until = (check, ms, what) =>
  new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > ms) {
        clearInterval(poll);
        reject(new Error(`timed out: ${what}`));
      }
    }, 5);
  });

const socket = connect(url, {
  reconnect: { initialDelay: 20, maxDelay: 100, jitter: false },
  heartbeat: { interval: 150, timeout: 150, message: () => ({ type: 'ping' }), isPong: (m) => m?.type === 'pong' },
  serialize: (m) => (m instanceof Uint8Array ? m : JSON.stringify(m)),
  closeTimeout: 300,
  logger: false,
});
const echoes = [];
const errors = [];
socket.messages$.subscribe({ next: (m) => echoes.push(m), error: (e) => log('failed', { error: e.name, message: e.message }) });
socket.errors$.subscribe((e) => errors.push(e.name));
try {
  await socket.opened({ timeout: 5000 });
  await socket.send({ type: 'echo', n: 1 });
  await socket.send(new Uint8Array([1, 2, 255]));
  await until(() => echoes.length === 2, 3000, 'the JSON and binary echoes');
  log('echoed', { json: echoes[0], binary: echoes[1] instanceof Uint8Array ? [...echoes[1]] : String(echoes[1]) });
  await until(() => socket.state.status === 'reconnecting', 3000, 'the server restart'); // the test drops us
  for (let n = 2; n <= 4; n++) void socket.send({ type: 'echo', n });
  await until(() => echoes.length === 5, 5000, 'the buffered sends after the reconnect');
  log('resumed', { echoes: echoes.slice(2).map((m) => m.n) });
  await until(() => errors.includes('HeartbeatTimeoutError'), 3000, 'the heartbeat to find the blackholed connection'); // the test blackholes us
  log('zombie');
  await until(() => socket.state.status === 'open', 5000, 'the reconnect after the zombie'); // the test lets us through again
  log('back');
  await new Promise((resolve) => setTimeout(resolve, 400)); // the test blackholes us on 'back'
  const started = Date.now();
  await socket.close();
  log('closed', { ms: Date.now() - started, lastClose: socket.state.lastClose?.code });
} catch (error) {
  log('error', { message: String(error?.message ?? error), state: socket.state });
  await socket.close();
}
