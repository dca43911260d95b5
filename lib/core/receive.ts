import type { Codec } from './codec.js';
import { asError } from './errors.js';

/** Where an incoming frame goes once decoded. */
export interface ReceiveTarget<In> {
  /** An application-level pong arrived: the connection being checked answered. */
  pong(): void;
  deliver(message: In): void;
  /** A frame that did not decode (`DecodeError`), or an `isPong` that threw. */
  receiveFailed(error: Error, kind: string, what: string): void;
}

/**
 * With an application-level heartbeat: which messages are pongs (they meet the deadline and are
 * not delivered); `isPong` undefined means any message meets the deadline and is delivered.
 */
export type AppPong<In> = { readonly isPong: ((message: In) => boolean) | undefined } | undefined;

/**
 * The receive path of one connection, role-free: decode, take the application-level pongs out,
 * deliver the rest. Runs inside the socket's event handler, so nothing here may throw.
 */
export function receive<In>(data: string | Uint8Array, codec: Codec<In, unknown>, appPong: AppPong<In>, target: ReceiveTarget<In>): void {
  let message: In;
  try {
    message = codec.decode(data);
  } catch (error) {
    target.receiveFailed(error as Error, 'decode', 'an incoming message could not be decoded (see `deserialize`)');
    return;
  }
  if (appPong) {
    let isPong: boolean | undefined;
    try {
      isPong = appPong.isPong?.(message);
    } catch (error) {
      // A throw here would wedge the connection: report it, and count the message as data.
      target.receiveFailed(asError(error), 'isPong', '`heartbeat.isPong` threw');
      isPong = false;
    }
    if (isPong !== false) target.pong();
    if (isPong) return;
  }
  target.deliver(message);
}
