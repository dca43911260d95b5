/**
 * One node of a chat cluster: `rxwire/server` with the Redis broker, its sessions kept in Redis.
 * Run three on one machine (see examples/cluster/README.md):
 *
 *   redis-server --port 6379 --save '' --appendonly no &
 *   NODE=node-1 PORT=9001 node --import tsx examples/cluster/node.ts &
 *   NODE=node-2 PORT=9002 node --import tsx examples/cluster/node.ts &
 *   NODE=node-3 PORT=9003 node --import tsx examples/cluster/node.ts &
 *
 * Environment: PORT (default 9001; 0 picks a free one), NODE (this node's name, default
 * `node-<port>`), REDIS_URL (default redis://127.0.0.1:6379). Ctrl-C or SIGTERM closes it, and it
 * exits by itself.
 *
 * Every client is in one room, `lobby`, and names itself in its URL (`ws://host:port/?name=alice`).
 * A client sends `{ "text": "hi" }`; the node publishes `{ type: 'said', from, text, via }` to the
 * room (`via`: the node that relayed it), and Redis carries it to the room's members on the other
 * nodes. A bad message gets `{ type: 'error', message }` back, to its sender only.
 *
 * What makes it a cluster:
 * - `broker: redisBroker({ url })`: `server.publish()` reaches the peers of every node, once, in
 *   this node's publish order; each node holds one Redis subscription for the room, not one per peer.
 * - `session: { store: 'broker' }`: a client that asks for a session (`connect(url, { session:
 *   true })`) keeps it in Redis, so when its node dies it resumes on another, and no reliable
 *   message is lost or doubled in either direction. What was published to the room while the client
 *   had no node at all is not replayed: pub/sub keeps no history (the broker's gaps say when a node
 *   missed some).
 * - Redis faults are reported, never silent: health changes, gaps and publishes that could not be
 *   relayed are logged.
 */
import { listen, type Peer, type Server, type ShutdownReport } from '../../lib/server/index.js';
import { redisBroker } from '../../lib/redis/index.js';

// ---------------------------------------------------------------------------------------------
// The messages

/** What a client sends. */
export interface ChatLine {
  text: string;
}

/** What a node sends. `via` is the node that relayed the line from its author. */
export type NodeMessage = { type: 'said'; from: string; text: string; via: string } | { type: 'error'; message: string };

export const ROOM = 'lobby';
const MAX_TEXT = 1000;

/** The line if `data` is one (it arrives as parsed JSON: anything), else why not. */
export function parseChatLine(data: unknown): ChatLine | string {
  if (typeof data !== 'object' || data === null) return 'expected a JSON object';
  const { text } = data as Record<string, unknown>;
  if (typeof text !== 'string' || text.length > MAX_TEXT) return `expected \`text\` to be a string of at most ${MAX_TEXT} characters`;
  return { text };
}

/** The name a client gave in its URL's query (`?name=alice`), or `anonymous`. */
export function nameOf(url: string): string {
  const name = new URL(url, 'ws://localhost').searchParams.get('name');
  return name && /^[\w.-]{1,32}$/.test(name) ? name : 'anonymous';
}

// ---------------------------------------------------------------------------------------------
// The node

export interface ClusterNodeOptions {
  /** @default 9001 */
  port?: number;
  /** This node's name, shown as `via` on what it relays. @default `node-<port>` */
  name?: string;
  /** @default 'redis://127.0.0.1:6379' */
  redisUrl?: string;
  /** Where arrivals, departures and Redis faults are told. @default console.log */
  log?: (line: string) => void;
}

export interface ClusterNode {
  readonly server: Server<unknown, NodeMessage>;
  readonly name: string;
  /** `ws://127.0.0.1:<port>`. */
  readonly url: string;
  /** Closes the server, which closes the broker; idempotent. */
  close(): Promise<ShutdownReport>;
}

/**
 * Starts a node; resolves once it listens.
 *
 * @example
 * ```ts
 * const node = await startClusterNode({ port: 0, name: 'node-1', redisUrl: 'redis://127.0.0.1:6379' });
 * console.log(node.url);
 * await node.close();
 * ```
 */
export async function startClusterNode(options: ClusterNodeOptions = {}): Promise<ClusterNode> {
  const { port = 9001, redisUrl = 'redis://127.0.0.1:6379', log = console.log } = options;
  const broker = redisBroker({ url: redisUrl, logger: false });
  const server = listen<unknown, NodeMessage>({
    port,
    broker,
    maxPayload: 4096, // a chat line, not a file upload
    session: { store: 'broker', resumeWindow: 60_000 }, // a client has a minute to come back, on any node
    logger: false,
  });
  await server.ready;
  const name = options.name ?? `node-${server.port}`;

  // The first health is 'down' without an error while the first connection is being made.
  broker.health$.subscribe(({ status, error }) => log(`${name}: redis ${status === 'down' && !error ? 'connecting' : status}${error ? ` (${error.message})` : ''}`));
  broker.gaps$.subscribe(({ from, to }) => log(`${name}: missed what the other nodes published for ${to - from} ms (Redis was away)`));
  server.relayErrors$.subscribe((error) => log(`${name}: not relayed to the other nodes: ${error.message}`));
  server.connections$.subscribe((peer) => serve(server, peer, name, log));

  let closing: Promise<ShutdownReport> | undefined;
  return { server, name, url: server.url, close: () => (closing ??= server.close({ timeout: 2000 })) };
}

/** Puts a peer in the room and publishes what it says; a session peer comes here again on the node that takes it over. */
function serve(server: Server<unknown, NodeMessage>, peer: Peer<unknown, NodeMessage>, node: string, log: (line: string) => void): void {
  const who = nameOf(peer.request.url);
  log(`${node}: ${who} is here${peer.sessionId ? ` (session ${peer.sessionId.slice(0, 8)})` : ''}`);
  peer.join(ROOM);
  peer.messages$.subscribe((data) => {
    const line = parseChatLine(data);
    if (typeof line === 'string') void peer.send({ type: 'error', message: line }).catch(() => undefined);
    else server.publish(ROOM, { type: 'said', from: who, text: line.text, via: node }); // serialized once, for every node
  });
  void peer.closed.then(({ code, initiator }) => log(`${node}: ${who} left (${code}, by the ${initiator})`));
}

// ---------------------------------------------------------------------------------------------
// Run it

async function main(): Promise<void> {
  const port = process.env.PORT === undefined ? 9001 : Number(process.env.PORT);
  let node: ClusterNode;
  try {
    node = await startClusterNode({ port, name: process.env.NODE, redisUrl: process.env.REDIS_URL });
  } catch (error) {
    console.error(`Cannot start on 127.0.0.1:${port}: ${(error as Error).message}`);
    process.exitCode = 1;
    return;
  }
  console.log(`${node.name}: listening on ${node.url}`);
  const stop = (signal: NodeJS.Signals): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    console.log(`${node.name}: ${signal}, closing`);
    void node.close().then(({ peers, closedCleanly }) => console.log(`${node.name}: closed (${closedCleanly} of ${peers} peers closed cleanly)`));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) void main();
