import { config, map, Subject, Subscription } from 'rxjs';
import { Listener } from '../../lib/core/listener.js';
import { Multicast } from '../../lib/core/multicast.js';

// An application's subscription to a socket's own stream is a Listener (72 bytes) instead of
// RxJS's SafeSubscriber, consumer and observer (152): checked side by side with a Subject that
// the same script drives, including what happens to a handler that throws.

type Stream = Multicast<number> | Subject<number>;

/** Runs `script` against a Multicast and a Subject, with `config.onUnhandledError` recording; returns both logs once reported errors have arrived. */
async function both(script: (stream: Stream, log: (entry: string) => void) => void): Promise<[string[], string[]]> {
  const logs: [string[], string[]] = [[], []];
  const previous = config.onUnhandledError;
  try {
    for (const [i, stream] of [new Multicast<number>(), new Subject<number>()].entries()) {
      const log = (entry: string): void => void (logs[i] as string[]).push(entry);
      config.onUnhandledError = (error) => log(`unhandled ${String(error)}`);
      script(stream, log);
      // Reported in a later task, as RxJS does.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    config.onUnhandledError = previous;
  }
  return logs;
}

test('subscribe(fn) and subscribe(observer) on a socket stream give a Listener; an operator subscriber is taken as it is', () => {
  const stream = new Multicast<number>();
  expect(stream.subscribe((v) => v)).toBeInstanceOf(Listener);
  expect(stream.subscribe({ next: (v) => v })).toBeInstanceOf(Listener);
  expect(stream.subscribe()).toBeInstanceOf(Listener);
  const viaOperator = stream.pipe(map((v) => v)).subscribe(() => undefined);
  expect(viaOperator).not.toBeInstanceOf(Listener);
  expect(viaOperator).toBeInstanceOf(Subscription);
});

test('a handler that throws is reported as unhandled and the stream goes on, as with RxJS', async () => {
  const [multicast, subject] = await both((stream, log) => {
    stream.subscribe((v) => {
      log(`a:${v}`);
      if (v === 1) throw new Error('handler failed');
    });
    stream.next(1);
    stream.next(2);
  });
  expect(multicast).toEqual(['a:1', 'a:2', 'unhandled Error: handler failed']);
  expect(multicast).toEqual(subject);
});

test('an error without an error handler is reported as unhandled; with one, it is handled; a throwing error handler is reported', async () => {
  const [multicast, subject] = await both((stream, log) => {
    stream.subscribe((v) => log(`a:${v}`));
    stream.subscribe({ next: (v) => log(`b:${v}`), error: (e) => log(`b!${String(e)}`) });
    stream.subscribe({
      error: () => {
        throw new Error('error handler failed');
      },
    });
    stream.next(1);
    stream.error('boom');
  });
  expect(multicast).toEqual(['a:1', 'b:1', 'b!boom', 'unhandled boom', 'unhandled Error: error handler failed']);
  expect(multicast).toEqual(subject);
});

test('an end unsubscribes the listener: its teardowns run, and nothing reaches it afterwards', async () => {
  const [multicast, subject] = await both((stream, log) => {
    const subscription = stream.subscribe({ next: (v) => log(`a:${v}`), complete: () => log('a|') });
    subscription.add(() => log('teardown'));
    stream.next(1);
    stream.complete();
    stream.next(2);
    log(`closed ${subscription.closed}`);
  });
  expect(multicast).toEqual(['a:1', 'a|', 'teardown', 'closed true']);
  expect(multicast).toEqual(subject);
});

test('unsubscribe() stops the handlers at once and runs the teardowns once', async () => {
  const [multicast, subject] = await both((stream, log) => {
    const subscription = stream.subscribe((v) => {
      log(`a:${v}`);
      subscription.unsubscribe();
    });
    subscription.add(() => log('teardown'));
    stream.next(1);
    stream.next(2);
    subscription.unsubscribe();
  });
  expect(multicast).toEqual(['a:1', 'teardown']);
  expect(multicast).toEqual(subject);
});

test('the deprecated three-argument form still works (through RxJS)', async () => {
  const [multicast, subject] = await both((stream, log) => {
    stream.subscribe(
      (v) => log(`a:${v}`),
      (e: unknown) => log(`a!${String(e)}`),
      () => log('a|'),
    );
    stream.next(1);
    stream.error('boom');
  });
  expect(multicast).toEqual(['a:1', 'a!boom']);
  expect(multicast).toEqual(subject);
});
