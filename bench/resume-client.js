'use strict';
// Session clients for the cluster-resume scenario: `count` rxwire clients with `session: true` in
// one process, each with a URL function that starts at urls[0] and rotates over the nodes on every
// attempt, each sending a reliable { n } every `everyMs` ms that its node answers with a reliable
// { n, node }. Forked by cluster-scenarios.js:
//
//   node bench/resume-client.js '{"urls":["ws://…","ws://…","ws://…"],"count":10,"everyMs":10}'
//
// IPC out: { type: 'connected' } once every client is open; { type: 'flowing' } once each has
//          `warm` answers; { type: 'resumed', resumeMs, reopenMs } once each has an answer from
//          another node than `killed` (ms after `killedAt`, one per client); { type: 'finished',
//          sent, answered, missing, duplicates, outOfOrder, rejected, lost }; { type: 'error', message }.
// IPC in:  { cmd: 'killed', node, killedAt }  (wall clock); { cmd: 'finish', ms }

const { wallClock, BACKOFF } = require('./common.js');
const { loadRxwire } = require('./adapters.js');

const p = JSON.parse(process.argv[2] || '{}');
const { urls, count, everyMs = 10, warm = 20, lifetimeMs = 120000 } = p;

process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), lifetimeMs).unref();
const report = (msg) => process.send && process.send(msg);
const fail = (err) => {
  report({ type: 'error', message: `resume client: ${(err && err.message) || err}` });
  setTimeout(() => process.exit(1), 50);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const mod = loadRxwire();
if (mod instanceof Error) fail(mod);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One session client: what it sent, what came back (with when and from which node), when it (re)opened. */
function client() {
  let turn = 0;
  const socket = mod.connect(() => urls[turn++ % urls.length], {
    session: true,
    logger: false,
    reconnect: { initialDelay: BACKOFF.initialDelay, maxDelay: BACKOFF.maxDelay, factor: BACKOFF.factor, jitter: false, resetAfter: BACKOFF.resetAfter },
  });
  const c = { socket, sent: 0, sentAt: [], receipts: [], answers: [], opens: [], rejected: 0, lost: 0 };
  socket.messages$.subscribe({ next: (m) => c.answers.push({ n: m.n, node: m.node, at: wallClock() }), error: () => c.lost++ });
  socket.state$.subscribe((s) => s.status === 'open' && c.opens.push(wallClock()));
  socket.errors$.subscribe((error) => error.name === 'SessionLostError' && c.lost++);
  c.send = () => {
    const n = c.sent++;
    c.sentAt.push(wallClock());
    c.receipts.push(socket.send({ n }).catch(() => void c.rejected++));
  };
  return c;
}

const clients = Array.from({ length: count }, client);
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
let timer = null;
let killedAt = NaN;

async function until(predicate, what, ms) {
  const stopAt = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > stopAt) throw new Error(`no ${what} within ${ms} ms`);
    await sleep(5);
  }
}

async function main() {
  await Promise.all(clients.map((c) => c.socket.opened({ timeout: 20000 })));
  report({ type: 'connected' });
  timer = setInterval(() => clients.forEach((c) => c.send()), everyMs);
  await until(() => clients.every((c) => c.answers.length >= warm), 'answers on every client', 20000);
  report({ type: 'flowing' });
}

process.on('message', async (msg) => {
  try {
    if (msg && msg.cmd === 'killed') {
      killedAt = msg.killedAt;
      const firstAfter = (c) => c.answers.find((a) => a.at > msg.killedAt && a.node !== msg.node);
      await until(() => clients.every(firstAfter), 'resumed answer on every client', 30000);
      report({
        type: 'resumed',
        resumeMs: clients.map((c) => firstAfter(c).at - msg.killedAt),
        reopenMs: clients.map((c) => (c.opens.find((at) => at > msg.killedAt) ?? NaN) - msg.killedAt),
      });
    } else if (msg && msg.cmd === 'finish') {
      clearInterval(timer);
      await Promise.race([Promise.all(clients.flatMap((c) => c.receipts)), sleep(msg.ms).then(() => Promise.reject(new Error('receipts not all settled')))]);
      // Every answer, or none more for a second: an unanswered message is counted, not waited for.
      const stopAt = Date.now() + msg.ms;
      let total = -1;
      for (;;) {
        const now = sum(clients.map((c) => c.answers.length));
        if (clients.every((c) => c.answers.length >= c.sent) || Date.now() > stopAt || now === total) break;
        total = now;
        await sleep(1000);
      }
      let sent = 0, answered = 0, missing = 0, duplicates = 0, outOfOrder = 0, rejected = 0, lost = 0;
      const missingAt = [];
      for (const c of clients) {
        const seen = new Set();
        let last = -1;
        for (const { n } of c.answers) {
          if (seen.has(n)) duplicates++;
          if (n < last) outOfOrder++;
          seen.add(n);
          last = n;
        }
        sent += c.sent;
        answered += c.answers.length;
        for (let n = 0; n < c.sent; n++) if (!seen.has(n)) missing++, missingAt.push(Math.round(c.sentAt[n] - killedAt));
        rejected += c.rejected;
        lost += c.lost;
      }
      report({ type: 'finished', sent, answered, missing, missingAt, duplicates, outOfOrder, rejected, lost });
      await Promise.all(clients.map((c) => c.socket.close()));
    }
  } catch (err) {
    fail(err);
  }
});

main().catch(fail);
