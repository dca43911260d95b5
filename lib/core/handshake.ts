import { isObservable, ReplaySubject, type Observable, type SchedulerLike, type Subscription } from 'rxjs';

/** The user's handshake function, as the `handshake` option takes it. */
export type HandshakeFunction<In, Out> = (conn: HandshakeConnection<In, Out>) => PromiseLike<unknown> | Observable<unknown>;

/** A handshake in progress on one connection, and the routing of its incoming messages. */
export interface HandshakeRun<In> {
  /** Settles when the handshake decided: resolves with its value, or rejects with its error. */
  readonly result: Promise<unknown>;
  /** An incoming message while the handshake runs, or after it decided and before the open. */
  deliver(message: In): void;
  /** Ends the run: returns the messages that arrived after the handshake decided, in order. */
  finish(): In[];
}

/**
 * Runs `handshake` on a connection. `ws` emits all frames of one TCP read synchronously, while a
 * Promise handshake decides a few microtasks after the message that ends it: so the messages
 * after one handed to the handshake wait for one turn of `scheduler`, by which time the handshake
 * has seen it and decided or not. What arrives after the decision is kept for `messages$`, never
 * swallowed by the handshake.
 */
export function runHandshake<In, Out>(
  handshake: HandshakeFunction<In, Out>,
  send: (message: Out) => void,
  scheduler: SchedulerLike,
): HandshakeRun<In> {
  const sink = new ReplaySubject<In>();
  const waiting: In[] = []; // arrived while the handshake was still digesting an earlier message
  let decided = false;
  let gate: Subscription | undefined;

  const hand = (message: In): void => {
    sink.next(message);
    if (!decided) gate = scheduler.schedule(pump, 0);
  };
  const pump = (): void => {
    gate = undefined;
    if (!decided && waiting.length > 0) hand(waiting.shift() as In);
  };
  const decide = (): void => {
    if (decided) return;
    decided = true;
    gate?.unsubscribe();
    // Not inside the emission that decided: the handshake's own operators finish it first.
    queueMicrotask(() => sink.complete());
  };

  const result = new Promise<unknown>((resolve, reject) => {
    const outcome = handshake({ send, messages$: sink.asObservable() });
    if (!isObservable(outcome)) {
      Promise.resolve(outcome).then(
        (value) => {
          decide();
          resolve(value);
        },
        reject,
      );
      return;
    }
    // Not firstValueFrom: it unsubscribes inside `next`, so the completion that follows at once
    // (`first()`, `take(1)`, `of(x)`) would reach a stopped subscriber and trip RxJS's
    // `onStoppedNotification`. Let that completion arrive, then let go.
    const subscription: Subscription = outcome.subscribe({
      next: (value) => {
        decide();
        resolve(value);
        queueMicrotask(() => subscription.unsubscribe());
      },
      error: reject,
      complete: () => {
        decide();
        resolve(undefined);
      },
    });
  });
  // A failed handshake fails the attempt; the routing ends with it.
  result.catch(decide);

  return {
    result,
    deliver(message) {
      if (decided || gate) waiting.push(message);
      else hand(message);
    },
    finish() {
      decide();
      return waiting.splice(0);
    },
  };
}

/**
 * One connection as a `handshake` sees it: `send` writes directly on this connection (bypassing
 * the buffer), and `messages$` has the messages that arrive during the handshake, replayed to a
 * late subscriber; it completes when the handshake decides (the Observable emits or completes, or
 * the Promise settles) or the connection is lost. Messages that arrive after the decision reach
 * the socket's `messages$`, in order, once the connection is open.
 *
 * @example
 * ```ts
 * const socket = connect<Message, Message>('wss://example.com/graphql', {
 *   protocols: 'graphql-transport-ws',
 *   handshake: (conn: HandshakeConnection<Message, Message>) => {
 *     conn.send({ type: 'connection_init' });
 *     return conn.messages$.pipe(first((reply) => reply.type === 'connection_ack'));
 *   },
 * });
 * ```
 */
export interface HandshakeConnection<In, Out> {
  send(message: Out): void;
  readonly messages$: Observable<In>;
}

