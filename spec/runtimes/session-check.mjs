// Runs under Deno and Bun: a resumable session through the test's fault proxy. 100 reliable
// messages, the link reset by the test after the first receipt; every receipt resolves, the server's
// 100 reliable answers arrive once and in order. Prints one JSON line, then exits by itself.
// Usage: <runtime> session-check.mjs <entry module path> <url>
const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const [entry, url] = args;
const { connect } = await import(entry);
const say = (data) => console.log(JSON.stringify(data));
const socket = connect(url, { session: true, reconnect: { initialDelay: 20, maxDelay: 100 }, closeTimeout: 300, logger: false });
const answers = [];
socket.messages$.subscribe((m) => answers.push(m.n));
const errors = [];
socket.errors$.subscribe((e) => e.name !== 'ConnectionClosedError' && errors.push(e.name)); // the reset's retried close is expected
try {
  const receipts = [];
  for (let n = 0; n < 100; n++) {
    receipts.push(socket.send({ n }));
    if (n === 0) {
      await receipts[0];
      say({ phase: 'first-receipt' }); // the test resets the link now
    }
  }
  await Promise.all(receipts);
  const started = Date.now();
  while (answers.length < 100 && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 5));
  say({ phase: 'done', answers, errors, session: socket.state.session?.resumed, reconnects: socket.metrics.reconnects });
} catch (error) {
  say({ phase: 'failed', error: String(error) });
}
await socket.close();
