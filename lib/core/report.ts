
/** Where a client's reports go: warnings rate-limited per kind, debug only to a user's logger. */
export interface Reporter {
  /**
   * A failure or drop of `kind` that nobody observed: reported at its 1st, 2nd, 4th, 8th…
   * occurrence, so a retry loop or a flood is visible without a line per event.
   */
  warn(kind: string, message: string, details?: Readonly<Record<string, unknown>>): void;
  debug(message: string, details?: Readonly<Record<string, unknown>>): void;
}

/** The default logger: warnings to `console.warn`, nothing else. */
const consoleLogger: Logger = (level, message) => {
  if (level === 'warn') console.warn(`rxwire: ${message}`);
};

export function createReporter(logger: Logger | false | undefined): Reporter {
  return new LoggerReporter(logger === undefined ? consoleLogger : logger || undefined);
}

/** One object per socket, not a scope of closures. */
class LoggerReporter implements Reporter {
  readonly #log: Logger | undefined;
  #counts: Map<string, number> | undefined; // made at the first warning: most sockets never have one

  constructor(log: Logger | undefined) {
    this.#log = log;
  }

  warn(kind: string, message: string, details?: Readonly<Record<string, unknown>>): void {
    const log = this.#log;
    if (!log) return;
    const counts = (this.#counts ??= new Map());
    const count = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, count);
    if ((count & (count - 1)) !== 0) return; // not a power of two
    log('warn', count === 1 ? message : `${message} (${count} times so far)`, details);
  }

  debug(message: string, details?: Readonly<Record<string, unknown>>): void {
    const log = this.#log;
    if (log && log !== consoleLogger) log('debug', message, details);
  }
}

/**
 * Receives what rxwire reports: `level` `'warn'` for failures nobody observed, `'debug'` for state
 * changes; `details` carries the error, state or message concerned.
 *
 * @example
 * ```ts
 * const logger: Logger = (level, message, details) => (level === 'warn' ? console.warn : console.debug)(`[feed] ${message}`, details);
 * const socket = connect('wss://example.com/feed', { logger });
 * ```
 */
export type Logger = (level: 'warn' | 'debug', message: string, details?: Readonly<Record<string, unknown>>) => void;

