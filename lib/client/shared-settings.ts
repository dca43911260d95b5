import type { SchedulerLike } from 'rxjs';
import { retrySettingsOf, type RetrySettings } from '../core/retry-with-backoff.js';
import type { OverflowPolicy } from '../core/send-queue.js';
import type { WriterConfig } from '../core/writer-config.js';
import type { ReconnectOptions } from './options.js';

// Settings objects a client keeps as long as it lives, shared by the clients made alike: the last
// one made is kept for the next client, which takes it if its settings are equal. An application
// opening many connections with one configuration keeps one of each, not one per connection (and
// not its own options objects).

let lastWriter: WriterConfig | undefined;
let lastRetry: RetrySettings | undefined;

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
