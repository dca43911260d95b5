import type { SchedulerLike } from 'rxjs';
import { retrySettingsOf, type RetrySettings } from '../core/retry-with-backoff.js';
import type { Codec } from '../core/codec.js';
import type { OutboxConfig } from '../core/outbox.js';
import type { Delivery } from '../core/session-frames.js';
import type { OverflowPolicy } from '../core/send-queue.js';
import type { ReconnectOptions } from './options.js';

// Settings objects a client keeps as long as it lives, shared by the clients made alike: the last
// one made is kept for the next client, which takes it if its settings are equal. An application
// opening many connections with one configuration keeps one of each, not one per connection (and
// not its own options objects).

let lastSend: OutboxConfig<unknown> | undefined;
let lastRetry: RetrySettings | undefined;

/** What a client's reliable send without a session is told. */
const noSession = (): string => "`delivery: 'reliable'` needs a session: connect(url, { session: true })";

/**
 * A client's send and writer settings (shared while its codec is: clients without `serialize`
 * and `deserialize` share the JSON codec).
 *
 * @example
 * const a = sendConfig({ size: 1000, overflow: 'drop-newest', timeout: 10_000 }, 65536, asyncScheduler, codec, 'volatile');
 * a === sendConfig({ size: 1000, overflow: 'drop-newest', timeout: 10_000 }, 65536, asyncScheduler, codec, 'volatile'); // true
 */
export function sendConfig<Out>(
  buffer: { readonly size: number; readonly overflow: OverflowPolicy; readonly timeout: number },
  highWaterMark: number,
  scheduler: SchedulerLike,
  codec: Codec<unknown, Out>,
  delivery: Delivery,
): OutboxConfig<Out> {
  const { size, overflow, timeout } = buffer;
  const last = lastSend;
  if (
    last &&
    last.size === size &&
    last.overflow === overflow &&
    last.timeout === timeout &&
    last.highWaterMark === highWaterMark &&
    last.scheduler === scheduler &&
    last.codec === codec &&
    last.delivery === delivery
  ) {
    return last as OutboxConfig<Out>;
  }
  const made: OutboxConfig<Out> = { size, overflow, highWaterMark, scheduler, codec, delivery, timeout, noSession };
  lastSend = made as OutboxConfig<unknown>;
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
