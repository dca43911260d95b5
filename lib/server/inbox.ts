import type { SchedulerLike, Subscriber } from 'rxjs';
import type { Codec } from '../core/codec.js';
import type { Reporter } from '../core/report.js';
import { SocketStreams } from '../core/streams.js';
import { receive, type ReceiveTarget } from '../core/receive.js';
import type { PeerSession } from './peer-session.js';

/** What `#held` is once the first subscriber took the messages held for it. */
const SUBSCRIBED = 1;

/** What a peer's inbox needs from its server. */
export interface InboxConfig<In> {
  readonly codec: Codec<In, unknown>;
  readonly report: Reporter;
  readonly scheduler: SchedulerLike;
  readonly holdLimit: number;
  readonly inboundRate: false | { perSecond: number; burst: number };
}

/** The peer: its id (for its warnings), and who hears of a client that broke a limit (the peer closes it with 1008). */
export interface InboxOwner {
  readonly id: string;
  violation(message: string, reason: string): void;
}

/**
 * A peer's receive side, and its streams ({@link SocketStreams}: `messages$`, `errors$`,
 * `dropped$`): the inbound rate limit, the session's frames, decoding, and what arrives before the
 * application subscribes (held, up to `holdLimit`, and given to the first subscriber). A limit
 * broken calls `violation`.
 *
 * @example
 * const inbox = new PeerInbox<Msg, Msg>(context, peer);
 * inbox.receive('{"hello":1}', undefined); // held until the first subscription to messages$
 */
export class PeerInbox<In, Out> extends SocketStreams<In, Out> implements ReceiveTarget<In> {
  readonly #config: InboxConfig<In>;
  readonly #owner: InboxOwner;
  /** Messages before the first subscription to messages$ (made on the first of them); `SUBSCRIBED` after it. */
  #held: In[] | undefined | typeof SUBSCRIBED;
  /** The inbound rate limit's bucket, with a limit only: its tokens, and when they were counted. */
  readonly #bucket: { tokens: number; at: number } | undefined;

  constructor(config: InboxConfig<In>, owner: InboxOwner) {
    super();
    this.#config = config;
    this.#owner = owner;
    if (config.inboundRate) this.#bucket = { tokens: config.inboundRate.burst, at: config.scheduler.now() };
  }

  get report(): Reporter {
    return this.#config.report;
  }

  protected override get peerId(): string {
    return this.#owner.id;
  }

  /** The first subscriber gets what was held, then every message. */
  protected override _subscribe(subscriber: Subscriber<In>): (() => void) | undefined {
    const held = this.#held;
    if (held !== SUBSCRIBED) {
      this.#held = SUBSCRIBED;
      if (held) for (const message of held) subscriber.next(message);
    }
    return super._subscribe(subscriber);
  }

  /** An incoming frame; in a session, its frame first (a throw there is a protocol error: 1002). */
  receive(data: string | Uint8Array, session: PeerSession<unknown> | undefined): void {
    const bucket = this.#bucket;
    if (bucket) {
      const rate = this.#config.inboundRate as { perSecond: number; burst: number };
      const now = this.#config.scheduler.now();
      bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.at) * rate.perSecond) / 1000);
      bucket.at = now;
      if (bucket.tokens < 1) return this.#owner.violation(`more than ${rate.perSecond} messages per second (burst ${rate.burst}): inboundRate`, 'rate limit');
      bucket.tokens -= 1;
    }
    if (!session) return receive(data, this.#config.codec, undefined, this);
    const payload = session.receive(data);
    if (payload !== undefined) receive(payload, this.#config.codec, undefined, this);
  }

  /** A session's reliable message, delivered once the session store has it. */
  payload(payload: string | Uint8Array): void {
    receive(payload, this.#config.codec, undefined, this);
  }

  // ReceiveTarget: the server uses ping frames, so no message is a pong.
  pong(): void {}

  deliver(message: In): void {
    let held = this.#held;
    if (held === SUBSCRIBED) return this.next(message);
    if (held === undefined) held = this.#held = [];
    if (held.length >= this.#config.holdLimit) {
      return this.#owner.violation(`more than ${this.#config.holdLimit} messages arrived before the application subscribed to messages$ (holdLimit)`, 'hold limit');
    }
    held.push(message);
  }

  receiveFailed(error: Error, kind: string, what: string): void {
    this.reportError(error, kind, what);
  }
}
