/**
 * gorilla/websocket's chat example (a hub that relays what one client says to the others), done
 * with `rxwire/server`, in rooms:
 *
 *   npx tsx examples/chat-server.ts        (PORT=9000 to choose the port; Ctrl-C to stop)
 *
 * A client sends JSON: `{ "type": "join", "room": "lobby" }`, `{ "type": "leave", "room": "lobby" }`,
 * `{ "type": "say", "room": "lobby", "text": "hi" }`. Everyone in the room (the sender included)
 * gets `joined`, `left` and `said` messages; a bad message gets an `error` back, to its sender only.
 *
 * What gorilla's hub does by hand, and how it maps onto rxwire:
 * - Its `writePump` goroutine is the one writer per connection, because two goroutines writing
 *   at once corrupt the stream ("concurrent write to websocket connection"). Here every peer has
 *   its own writer: `peer.send()` and `server.publish()` can be called from anywhere.
 * - Its `send` channel (256 messages) is the bounded queue per client, and the hub closes a client
 *   whose channel is full. Here: `buffer` and `slowConsumer: 'close'` (close code 1013, which
 *   rxwire clients retry); a publish never waits for a slow client.
 * - Its ping ticker and read deadline are the heartbeat: one timer for all peers here.
 * - Its `maxMessageSize` is `maxPayload`; rooms are topics, each message serialized once per publish.
 * - On SIGINT/SIGTERM: a notice to everyone, then `server.close()`, which lets each peer's queue
 *   flush, closes every peer with 1001 and stops listening; the process then exits by itself.
 */
import { concatMap, filter, map, mergeMap, type Subscription } from 'rxjs';
import { listen, type Peer, type Server, type ServerOptions, type ShutdownReport } from '../lib/server/index.js';

// ---------------------------------------------------------------------------------------------
// The messages

/** What a client sends. */
export type ClientMessage =
  | { type: 'join'; room: string }
  | { type: 'leave'; room: string }
  | { type: 'say'; room: string; text: string };

/** What the server sends. `peer` and `from` are peer ids (`'1'`, `'2'`, … in accept order). */
export type ServerMessage =
  | { type: 'joined'; room: string; peer: string }
  | { type: 'left'; room: string; peer: string }
  | { type: 'said'; room: string; from: string; text: string }
  | { type: 'notice'; text: string }
  | { type: 'error'; message: string };

const MAX_ROOM = 64;
const MAX_TEXT = 1000;

/** A client message if `data` is one (it arrives as parsed JSON: anything), else why not. */
export function parseClientMessage(data: unknown): ClientMessage | string {
  if (typeof data !== 'object' || data === null) return 'expected a JSON object';
  const { type, room, text } = data as Record<string, unknown>;
  if (type !== 'join' && type !== 'leave' && type !== 'say') return "expected `type` to be 'join', 'leave' or 'say'";
  if (typeof room !== 'string' || room.length === 0 || room.length > MAX_ROOM) return `expected \`room\` to be a string of 1 to ${MAX_ROOM} characters`;
  if (type !== 'say') return { type, room };
  if (typeof text !== 'string' || text.length > MAX_TEXT) return `expected \`text\` to be a string of at most ${MAX_TEXT} characters`;
  return { type, room, text };
}

// ---------------------------------------------------------------------------------------------
// The server

export interface ChatServerOptions
  extends Pick<ServerOptions<unknown, ServerMessage>, 'port' | 'host' | 'path' | 'heartbeat' | 'buffer' | 'slowConsumer' | 'inboundRate' | 'allowedOrigins' | 'logger'> {
  /** Where connections, departures and drops are told. @default console.log */
  log?: (line: string) => void;
  /** `server.close()`'s timeout at `close()`: milliseconds for queues to flush and peers to close. @default 2000 */
  shutdownTimeout?: number;
}

export interface ChatServer {
  readonly server: Server<unknown, ServerMessage>;
  /** `ws://host:port/chat`. */
  readonly url: string;
  /** Tells every client the server is going away, then closes (see `server.close()`); idempotent. */
  close(): Promise<ShutdownReport>;
}

/**
 * Starts the chat server; resolves once it listens.
 *
 * @example
 * ```ts
 * const chat = await startChatServer({ port: 0 });
 * console.log(chat.url);
 * await chat.close();
 * ```
 */
export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  const { log = console.log, shutdownTimeout = 2000, ...serverOptions } = options;
  const server = listen<unknown, ServerMessage>({
    path: '/chat',
    maxPayload: 4096, // a chat line, not a file upload (gorilla's example allows 512 bytes)
    buffer: { size: 256, bytes: 256 * 1024, timeout: 10_000 }, // gorilla's send channel holds 256
    slowConsumer: 'close', // as gorilla's hub: a client that cannot keep up is let go (1013), not waited for
    heartbeat: { interval: 20_000, timeout: 10_000 },
    inboundRate: { perSecond: 20, burst: 40 }, // a flooding client is closed with 1008
    ...serverOptions,
  });

  // Subscribed before the first client can arrive: connections$ does not replay past peers.
  const handling: Subscription = server.connections$
    .pipe(
      mergeMap((peer) => {
        watch(peer, log);
        return peer.messages$.pipe(
          map((data) => handle(server, peer, data)),
          filter((reply): reply is ServerMessage => reply !== undefined),
          // One reply at a time per peer. A reply that is dropped (the peer left, or its queue is
          // full) rejects send()'s promise and is on peer.dropped$, counted in watch(); caught
          // here, or the drop would error this pipeline and end the handling of every peer.
          concatMap((reply) => peer.send(reply).catch(() => undefined)),
        );
      }),
    )
    .subscribe({ error: (error: unknown) => log(`chat: handling failed: ${String(error)}`) });

  await server.ready.catch((error: unknown) => {
    handling.unsubscribe();
    throw error;
  });

  let closing: Promise<ShutdownReport> | undefined;
  return {
    server,
    url: server.url,
    close: () =>
      (closing ??= (async () => {
        server.broadcast({ type: 'notice', text: 'server shutting down' }); // flushed before the close frames
        const report = await server.close({ timeout: shutdownTimeout });
        handling.unsubscribe();
        return report;
      })()),
  };
}

/** Does what a client message asks; returns the reply for this peer alone, if any. */
function handle(server: Server<unknown, ServerMessage>, peer: Peer<unknown, ServerMessage>, data: unknown): ServerMessage | undefined {
  const message = parseClientMessage(data);
  if (typeof message === 'string') return { type: 'error', message };
  const { room } = message;
  switch (message.type) {
    case 'join':
      if (peer.topics.has(room)) return undefined;
      peer.join(room);
      server.publish(room, { type: 'joined', room, peer: peer.id }); // the joiner included: its acknowledgement
      return undefined;
    case 'leave':
      if (!peer.topics.has(room)) return undefined;
      peer.leave(room);
      server.publish(room, { type: 'left', room, peer: peer.id });
      return { type: 'left', room, peer: peer.id };
    case 'say':
      if (!peer.topics.has(room)) return { type: 'error', message: `join ${room} first` };
      server.publish(room, { type: 'said', room, from: peer.id, text: message.text }); // serialized once for the room
      return undefined;
  }
}

/** Logs a peer's arrival, its errors (undecodable messages, limits), its drops, and its departure. */
function watch(peer: Peer<unknown, ServerMessage>, log: (line: string) => void): void {
  const { id, request } = peer;
  // Behind a proxy, remoteAddress is the proxy's, and the proxy says whom it forwards for.
  const forwarded = request.headers['x-forwarded-for'];
  log(`peer ${id} connected from ${request.remoteAddress}${forwarded === undefined ? '' : ` for ${String(forwarded)}`}`);
  const drops: Record<string, number> = {};
  peer.dropped$.subscribe(({ reason }) => (drops[reason] = (drops[reason] ?? 0) + 1));
  peer.errors$.subscribe((error) => log(`peer ${id}: ${error.message}`));
  void peer.closed.then(({ code, reason, initiator }) => {
    const dropped = Object.entries(drops).map(([why, n]) => `${n} ${why}`);
    log(`peer ${id} left: ${code}${reason ? ` ${reason}` : ''} (by the ${initiator})${dropped.length > 0 ? `, messages dropped: ${dropped.join(', ')}` : ''}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Run it

async function main(): Promise<void> {
  const port = process.env.PORT === undefined ? 8080 : Number(process.env.PORT);
  let chat: ChatServer;
  try {
    chat = await startChatServer({ port });
  } catch (error) {
    console.error(`Cannot listen on 127.0.0.1:${port}: ${(error as Error).message}. Set PORT to another port.`);
    process.exitCode = 1;
    return;
  }
  console.log(`chat: listening on ${chat.url}`);
  console.log(`chat: send {"type":"join","room":"lobby"}, then {"type":"say","room":"lobby","text":"hi"}. Ctrl-C to stop.`);
  const stop = (signal: NodeJS.Signals): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    console.log(`chat: ${signal}, closing`);
    void chat.close().then(({ peers, closedCleanly, terminated, dropped }) => {
      console.log(`chat: closed (${peers} peer${peers === 1 ? '' : 's'}: ${closedCleanly} closed cleanly, ${terminated} terminated; ${dropped} queued messages dropped)`);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) void main();
