'use strict';
// The fact the README quotes about sends while the server is down, measured for rxwire and its
// peers. For each library, on loopback:
//   1. reserve a free port on 127.0.0.1, and free it again: nothing listens there yet;
//   2. start the client (connect and listen for messages) with a ~100 ms reconnect delay, and let
//      its first attempt be refused (DOWN_BEFORE ms);
//   3. send SENDS numbered messages in one synchronous burst, with a buffer of BUFFER messages
//      where the library has one; the server stays down another DOWN_AFTER ms, so that attempts
//      fail after the sends too, as they do while a server restarts;
//   4. start a `ws` server on that port and count the distinct messages it receives, until every
//      message is accounted for or nothing has arrived for QUIET ms (each library <= ~10 s);
//   5. count the drops the library reported through its API (a rejected promise, an event or a
//      callback). The rest vanished silently: sent, never delivered, never reported.
// Usage: npm run build && node scripts/compare-offline.js   (or: npm run compare)
const net = require('node:net');
const path = require('node:path');
const { WebSocketServer, WebSocket } = require('ws');

const SENDS = 100;
const BUFFER = 50;
const RECONNECT_MS = 100;
const DOWN_BEFORE = 300;
const DOWN_AFTER = 500;
const QUIET = 1500;
const LIMIT = 10_000;

const RXWIRE_PATH = path.join(__dirname, '..', 'dist', 'cjs', 'index.js');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port that was free a moment ago on 127.0.0.1; nothing listens on it when this resolves. */
async function reservePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Each adapter: { config, start(url), send(i), reported() (drops the library told of), close() }. */
const LIBRARIES = {
  rxwire() {
    let mod;
    try {
      mod = require(RXWIRE_PATH);
    } catch (err) {
      throw new Error(`rxwire build not found at ${path.relative(process.cwd(), RXWIRE_PATH)} (run npm run build): ${err.code || err.message}`);
    }
    let socket;
    let sub;
    let rejected = 0;
    let droppedEvents = 0;
    let droppedSub;
    return {
      config: `connect(url, { buffer: { size: ${BUFFER} }, reconnect: { initialDelay: ${RECONNECT_MS}, maxDelay: ${RECONNECT_MS}, jitter: false } }); drops counted as rejected send() promises (dropped$ cross-checked)`,
      start(url) {
        socket = mod.connect(url, { buffer: { size: BUFFER }, reconnect: { initialDelay: RECONNECT_MS, maxDelay: RECONNECT_MS, jitter: false } });
        droppedSub = socket.dropped$.subscribe(() => droppedEvents++);
        sub = socket.messages$.subscribe({ error: () => {} });
      },
      send(i) {
        socket.send({ i }).catch(() => rejected++);
      },
      reported() {
        if (rejected !== droppedEvents) throw new Error(`rxwire: ${rejected} rejected send() but ${droppedEvents} dropped$ events`);
        return rejected;
      },
      async close() {
        sub.unsubscribe();
        await socket.close();
        droppedSub.unsubscribe();
      },
    };
  },

  'rxjs webSocket'() {
    const { webSocket } = require('rxjs/webSocket');
    const { retry, timer } = require('rxjs');
    let subject;
    let sub;
    return {
      config: `webSocket({ url, WebSocketCtor: ws }) + retry({ delay: ${RECONNECT_MS} ms }); no buffer option: it queues in an unbounded ReplaySubject while connecting and replaces that queue after each failed attempt; no drop API`,
      start(url) {
        subject = webSocket({ url, WebSocketCtor: WebSocket });
        sub = subject.pipe(retry({ delay: () => timer(RECONNECT_MS) })).subscribe({ error: () => {} });
      },
      send(i) {
        subject.next({ i });
      },
      reported: () => 0,
      close() {
        sub.unsubscribe();
      },
    };
  },

  'reconnecting-websocket'() {
    const ReconnectingWebSocket = require('reconnecting-websocket');
    let socket;
    return {
      config: `new ReconnectingWebSocket(url, [], { WebSocket: ws, maxEnqueuedMessages: ${BUFFER}, min/maxReconnectionDelay: ${RECONNECT_MS} }); no drop API`,
      start(url) {
        socket = new ReconnectingWebSocket(url, [], {
          WebSocket,
          maxEnqueuedMessages: BUFFER,
          minReconnectionDelay: RECONNECT_MS,
          maxReconnectionDelay: RECONNECT_MS,
        });
        socket.addEventListener('error', () => {});
      },
      send(i) {
        socket.send(JSON.stringify({ i }));
      },
      reported: () => 0,
      close() {
        socket.close();
      },
    };
  },

  'websocket-ts'() {
    // websocket-ts calls the global `new WebSocket(url, protocols)`; Node 20 has none by default.
    globalThis.WebSocket = WebSocket;
    const { WebsocketBuilder, RingQueue, ConstantBackoff } = require('websocket-ts');
    let socket;
    return {
      config: `new WebsocketBuilder(url).withBuffer(new RingQueue(${BUFFER})).withBackoff(new ConstantBackoff(${RECONNECT_MS})) (globalThis.WebSocket = ws); RingQueue evicts the oldest; no drop API`,
      start(url) {
        socket = new WebsocketBuilder(url)
          .withBuffer(new RingQueue(BUFFER))
          .withBackoff(new ConstantBackoff(RECONNECT_MS))
          .onError(() => {})
          .build();
      },
      send(i) {
        socket.send(JSON.stringify({ i }));
      },
      reported: () => 0,
      close() {
        socket.close();
      },
    };
  },
};

/** Sorted numbers as ranges: [0, 1, 2, 7] -> '0-2, 7'; none -> '-'. */
function ranges(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const parts = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}–${sorted[j]}`);
    i = j;
  }
  return parts.join(', ') || '–';
}

async function measure(name) {
  const adapter = LIBRARIES[name]();
  const port = await reservePort();
  const url = `ws://127.0.0.1:${port}`;
  const received = new Set();
  let frames = 0;
  let lastArrival = 0;
  let wss = null;
  const started = Date.now();
  try {
    adapter.start(url);
    await sleep(DOWN_BEFORE);
    for (let i = 0; i < SENDS; i++) adapter.send(i);
    await sleep(DOWN_AFTER);

    wss = new WebSocketServer({ port, host: '127.0.0.1' });
    wss.on('error', (err) => console.error(`${name}: server error: ${err.message}`));
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      ws.on('message', (data) => {
        frames++;
        lastArrival = Date.now();
        received.add(JSON.parse(String(data)).i);
      });
    });
    await new Promise((resolve, reject) => wss.once('listening', resolve).once('error', reject));
    const upAt = Date.now();

    // Done when every send is accounted for, or nothing has arrived for QUIET ms since the server
    // came up (or since the last arrival), within the library's LIMIT.
    for (;;) {
      await sleep(20);
      const now = Date.now();
      if (received.size + adapter.reported() >= SENDS) break;
      if (now - Math.max(upAt, lastArrival) >= QUIET) break;
      if (now - started >= LIMIT) break;
    }
    const delivered = received.size;
    const reported = adapter.reported();
    return { name, config: adapter.config, delivered, reported, silent: SENDS - delivered - reported, duplicates: frames - delivered, which: ranges([...received]) };
  } finally {
    await adapter.close();
    if (wss) {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  }
}

async function main() {
  const rows = [];
  for (const name of Object.keys(LIBRARIES)) {
    try {
      rows.push(await measure(name));
    } catch (err) {
      rows.push({ name, error: err.message });
    }
  }
  console.log(`${SENDS} sends while the server is down (buffer ${BUFFER} where the library has one), then the server comes up`);
  console.log(`(Node ${process.version}, loopback; first attempt refused ${DOWN_BEFORE} ms before the sends, server up ${DOWN_AFTER} ms after them)\n`);
  console.log('| library | delivered | reported dropped | vanished silently | which arrived (message ids 0–99) |');
  console.log('|---|---:|---:|---:|---|');
  for (const r of rows) {
    if (r.error) console.log(`| ${r.name} | error: ${r.error} | | | |`);
    else console.log(`| ${r.name} | ${r.delivered} | ${r.reported} | ${r.silent} | ${r.which} |`);
  }
  console.log('');
  for (const r of rows) {
    if (r.error) continue;
    console.log(`- ${r.name}: ${r.config}${r.duplicates ? `; ${r.duplicates} duplicate frames` : ''}`);
  }
  if (rows.some((r) => r.error)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
