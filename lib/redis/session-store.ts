import type { WireData } from '../core/codec.js';
import type { StoreBatch } from '../core/resumable.js';
import type { SessionStore, StoredSession } from '../server/session-store.js';

/** Runs one Redis command (node-redis's `sendCommand` on the broker's command connection). */
export type RedisCommand = (args: readonly string[]) => Promise<unknown>;

// Each session is two keys: a hash `<prefix>s:<id>` (owner, received, sent) and a stream
// `<prefix>s:<id>:o` of the messages to the client not yet acknowledged, entry id `0-<seq>`.
// Every write is one script (one round trip, atomic: a message received and the answers its
// handler sent are stored together or not at all) that first checks that the writing node still
// owns the session, and refreshes both keys' expiry.

const WRITE = `if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return redis.error_reply('MOVED the session belongs to another node') end
local last = nil
for i = 5, #ARGV, 2 do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '0-' .. ARGV[i], 'd', ARGV[i + 1])
  last = ARGV[i]
end
if last then redis.call('HSET', KEYS[1], 'sent', last) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'received', ARGV[4]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2]) redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;
const CLAIM = `local state = redis.call('HMGET', KEYS[1], 'received', 'sent')
if not state[1] then return false end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2]) redis.call('PEXPIRE', KEYS[2], ARGV[2])
return { state[1], state[2], redis.call('XRANGE', KEYS[2], '-', '+') }`;
const END = `if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

/**
 * The {@link SessionStore} of `redisBroker()`: sessions in Redis, so that a client whose node
 * died resumes on another. A binary message is kept as base64, a text one as it is.
 */
export class RedisSessionStore implements SessionStore {
  readonly #command: RedisCommand;
  readonly #nodeId: string;
  readonly #prefix: string;
  /** The stream's length bound (approximate): the retention's size, with room. */
  readonly #maxLength: number;

  constructor(command: RedisCommand, nodeId: string, prefix: string, maxLength = 100_000) {
    this.#command = command;
    this.#nodeId = nodeId;
    this.#prefix = prefix;
    this.#maxLength = maxLength;
  }

  async create(id: string, ttl: number): Promise<void> {
    const [meta, out] = this.#keys(id);
    await this.#command(['EVAL', "redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'received', 0, 'sent', 0) redis.call('PEXPIRE', KEYS[1], ARGV[2]) redis.call('DEL', KEYS[2]) return 1", '2', meta, out, this.#nodeId, String(ttl)]);
  }

  async claim(id: string, ttl: number): Promise<StoredSession | undefined> {
    const reply = (await this.#command(['EVAL', CLAIM, '2', ...this.#keys(id), this.#nodeId, String(ttl)])) as [string, string, Array<[string, string[]]>] | null;
    if (!reply) return undefined;
    const [received, sent, entries] = reply;
    const outgoing = entries.map(([entryId, fields]) => ({ seq: Number(entryId.slice(2)), data: decode(fields[1] as string) }));
    return { received: Number(received), sent: Number(sent), outgoing };
  }

  async write(id: string, { received, sent }: StoreBatch, ttl: number): Promise<void> {
    const args = ['EVAL', WRITE, '2', ...this.#keys(id), this.#nodeId, String(ttl), String(this.#maxLength), received === undefined ? '' : String(received)];
    for (const { seq, data } of sent) args.push(String(seq), encode(data));
    await this.#command(args);
  }

  async acknowledged(id: string, seq: number): Promise<void> {
    await this.#command(['XTRIM', this.#keys(id)[1], 'MINID', `0-${seq + 1}`]);
  }

  async touch(ids: readonly string[], ttl: number): Promise<void> {
    await Promise.all(ids.flatMap((id) => this.#keys(id).map((key) => this.#command(['PEXPIRE', key, String(ttl)]))));
  }

  async end(id: string): Promise<boolean> {
    return (await this.#command(['EVAL', END, '2', ...this.#keys(id), this.#nodeId])) === 1;
  }

  #keys(id: string): [string, string] {
    return [`${this.#prefix}s:${id}`, `${this.#prefix}s:${id}:o`];
  }
}

/** A message as the stream keeps it: `t` + text, or `b` + base64 of the bytes. */
function encode(data: WireData): string {
  if (typeof data === 'string') return 't' + data;
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return 'b' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function decode(stored: string): WireData {
  return stored.startsWith('b') ? new Uint8Array(Buffer.from(stored.slice(1), 'base64')) : stored.slice(1);
}
