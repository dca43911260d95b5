/**
 * Named errors of the `rxwire/testing` kit. They carry the offending data so a test that drives the
 * kit with a wrong setting learns exactly which field was wrong.
 */

/**
 * Thrown synchronously when a factory or setter of the testing kit gets an option it cannot honour.
 * The message follows one pattern: ``Expected `option` to be <rule>, got `value` (type)``.
 *
 * @example
 * ```ts
 * try {
 *   proxy.set('up', { kind: 'throttle', bytesPerSec: 0 });
 * } catch (error) {
 *   if (error instanceof InvalidOptionError) console.log(error.option); // 'bytesPerSec'
 * }
 * ```
 */
export class InvalidOptionError extends TypeError {
  override name = 'InvalidOptionError';

  /**
   * @param option - the option's path, e.g. `bytesPerSec` or `target.port`.
   * @param expected - the rule the value broke, e.g. `an integer >= 1`.
   * @param value - the value that was given.
   */
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly value: unknown,
  ) {
    super(`Expected \`${option}\` to be ${expected}, got \`${describe(value)}\` (${typeName(value)})`);
  }
}

/**
 * Thrown when a host that is not a loopback address is given to the kit. The kit only ever listens
 * on, and connects to, this machine: fault tests must never send traffic elsewhere.
 *
 * @example
 * ```ts
 * await createFaultProxy({ target: 'ws://example.com' }); // rejects with NotLoopbackError
 * ```
 */
export class NotLoopbackError extends Error {
  override name = 'NotLoopbackError';

  /** @param host - the rejected host name or address. */
  constructor(readonly host: string) {
    super(`Expected a loopback host (127.0.0.0/8, ::1 or localhost), got \`${host}\``);
  }
}

/**
 * Rejects what still waits on a testing server once it is closed, such as a pending
 * `waitForConnection()`.
 *
 * @example
 * ```ts
 * const next = peer.waitForConnection();
 * await peer.close();
 * await next; // rejects with DisposedError, resource 'raw peer'
 * ```
 */
export class DisposedError extends Error {
  override name = 'DisposedError';

  /** @param resource - what was closed, e.g. `raw peer` or `test server`. */
  constructor(readonly resource: string) {
    super(`The ${resource} was closed while this call was waiting`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
