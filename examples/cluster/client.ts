/**
 * A chat client for the three nodes of examples/cluster/node.ts:
 *
 *   NAME=alice node --import tsx examples/cluster/client.ts ws://127.0.0.1:9001 ws://127.0.0.1:9002 ws://127.0.0.1:9003
 *
 * Each line typed (stdin) is said in the room; each line said in the room is printed as
 * `[via node-2] bob: hi`. Kill the node it is connected to and it carries on through the next one:
 * its URL function moves to the next node on every attempt, and its session (kept in Redis by the
 * nodes) resumes there — what it sent is neither lost nor doubled, and what the room said to it
 * before the kill and had not reached it yet is replayed. At the end of stdin (Ctrl-D) it waits for
 * the receipts of what it sent, closes, and exits by itself.
 *
 * With a load balancer in front of the nodes, give `connect()` the balancer's one URL instead:
 * rxwire needs no sticky sessions, a resumed session is found in Redis by whichever node gets it.
 */
import { createInterface } from 'node:readline';
import { connect, SessionLostError, type RxSocket } from '../../lib/index.js';
import type { ChatLine, NodeMessage } from './node.js';

/**
 * A session client over `nodes`: the first attempt goes to `nodes[0]`, every later one to the
 * next node, round and round; `onDial` is told each node it dials.
 *
 * @example
 * ```ts
 * const socket = clusterClient(['ws://127.0.0.1:9001', 'ws://127.0.0.1:9002'], 'alice');
 * socket.messages$.subscribe((m) => console.log(m));
 * await socket.send({ text: 'hi' }); // resolves at the receipt of the node that has the session then
 * ```
 */
export function clusterClient(nodes: readonly string[], name: string, onDial: (node: string) => void = () => undefined): RxSocket<NodeMessage, ChatLine> {
  if (nodes.length === 0) throw new TypeError('Expected at least one node URL');
  let attempt = 0;
  const next = (): string => {
    const node = nodes[attempt++ % nodes.length] as string;
    onDial(node);
    const url = new URL(node);
    url.searchParams.set('name', name); // the node reads it from the request (node.ts, nameOf)
    return url.href;
  };
  return connect<NodeMessage, ChatLine>(next, {
    session: true, // reliable by default: each send() resolves at the receipt, and is replayed after a reconnect
    reconnect: { initialDelay: 100, maxDelay: 2000 },
    logger: false,
  });
}

async function main(): Promise<void> {
  const nodes = process.argv.slice(2);
  const name = process.env.NAME ?? 'anonymous';
  if (nodes.length === 0) {
    console.error('usage: NAME=alice node --import tsx examples/cluster/client.ts <node url> [<node url> …]');
    process.exitCode = 2;
    return;
  }
  let dialed = '';
  const socket = clusterClient(nodes, name, (node) => (dialed = node));
  let wasOpen = false;
  socket.state$.subscribe(({ status, session }) => {
    if (status === 'open' && !wasOpen) console.log(`connected to ${dialed} (session ${session?.id.slice(0, 8) ?? '?'}, ${session?.resumed ? 'resumed' : 'new'})`);
    wasOpen = status === 'open';
  });
  socket.errors$.subscribe((error) => {
    if (error instanceof SessionLostError) console.log(`session lost: ${error.message}`); // e.g. away longer than the nodes' resumeWindow
  });
  socket.messages$.subscribe({
    next: (message) => console.log(message.type === 'said' ? `[via ${message.via}] ${message.from}: ${message.text}` : `error: ${message.message}`),
    error: (error: unknown) => console.log(`stopped: ${String(error)}`),
  });

  const receipts: Array<Promise<boolean>> = [];
  const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on('line', (text) => receipts.push(socket.send({ text }).then(() => true, () => false)));
  input.once('close', () => {
    void Promise.all(receipts)
      .then((outcomes) => {
        const failed = outcomes.filter((ok) => !ok).length;
        console.log(`${outcomes.length - failed} of ${outcomes.length} lines acknowledged, closing`);
        if (failed > 0) process.exitCode = 1;
        return socket.close();
      })
      .then(() => console.log('closed'));
  });
}

if (require.main === module) void main();
