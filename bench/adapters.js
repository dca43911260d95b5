'use strict';
// One adapter per library, each driving the library through its normal public API, so that the
// scenarios in client.js are written once. An adapter is built with
//
//   create(lib, url, { onMessage, onOpen, onDown, onError, heartbeat, reconnect })
//
// and has: start() (begin connecting), send(obj) (returns what the library returns: undefined or
// a Promise), batch(fn) (run fn's sends as one batch; only ws-corked does anything), held() (the
// messages the library says it holds, or null when it does not tell), isOpen(), close().
// Every library parses incoming JSON and serializes outgoing objects, so every adapter does
// JSON.parse / JSON.stringify where the library does not, and the work compared is the same.

const path = require('node:path');
const { BACKOFF, backoffDelay } = require('./common.js');

// BENCH_RXWIRE points the harness at another build (e.g. a branch's dist) without editing it.
const RXWIRE_PATH = process.env.BENCH_RXWIRE
  ? path.resolve(process.env.BENCH_RXWIRE)
  : path.join(__dirname, '..', 'dist', 'cjs', 'index.js');
const RXWIRE_MISSING = 'rxwire build not found (run npm run build)';
// rxwire/server, next to the client entry of the same build (dist/cjs/server/index.js).
const RXWIRE_SERVER_PATH = path.join(path.dirname(RXWIRE_PATH), 'server', 'index.js');
// rxwire/redis of the same build (the cluster scenarios).
const RXWIRE_REDIS_PATH = path.join(path.dirname(RXWIRE_PATH), 'redis', 'index.js');

/** The built rxwire module, or an Error saying why it cannot be used. */
function loadRxwire() {
  let mod;
  try {
    mod = require(RXWIRE_PATH);
  } catch (err) {
    return new Error(`${RXWIRE_MISSING}: ${err.code || err.message}`);
  }
  if (typeof mod.connect !== 'function') return new Error(`${RXWIRE_MISSING}: dist has no connect()`);
  return mod;
}

/** The built rxwire/server module, or an Error saying why it cannot be used. */
function loadRxwireServer() {
  let mod;
  try {
    mod = require(RXWIRE_SERVER_PATH);
  } catch (err) {
    return new Error(`${RXWIRE_MISSING}: ${err.code || err.message}`);
  }
  if (typeof mod.listen !== 'function') return new Error(`${RXWIRE_MISSING}: dist has no server listen()`);
  return mod;
}

/**
 * The session defaults of the build under test (`SESSION_DEFAULTS` of its core/session-options.js,
 * not a public export: read by path, as the benchmark reads dist), or an Error.
 */
function loadSessionDefaults() {
  try {
    const { SESSION_DEFAULTS } = require(path.join(path.dirname(RXWIRE_PATH), 'core', 'session-options.js'));
    if (SESSION_DEFAULTS && SESSION_DEFAULTS.retain) return SESSION_DEFAULTS;
  } catch {
    // below
  }
  return new Error(`${RXWIRE_MISSING}: dist has no resumable sessions (core/session-options.js)`);
}

const LIBS = ['ws', 'ws-corked', 'rxwire', 'rxjs', 'rws', 'websocket-ts'];

/** Human description of how each library is configured, printed under each table. */
const CONFIG_NOTES = {
  ws: 'ws.send per message; reconnect scenario: 15-line hand-written loop on the shared schedule; idle: ping/terminate interval from the ws README',
  'ws-corked': "ws.send per message, socket.cork() around each batch, uncork on process.nextTick",
  rxwire:
    'connect(url, { reconnect: shared schedule, jitter off }); defaults otherwise (buffer 1000 / 10 s / drop-newest, heartbeat 25 s; idle: 1 s / 0.5 s); in send and large, drops are counted on dropped$ and only the last send() of each batch is awaited (elsewhere every promise gets one then to count outcomes); held = socket.buffered',
  rxjs: "webSocket({ WebSocketCtor: ws }) + retry({ delay: shared schedule, resetOnSuccess }); its offline queue (a ReplaySubject) is private and replaced after each failed attempt",
  rws: 'reconnecting-websocket { WebSocket: ws, min 100, max 1000, factor 2, minUptime 100 }; unbounded queue (default); held = its private queue length',
  'websocket-ts': 'globalThis.WebSocket = ws (it only uses the global); WebsocketBuilder + ArrayQueue buffer (unbounded; without one it drops while offline) + shared-schedule Backoff; held = queue length',
};

function create(lib, url, handlers) {
  const factory = FACTORIES[lib];
  if (!factory) throw new Error(`unknown library ${lib}`);
  const h = {
    onMessage: () => {},
    onOpen: () => {},
    onDown: () => {},
    onError: (err) => {
      throw err;
    },
    heartbeat: false,
    reconnect: false,
    ...handlers,
  };
  return factory(url, h);
}

// ---------------------------------------------------------------------------------------------

function rawWs(url, h, corked) {
  const WebSocket = require('ws');
  let ws = null;
  let sock = null;
  let open = false;
  let closed = false;
  let retry = 0;
  let beat = null;

  const connect = () => {
    const current = new WebSocket(url);
    ws = current;
    current.on('error', () => {}); // refused attempts end in 'close', handled there
    current.on('upgrade', (res) => {
      sock = res.socket;
    });
    current.on('open', () => {
      open = true;
      retry = 0;
      if (h.heartbeat) startHeartbeat(current);
      h.onOpen();
    });
    current.on('message', (data) => h.onMessage(JSON.parse(data)));
    current.on('close', () => {
      if (beat) clearInterval(beat);
      beat = null;
      const wasOpen = open;
      open = false;
      if (wasOpen) h.onDown();
      if (!closed && h.reconnect) setTimeout(connect, backoffDelay(++retry));
    });
  };

  // The ws README pattern: ping every interval; no pong since the last ping means dead.
  const startHeartbeat = (current) => {
    let alive = true;
    current.on('pong', () => {
      alive = true;
    });
    beat = setInterval(() => {
      if (!alive) return current.terminate();
      alive = false;
      current.ping();
    }, h.heartbeat.interval);
  };

  return {
    start: connect,
    send: (obj) => ws.send(JSON.stringify(obj)),
    batch: corked
      ? (fn) => {
          sock.cork();
          fn();
          process.nextTick(() => sock.uncork());
        }
      : (fn) => fn(),
    held: () => null,
    isOpen: () => open,
    close: () => {
      closed = true;
      if (ws) ws.terminate();
    },
  };
}

function rxwire(url, h) {
  const mod = loadRxwire();
  if (mod instanceof Error) throw mod;
  const socket = mod.connect(url, {
    reconnect: {
      initialDelay: BACKOFF.initialDelay,
      maxDelay: BACKOFF.maxDelay,
      factor: BACKOFF.factor,
      jitter: false,
      resetAfter: BACKOFF.resetAfter,
    },
    ...(h.heartbeat ? { heartbeat: h.heartbeat } : {}),
    ...(h.buffer ? { buffer: h.buffer } : {}),
  });
  let status = 'idle';
  const stateSub = socket.state$.subscribe((s) => {
    const was = status;
    status = s.status;
    if (status === 'open' && was !== 'open') h.onOpen();
    if (was === 'open' && status !== 'open') h.onDown();
  });
  let sub = null;
  let dropped = 0;
  const droppedSub = socket.dropped$.subscribe(() => dropped++);
  return {
    start: () => {
      sub = socket.messages$.subscribe({ next: h.onMessage, error: h.onError });
    },
    dropped: () => dropped,
    send: (obj) => socket.send(obj),
    batch: (fn) => fn(),
    held: () => (typeof socket.buffered === 'number' ? socket.buffered : null),
    isOpen: () => status === 'open',
    close: () => {
      if (sub) sub.unsubscribe();
      stateSub.unsubscribe();
      droppedSub.unsubscribe();
      return socket.close();
    },
  };
}

function rxjs(url, h) {
  const WebSocket = require('ws');
  const { webSocket } = require('rxjs/webSocket');
  const { retry, timer } = require('rxjs');
  let open = false;
  const subject = webSocket({
    url,
    WebSocketCtor: WebSocket,
    openObserver: {
      next: () => {
        open = true;
        h.onOpen();
      },
    },
    closeObserver: {
      next: () => {
        const wasOpen = open;
        open = false;
        if (wasOpen) h.onDown();
      },
    },
  });
  let sub = null;
  return {
    start: () => {
      sub = subject
        .pipe(retry({ delay: (_err, n) => timer(backoffDelay(n)), resetOnSuccess: true }))
        .subscribe({ next: h.onMessage, error: h.onError });
    },
    send: (obj) => subject.next(obj),
    batch: (fn) => fn(),
    held: () => null, // queued in a private ReplaySubject; not exposed
    isOpen: () => open,
    close: () => {
      if (sub) sub.unsubscribe();
    },
  };
}

function rws(url, h) {
  const WebSocket = require('ws');
  const ReconnectingWebSocket = require('reconnecting-websocket');
  let socket = null;
  let open = false;
  return {
    start: () => {
      socket = new ReconnectingWebSocket(url, [], {
        WebSocket,
        minReconnectionDelay: BACKOFF.initialDelay,
        maxReconnectionDelay: BACKOFF.maxDelay,
        reconnectionDelayGrowFactor: BACKOFF.factor,
        minUptime: BACKOFF.resetAfter,
      });
      socket.addEventListener('message', (e) => h.onMessage(JSON.parse(e.data)));
      socket.addEventListener('open', () => {
        open = true;
        h.onOpen();
      });
      socket.addEventListener('close', () => {
        const wasOpen = open;
        open = false;
        if (wasOpen) h.onDown();
      });
      socket.addEventListener('error', () => {});
    },
    send: (obj) => socket.send(JSON.stringify(obj)),
    batch: (fn) => fn(),
    // The public API tells bytes (bufferedAmount); the message count is the private queue's.
    held: () => (socket ? socket._messageQueue.length : 0),
    isOpen: () => open,
    close: () => socket && socket.close(),
  };
}

function websocketTs(url, h) {
  // websocket-ts calls the global `new WebSocket(url, protocols)`; Node 20 has none by default.
  globalThis.WebSocket = require('ws');
  const { WebsocketBuilder, ArrayQueue } = require('websocket-ts');
  const queue = new ArrayQueue();
  let retries = 0;
  const backoff = {
    get retries() {
      return retries;
    },
    get current() {
      return backoffDelay(Math.max(1, retries));
    },
    next: () => backoffDelay(++retries),
    reset: () => {
      retries = 0;
    },
  };
  let socket = null;
  let open = false;
  return {
    start: () => {
      socket = new WebsocketBuilder(url)
        .withBuffer(queue)
        .withBackoff(backoff)
        .onOpen(() => {
          open = true;
          h.onOpen();
        })
        .onClose(() => {
          const wasOpen = open;
          open = false;
          if (wasOpen) h.onDown();
        })
        .onError(() => {})
        .onMessage((_i, ev) => h.onMessage(JSON.parse(ev.data)))
        .build();
    },
    send: (obj) => socket.send(JSON.stringify(obj)),
    batch: (fn) => fn(),
    held: () => queue.length(),
    isOpen: () => open,
    close: () => socket && socket.close(),
  };
}

/** The modules each adapter loads, so that a measurement can load them before its baseline. */
const MODULES = {
  ws: ['ws'],
  'ws-corked': ['ws'],
  rxwire: ['ws', 'rxjs'],
  rxjs: ['ws', 'rxjs', 'rxjs/webSocket'],
  rws: ['ws', 'reconnecting-websocket'],
  'websocket-ts': ['ws', 'websocket-ts'],
};

/**
 * Loads `lib`'s modules (and rxwire's build) without connecting: a per-connection memory figure
 * then counts connections, not the library's code.
 */
function preload(lib) {
  for (const name of MODULES[lib] || []) require(name);
  if (lib === 'rxwire') {
    const mod = loadRxwire();
    if (mod instanceof Error) throw mod;
  }
}

const FACTORIES = {
  ws: (url, h) => rawWs(url, h, false),
  'ws-corked': (url, h) => rawWs(url, h, true),
  rxwire,
  rxjs,
  rws,
  'websocket-ts': websocketTs,
};

module.exports = { create, preload, loadRxwire, loadRxwireServer, loadSessionDefaults, LIBS, CONFIG_NOTES, RXWIRE_MISSING, RXWIRE_PATH, RXWIRE_SERVER_PATH, RXWIRE_REDIS_PATH };
