import { asyncScheduler, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { WebSocket } from 'ws';
import { connect, type ConnectOptions, type ConnectionState, type RxSocket, type WebSocketConstructor } from '../../lib/index.js';
import { onDispose } from './dispose';
import { poke, waitFor } from './wait';

/**
 * Recorders for the lifecycle specs. Each calls `poke()` when it records something, so a pending
 * `waitFor` (helpers/wait.ts) re-evaluates its check at once.
 */

/** What `state$`, `errors$` and `dropped$` emitted, recorded without holding the connection. */
export interface Recording {
  readonly states: ConnectionState[];
  readonly errors: Error[];
  statesDone: boolean;
  errorsDone: boolean;
  droppedDone: boolean;
  /** `status:attempt` of every state, with `(code)` when it has a `lastClose`: exact and readable. */
  trail(): string[];
}

export function record<In, Out>(socket: RxSocket<In, Out>): Recording {
  const recording: Recording = {
    states: [],
    errors: [],
    statesDone: false,
    errorsDone: false,
    droppedDone: false,
    trail: () => recording.states.map(brief),
  };
  const subscriptions: Subscription[] = [
    socket.state$.subscribe({
      next: (state) => void (recording.states.push(state), poke()),
      error: (error: unknown) => recording.errors.push(new Error(`state$ errored: ${String(error)}`)),
      complete: () => void ((recording.statesDone = true), poke()),
    }),
    socket.errors$.subscribe({
      next: (error) => void (recording.errors.push(error), poke()),
      error: (error: unknown) => recording.errors.push(new Error(`errors$ errored: ${String(error)}`)),
      complete: () => void ((recording.errorsDone = true), poke()),
    }),
    socket.dropped$.subscribe({
      complete: () => void ((recording.droppedDone = true), poke()),
    }),
  ];
  onDispose(() => subscriptions.forEach((s) => s.unsubscribe()));
  return recording;
}

export function brief(state: ConnectionState): string {
  return `${state.status}:${state.attempt}${state.lastClose ? `(${state.lastClose.code})` : ''}`;
}

/** One `messages$` subscriber's view: values, and how it ended. */
export interface Collected<T> {
  readonly values: T[];
  error: unknown;
  errored: boolean;
  completed: boolean;
  readonly subscription: Subscription;
  /** Resolves (never rejects) once `messages$` errored or completed. */
  ended(within?: number): Promise<void>;
}

export function collect<T, Out = unknown>(socket: RxSocket<T, Out>, onValue?: (value: T) => void): Collected<T> {
  const collected = {
    values: [] as T[],
    error: undefined as unknown,
    errored: false,
    completed: false,
    ended: (within?: number) => waitFor(() => collected.errored || collected.completed, 'messages$ to end', within).then(() => undefined),
  } as Collected<T> & { subscription: Subscription };
  collected.subscription = socket.messages$.subscribe({
    next: (value) => {
      collected.values.push(value);
      onValue?.(value);
      poke();
    },
    error: (error: unknown) => {
      collected.errored = true;
      collected.error = error;
      poke();
    },
    complete: () => {
      collected.completed = true;
      poke();
    },
  });
  onDispose(() => collected.subscription.unsubscribe());
  return collected;
}

/** Holds the connection open, as an app's `messages$` subscriber does; errors are expected in some specs. */
export function hold(socket: { readonly messages$: Observable<unknown> }): void {
  const subscription = socket.messages$.subscribe({ error: () => undefined });
  onDispose(() => subscription.unsubscribe());
}

/**
 * `connect()` whose socket is closed in `afterEach`. The lifecycle specs pin the idle transition
 * itself, so their sockets close as soon as nothing holds them (`lazyCloseTimeout: 0`), and they
 * observe failures themselves (`logger: false`); the defaults have specs of their own.
 */
export function client<In = unknown, Out = unknown>(url: Parameters<typeof connect>[0], options?: ConnectOptions<In, Out>): RxSocket<In, Out> {
  const socket = connect<In, Out>(url, { lazyCloseTimeout: 0, logger: false, ...options });
  onDispose(() => socket.close());
  return socket;
}

/** A `ws` WebSocket class that keeps every instance it creates, for assertions on them. */
export function trackedWebSocket(): { WebSocket: WebSocketConstructor; instances: WebSocket[] } {
  const instances: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      instances.push(this);
      this.once('close', poke);
      poke();
    }
  }
  return { WebSocket: Tracked as unknown as WebSocketConstructor, instances };
}

/** The asyncScheduler, recording the delay of everything scheduled on it. */
export function spyScheduler(): { scheduler: SchedulerLike; delays: number[] } {
  const delays: number[] = [];
  const scheduler: SchedulerLike = {
    now: () => asyncScheduler.now(),
    schedule: (work: never, delay?: number, state?: unknown) => {
      delays.push(delay ?? 0);
      return asyncScheduler.schedule(work, delay, state);
    },
  };
  return { scheduler, delays };
}
