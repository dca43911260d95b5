import { WebSocket, type ClientOptions } from 'ws';
import { deferred } from '../helpers/wait';

/**
 * Helpers for the specs of `rxwire/testing`: a deadline on a promise, and real `ws` clients that
 * record what happened to them. The wait, the sleep and the dispose registry are the suite's own
 * (helpers/wait.ts, helpers/dispose.ts).
 */


/** Rejects with `label` unless `promise` settles within `ms`; clears its timer either way. */
export function within<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${label}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** A real client plus what happened to it. */
export interface Probe {
  readonly ws: WebSocket;
  readonly errors: Error[];
  readonly messages: Array<{ data: Buffer; isBinary: boolean; at: number }>;
  /** Resolves on 'open', rejects if the socket closes first. */
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
}

export function probe(url: string, protocols?: string | string[], options?: ClientOptions): Probe {
  const ws = new WebSocket(url, protocols, options);
  const errors: Error[] = [];
  const messages: Probe['messages'] = [];
  const opened = deferred();
  const closed = deferred<{ code: number; reason: string }>();
  ws.on('error', (error) => errors.push(error));
  ws.on('open', () => opened.resolve());
  ws.on('message', (data: Buffer, isBinary) => messages.push({ data, isBinary, at: Date.now() }));
  ws.on('close', (code, reason) => {
    opened.reject(new Error(`closed before open (${code})`));
    closed.resolve({ code, reason: reason.toString() });
  });
  opened.promise.catch(() => undefined); // many tests expect it never to open
  return { ws, errors, messages, opened: opened.promise, closed: closed.promise };
}

/** Resolves with the next pong, or `undefined` if none comes within `ms`. */
export function pingWithin(ws: WebSocket, ms: number): Promise<Buffer | undefined> {
  const pong = deferred<Buffer | undefined>();
  const onPong = (data: Buffer): void => pong.resolve(data);
  ws.on('pong', onPong);
  ws.ping(Buffer.from('probe'));
  const timer = setTimeout(() => pong.resolve(undefined), ms);
  return pong.promise.finally(() => {
    clearTimeout(timer);
    ws.off('pong', onPong);
  });
}

/** Terminates a client and waits for its 'close'. */
export async function terminate(client: Probe): Promise<void> {
  client.ws.terminate();
  await client.closed;
}
