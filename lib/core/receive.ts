import type { Codec } from './codec.js';
import { asError } from './errors.js';

/** Where an incoming frame goes once decoded. */
export interface ReceiveConfig<In> {
  readonly codec: Codec<In, unknown>;
  /**
   * With an application-level heartbeat: which messages are pongs (they meet the deadline and do
   * not reach `deliver`); `undefined` inside means any message meets the deadline and is delivered.
   */
  readonly appPong: { readonly isPong: ((message: In) => boolean) | undefined } | undefined;
  /** The pong reached the connection being checked. */
  pong(): void;
  deliver(message: In): void;
  /** A frame that did not decode (`DecodeError`), or an `isPong` that threw. */
  error(error: Error, kind: string, what: string): void;
}

/**
 * The receive path of one connection, role-free: decode, take the application-level pongs out,
 * deliver the rest. Runs inside the socket's event handler, so nothing here may throw.
 */
export function receiver<In>(config: ReceiveConfig<In>): (data: string | Uint8Array) => void {
  const { codec, appPong } = config;
  return (data) => {
    let message: In;
    try {
      message = codec.decode(data);
    } catch (error) {
      config.error(error as Error, 'decode', 'an incoming message could not be decoded (see `deserialize`)');
      return;
    }
    if (appPong) {
      let isPong: boolean | undefined;
      try {
        isPong = appPong.isPong?.(message);
      } catch (error) {
        // A throw here would wedge the connection: report it, and count the message as data.
        config.error(asError(error), 'isPong', '`heartbeat.isPong` threw');
        isPong = false;
      }
      if (isPong !== false) config.pong();
      if (isPong) return;
    }
    config.deliver(message);
  };
}
