// The page of browser.spec.ts. esbuild bundles this file for Chromium (platform browser), so it
// must import only the browser build. It puts a small harness on `globalThis.harness` that the
// spec drives with `page.evaluate`: the library, and a recorder of one socket's streams.
import { config } from 'rxjs';
import * as rxwire from '../../lib/browser.js';
import type { ConnectOptions, RxSocket } from '../../lib/browser.js';

/** What the socket's streams emitted, as plain data that `page.evaluate` can return. */
export interface Recording {
  /** messages$ values; a Uint8Array is recorded as `{ bytes: [...] }`. */
  readonly messages: unknown[];
  readonly states: string[];
  /**
   * errors$ values and the error of messages$, if any: `name`, and `instanceOf`, the most
   * specific rxwire error class it is an instance of (checked with `instanceof` in the page).
   */
  readonly errors: Array<{ name: string; message: string; reason?: string; instanceOf?: string }>;
  readonly dropped: Array<{ message: unknown; reason: string }>;
  /** How many times each stream completed. */
  readonly completions: { messages: number; states: number; errors: number; dropped: number };
}

/** Page-side errors nobody handled: the spec asserts there are none after each test. */
const tripped: string[] = [];
config.onUnhandledError = (error) => void tripped.push(`rxjs onUnhandledError: ${String(error)}`);
config.onStoppedNotification = (notification) => void tripped.push(`rxjs onStoppedNotification: ${notification.kind}`);

/** Subclasses before their base class. */
const errorClasses = {
  HeartbeatTimeoutError: rxwire.HeartbeatTimeoutError,
  ConnectTimeoutError: rxwire.ConnectTimeoutError,
  ConnectionClosedError: rxwire.ConnectionClosedError,
  RetriesExhaustedError: rxwire.RetriesExhaustedError,
  DecodeError: rxwire.DecodeError,
  MessageDroppedError: rxwire.MessageDroppedError,
  RequestTimeoutError: rxwire.RequestTimeoutError,
};

function describeError(error: unknown): Recording['errors'][number] {
  const { name, message, reason } = error as { name: string; message: string; reason?: unknown };
  const instanceOf = Object.entries(errorClasses).find(([, type]) => error instanceof type)?.[0];
  return {
    name,
    message,
    ...(typeof reason === 'string' && { reason }),
    ...(instanceOf !== undefined && { instanceOf }),
  };
}

function record(socket: RxSocket<unknown, unknown>): Recording {
  const recording: Recording = {
    messages: [],
    states: [],
    errors: [],
    dropped: [],
    completions: { messages: 0, states: 0, errors: 0, dropped: 0 },
  };
  const { completions } = recording;
  socket.state$.subscribe({ next: ({ status }) => void recording.states.push(status), complete: () => void completions.states++ });
  socket.errors$.subscribe({ next: (error) => void recording.errors.push(describeError(error)), complete: () => void completions.errors++ });
  socket.dropped$.subscribe({
    next: ({ message, reason }) => void recording.dropped.push({ message, reason }),
    complete: () => void completions.dropped++,
  });
  // Holds the connection open, as an app's subscriber would.
  socket.messages$.subscribe({
    next: (message) => void recording.messages.push(message instanceof Uint8Array ? { bytes: Array.from(message) } : message),
    error: (error: unknown) => void recording.errors.push(describeError(error)),
    complete: () => void completions.messages++,
  });
  return recording;
}

const harness = {
  rxwire,
  tripped,
  /** The socket under test and its recording, set by `open()`. */
  socket: undefined as RxSocket<unknown, unknown> | undefined,
  recording: undefined as Recording | undefined,
  /** Pending `send()` outcomes, in call order: 'written' or the error's name and reason. */
  outcomes: [] as Array<Promise<string>>,
  /** Connects with `options`, records every stream, and subscribes to `messages$`. */
  open(url: string, options: ConnectOptions<unknown, unknown> = {}): RxSocket<unknown, unknown> {
    const socket = rxwire.connect<unknown, unknown>(url, options);
    harness.socket = socket;
    harness.recording = record(socket);
    return socket;
  },
  /** Sends and keeps the outcome, so that the spec can await it in a later `evaluate`. */
  send(message: unknown, timeout?: number): void {
    const socket = harness.socket as RxSocket<unknown, unknown>;
    const sent = timeout === undefined ? socket.send(message) : socket.send(message, { timeout });
    harness.outcomes.push(
      sent.then(
        () => 'written',
        (error: unknown) => {
          const { name, reason, instanceOf } = describeError(error);
          return `${name} (instanceof ${instanceOf ?? 'none'}): ${reason ?? ''}`;
        },
      ),
    );
  },
};

export type Harness = typeof harness;

(globalThis as unknown as { harness: Harness }).harness = harness;
