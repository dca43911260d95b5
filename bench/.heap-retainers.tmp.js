'use strict';
// Where an idle connection's heap goes, by object: the figures behind docs/benchmarks.md's
// "Idle memory" section.
//
//   node --expose-gc bench/heap-per-connection.js server|client rxwire|ws [connections]
//
// server: a listen() (or a raw ws server, with the ws README's heartbeat) in this process, the
// clients (plain ws) in a child; client: connect() (or raw ws) clients in this process, an echo
// server in a child. Heartbeat 1 s / 0.5 s, as the server-idle and idle scenarios. A heap
// snapshot before and after the connections; the objects that are new in the second are grouped
// by constructor and property names, per connection. Snapshots go to os.tmpdir() and are removed.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const { fork } = require('node:child_process');
const { RXWIRE_PATH, RXWIRE_SERVER_PATH } = require('./adapters.js');

const IS_CHILD = process.argv[2] === '--child';
const [side, lib, count] = process.argv.slice(2);
const n = Number(count || (side === 'server' ? 1000 : 500));
const heartbeat = { interval: 1000, timeout: 500 };
if (!IS_CHILD && !global.gc) throw new Error('run with node --expose-gc');
if (!IS_CHILD && (!['server', 'client'].includes(side) || !['rxwire', 'ws'].includes(lib))) {
  throw new Error('usage: node --expose-gc bench/heap-per-connection.js server|client rxwire|ws [connections]');
}

const WebSocket = require('ws');
const gc = () => {
  for (let i = 0; i < 4; i++) global.gc();
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function child(role, arg) {
  const proc = fork(__filename, ['--child', role, String(arg)], { stdio: 'inherit' });
  const [port] = await new Promise((resolve) => proc.once('message', (m) => resolve([m])));
  return { proc, port };
}

async function runChild(role, arg) {
  if (role === 'clients') {
    const sockets = [];
    for (let i = 0; i < Number(arg.split(':')[1]); i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${arg.split(':')[0]}`);
      sockets.push(ws);
      await new Promise((resolve) => ws.once('open', resolve));
    }
    process.send('open');
  } else {
    const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
    wss.on('listening', () => process.send(wss.address().port));
  }
  process.on('disconnect', () => process.exit(0));
}

/** Writes a heap snapshot after GC; returns its file (parsed only once the measuring is done). */
function snapshot() {
  gc();
  return v8.writeHeapSnapshot(path.join(os.tmpdir(), `rxwire-heap-${process.pid}-${Date.now()}.heapsnapshot`));
}

function load(file) {
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);
  return data;
}

/** New objects of `after` (ids not in `before`), grouped by type, name and property names, per connection. */
function groups(before, after) {
  const m = after.snapshot.meta;
  const nf = m.node_fields;
  const N = nf.length;
  const E = m.edge_fields.length;
  const types = m.node_types[0];
  const etypes = m.edge_types[0];
  const [ti, ni, ii, si, eci] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => nf.indexOf(f));
  const [eti, eni] = ['type', 'name_or_index'].map((f) => m.edge_fields.indexOf(f));
  const old = new Set();
  const bN = before.snapshot.meta.node_fields.length;
  const bid = before.snapshot.meta.node_fields.indexOf('id');
  for (let i = 0; i < before.nodes.length; i += bN) old.add(before.nodes[i + bid]);
  const agg = new Map();
  let total = 0;
  // retainers: node index -> first retainer key
  const ret = new Map();
  const [tni] = ['to_node'].map((f) => m.edge_fields.indexOf(f));
  for (let i = 0, e = 0; i < after.nodes.length; i += N) {
    const edges = after.nodes[i + eci];
    for (let k = 0; k < edges; k++) {
      const to = after.edges[(e + k) * E + tni];
      const et = etypes[after.edges[(e + k) * E + eti]];
      if (et === 'weak') continue;
      if (!ret.has(to)) {
        const en = et === 'element' || et === 'hidden' ? after.edges[(e + k) * E + eni] : after.strings[after.edges[(e + k) * E + eni]];
        ret.set(to, `${after.strings[after.nodes[i + ni]].slice(0,30)}.${en}`);
        global.parent = global.parent || new Map();
        global.parent.set(to, i);
      }
    }
    e += edges;
  }
  for (let i = 0, e = 0; i < after.nodes.length; i += N) {
    const edges = after.nodes[i + eci];
    if (!old.has(after.nodes[i + ii])) {
      const type = types[after.nodes[i + ti]];
      const size = after.nodes[i + si];
      total += size;
      const names = [];
      if (type === 'object') {
        for (let k = 0; k < edges && names.length < 6; k++) {
          if (etypes[after.edges[(e + k) * E + eti]] === 'property') names.push(after.strings[after.edges[(e + k) * E + eni]]);
        }
      }
      if ((type === 'string' || type === 'concatenated string' || type === 'sliced string') && global.samples && global.samples.length < 400 && !String(ret.get(i)).startsWith("(")) global.samples.push(`${ret.get(i)}: ${after.strings[after.nodes[i + ni]].slice(0,50)} ${size}`);
      if (type === 'object shape' || (type === 'array' && after.strings[after.nodes[i + ni]] === '(object properties)') || (type === 'object' && ['Map','Set','AsyncAction','Timeout','ReplaySubject','Array'].includes(after.strings[after.nodes[i + ni]]))) { let p = i; const chain = []; for (let d = 0; d < 4 && global.parent.has(p); d++) { p = global.parent.get(p); chain.push(after.strings[after.nodes[p + ni]].slice(0, 40) + ':' + types[after.nodes[p + ti]]); } global.shapes = global.shapes || new Map(); const k = after.strings[after.nodes[i + ni]] + ' <- ' + chain.join(' <- '); global.shapes.set(k, (global.shapes.get(k) || 0) + 1); }
      const name = type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '(string)' : after.strings[after.nodes[i + ni]];
      const key = `${type} ${name.slice(0, 40)} <- ${(['array','closure','object'].includes(type) && (name==='' || name==='Array' || name==='system / Context' || type==='array' || type==='closure')) ? ret.get(i) : ''}${names.length ? ` {${names.filter((x) => x !== 'map').join(',')}}` : ''}`;
      const v = agg.get(key) || [0, 0];
      v[0]++;
      v[1] += size;
      agg.set(key, v);
    }
    e += edges;
  }
  return { total: total / n, rows: [...agg].map(([k, [c, s]]) => [k, c / n, s / n]).sort((a, b) => b[2] - a[2]) };
}

global.samples = [];
async function main() {
  if (IS_CHILD) return runChild(process.argv[3], process.argv[4]);
  let count = () => 0;
  let open;
  if (side === 'server') {
    if (lib === 'rxwire') {
      const { listen } = require(RXWIRE_SERVER_PATH);
      const server = listen({ port: 0, host: '127.0.0.1', heartbeat });
      server.connections$.subscribe((peer) => {
        peer.messages$.subscribe();
        peer.dropped$.subscribe(() => {});
        peer.closed.then(() => {});
      });
      await server.ready;
      count = () => server.peers.size;
      open = server.port;
    } else {
      const wss = new WebSocket.WebSocketServer({ port: 0, host: '127.0.0.1' });
      await new Promise((resolve) => wss.once('listening', resolve));
      wss.on('connection', (ws) => {
        ws.on('message', () => {});
        ws.on('close', () => {});
        ws.isAlive = true;
        ws.on('pong', () => (ws.isAlive = true));
      });
      setInterval(() => {
        for (const ws of wss.clients) {
          if (ws.isAlive === false) ws.terminate();
          else (ws.isAlive = false), ws.ping();
        }
      }, heartbeat.interval).unref();
      count = () => wss.clients.size;
      open = wss.address().port;
    }
  }
  // Loaded before the first snapshot: its modules' code and sources are not the connections'.
  const rx = side === 'client' && lib === 'rxwire' ? require(RXWIRE_PATH) : undefined;
  const beforeFile = snapshot();
  gc();
  const baseHeap = process.memoryUsage().heapUsed;
  const children = [];
  if (side === 'server') {
    const proc = fork(__filename, ['--child', 'clients', `${open}:${n}`], { stdio: 'inherit' });
    children.push(proc);
    await new Promise((resolve) => proc.once('message', resolve));
    while (count() < n) await sleep(50);
  } else {
    const { proc, port } = await child('echo', 0);
    children.push(proc);
    const url = `ws://127.0.0.1:${port}`;
    const kept = [];
    for (let i = 0; i < n; i++) {
      if (rx) {
        const socket = rx.connect(url, { heartbeat });
        socket.messages$.subscribe();
        await socket.opened();
        kept.push(socket);
      } else {
        const ws = new WebSocket(url);
        ws.on('message', () => {});
        await new Promise((resolve) => ws.once('open', resolve));
        kept.push(ws);
      }
    }
    global.kept = kept;
  }
  await sleep(2500);
  gc();
  const heapPerConn = (process.memoryUsage().heapUsed - baseHeap) / 1024 / n;
  const afterFile = snapshot();
  for (const proc of children) proc.kill();
  const { total, rows } = groups(load(beforeFile), load(afterFile));
  console.log(`${side} ${lib}: ${n} connections, heapUsed ${heapPerConn.toFixed(2)} KB per connection, ${(total / 1024).toFixed(2)} KB of new objects in the snapshot`);
  console.log('bytes/conn  count/conn  object');
  for (const [key, c, s] of rows.filter((r) => r[1] >= 0.5).slice(0, 70)) console.log(`${s.toFixed(0).padStart(10)}  ${c.toFixed(2).padStart(10)}  ${key}`);
  console.log([...(global.shapes || new Map())].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${v} ${k}`).join('\n'));
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
