import type { SchedulerLike } from 'rxjs';
import type { Codec } from '../core/codec.js';
import type { OpenConnection } from '../core/connection.js';
import type { HandshakeFunction } from '../core/handshake.js';
import type { AppPong } from '../core/receive.js';
import type { SocketStreams } from '../core/streams.js';
import type { Writer } from '../core/writer.js';
import type { WatchPage } from '../transports/page-events.js';
import type { ReconnectOptions } from './options.js';
import type { ClientResume } from './resume.js';

/** What the lifecycle asks of the client facade. */
export interface LifecycleHost<Out> {
  /** A connection opened, before `'open'` is announced: write what belongs to it (channel subscriptions). */
  connectionOpening(conn: OpenConnection): void;
  /** Writes a handshake's message on its connection at once (serialized; throws as `serialize` does). */
  handshakeWrite(conn: OpenConnection, message: Out): void;
}

/** How the lifecycle dials, retries and lingers. */
export interface LifecycleConfig<In, Out> {
  readonly handshake: HandshakeFunction<In, Out> | undefined;
  readonly reconnect: false | ReconnectOptions;
  readonly lazyCloseTimeout: number;
  readonly scheduler: SchedulerLike;
  readonly writer: Writer<Out>;
  /** Causes of a close that retrying cannot fix (TLS certificate errors in Node). */
  readonly isFatalCause: (cause: unknown) => boolean;
  readonly watchPage: WatchPage | undefined;
  /** The socket's streams: where messages, failures and the end go. */
  readonly streams: SocketStreams<In, Out>;
  readonly codec: Codec<In, Out>;
  /** With an application-level heartbeat: which messages are pongs. */
  readonly appPong: AppPong<In>;
  /** With resumable sessions: the client's end of the session, resumed on every connection. */
  readonly resume: ClientResume<Out> | undefined;
}
