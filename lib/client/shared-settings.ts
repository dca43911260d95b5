import type { SchedulerLike } from 'rxjs';
import { retrySettingsOf, type RetrySettings } from '../core/retry-with-backoff.js';
import type { Codec } from '../core/codec.js';
import type { OutboxSettings } from '../core/outbox.js';
import type { Delivery } from '../core/session-frames.js';
import type { OverflowPolicy } from '../core/send-queue.js';
import type { WriterConfig } from '../core/writer-config.js';
import type { ReconnectOptions } from './options.js';

// Settings objects a client keeps as long as it lives, shared by the clients made alike: the last
// one made is kept for the next client, which takes it if its settings are equal. An application
// opening many connections with one configuration keeps one of each, not one per connection (and
// not its own options objects).

let lastWriter: WriterConfig | undefined;
let lastRetry: RetrySettings | undefined;
let lastOutbox: OutboxSettings<unknown> | undefined;

/**
 * A client's writer settings.
 *
 * @example
 * writerConfig(1000, 'drop-newest', 65536, asyncScheduler) === writerConfig(1000, 'drop-newest', 65536, asyncScheduler); // true
 */
export function writerConfig(size: number, overflow: OverflowPolicy, highWaterMark: number, scheduler: SchedulerLike): WriterConfig {
  const last = lastWriter;
  if (last && last.size === size && last.overflow === overflow && last.highWaterMark === highWaterMark && last.scheduler === scheduler) return last;
  return (lastWriter = { size, overflow, highWaterMark, scheduler });
}

/** What a client's reliable send without a session is told. */
const noSession = (): string => "`delivery: 'reliable'` needs a session: connect(url, { session: true })";

/**
 * A client's send settings (shared when its codec is: the default JSON codec is one for all).
 *
 * @example
 * outboxSettings(codec, 'volatile', 10_000) === outboxSettings(codec, 'volatile', 10_000); // true
 */
export function outboxSettings<Out>(codec: Codec<unknown, Out>, delivery: Delivery, timeout: number): OutboxSettings<Out> {
  const last = lastOutbox;
  if (last && last.codec === codec && last.delivery === delivery && last.timeout === timeout) return last as OutboxSettings<Out>;
  const made: OutboxSettings<Out> = { codec, delivery, timeout, noSession };
  lastOutbox = made as OutboxSettings<unknown>;
  return made;
}

/**
 * A client's retry settings from its `reconnect` option (copied: the option object is not kept).
 *
 * @example
 * retrySettings({ initialDelay: 500 }, asyncScheduler) === retrySettings({ initialDelay: 500 }, asyncScheduler); // true
 */
export function retrySettings(reconnect: ReconnectOptions, scheduler: SchedulerLike): RetrySettings {
  const settings = retrySettingsOf(reconnect, scheduler);
  const last = lastRetry;
  if (last && sameRetry(last, settings)) return last;
  return (lastRetry = settings);
}

function sameRetry(a: RetrySettings, b: RetrySettings): boolean {
  return (
    a.initialDelay === b.initialDelay &&
    a.maxDelay === b.maxDelay &&
    a.factor === b.factor &&
    a.jitter === b.jitter &&
    a.random === b.random &&
    a.maxAttempts === b.maxAttempts &&
    a.resetAfter === b.resetAfter &&
    a.scheduler === b.scheduler
  );
}
