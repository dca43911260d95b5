import type { SchedulerLike } from 'rxjs';
import type { Codec } from '../core/codec.js';
import type { OutboxConfig } from '../core/outbox.js';
import type { Reporter } from '../core/report.js';
import type { Delivery } from '../core/session-frames.js';
import { resolveSession } from '../core/session-options.js';
import { listenToAccepted } from '../transports/ws-accepted.js';
import { SERVER_DEFAULTS, type ServerOptions } from './options.js';
import type { PeerContext } from './peer-api.js';

/** The settings every peer of a server shares: its context without the server's callbacks. */
export type PeerSettings<In, Out> = Omit<PeerContext<In, Out>, 'joined' | 'left' | 'gone' | 'drains' | 'track'>;

/** What a peer's reliable send without a session is told. */
const noSession = (): string => "`delivery: 'reliable'` needs a session: this peer's client did not ask for one";

/**
 * A server's options resolved, once, into what its peers share: one object each for their
 * writers and send paths, their connection runtimes and their sessions. `track` is told of each
 * socket that closes in the background (for a shutdown to wait for).
 *
 * @example
 * const settings = peerSettings({ buffer: { size: 100 } }, codec, createReporter(undefined), asyncScheduler, track);
 * settings.sends.volatile.size; // 100
 */
export function peerSettings<In, Out>(
  options: ServerOptions<In, Out>,
  codec: Codec<In, Out>,
  report: Reporter,
  scheduler: SchedulerLike,
  track: (closing: Promise<unknown>) => void,
): PeerSettings<In, Out> {
  const buffer = { ...SERVER_DEFAULTS.buffer, ...options.buffer };
  const rate = options.inboundRate;
  const session = resolveSession(options.session);
  const resumeWindow = (typeof options.session === 'object' ? options.session.resumeWindow : undefined) ?? SERVER_DEFAULTS.session.resumeWindow;
  const slowConsumer = options.slowConsumer ?? SERVER_DEFAULTS.slowConsumer;
  const highWaterMark = options.highWaterMark ?? SERVER_DEFAULTS.highWaterMark;
  const closeTimeout = options.closeTimeout ?? SERVER_DEFAULTS.closeTimeout;
  const overflow = slowConsumer === 'drop-newest' ? 'drop-newest' : 'drop-oldest';
  // Every peer's writer and send settings, as a literal (one hidden class).
  const sendConfig = (delivery: Delivery): OutboxConfig<Out> => ({
    size: buffer.size,
    bytes: buffer.bytes,
    overflow,
    highWaterMark,
    scheduler,
    codec: codec as Codec<unknown, Out>,
    delivery,
    timeout: buffer.timeout,
    noSession,
  });
  return {
    session: session && {
      ...session,
      resumeWindow,
      store: typeof options.session === 'object' && options.session.store === 'broker' && options.broker?.sessions ? { api: options.broker.sessions } : undefined,
    },
    codec,
    scheduler,
    buffer,
    slowConsumer,
    closeTimeout,
    sends: { volatile: sendConfig('volatile'), session: sendConfig(session ? session.delivery : 'volatile') },
    connections: {
      listen: listenToAccepted,
      scheduler,
      closeTimeout,
      heartbeat: false, // the server's shared timer pings every peer
      handshake: undefined,
      onClosing: track,
    },
    holdLimit: options.holdLimit ?? SERVER_DEFAULTS.holdLimit,
    inboundRate: rate ? { perSecond: rate.perSecond, burst: rate.burst ?? Math.max(1, Math.ceil(rate.perSecond)) } : false,
    report,
  };
}
