import { ReplaySubject, Subject, take, toArray, firstValueFrom } from 'rxjs';
import { Latest, Multicast } from '../../lib/core/multicast.js';

// The hot stream behind messages$, errors$ and dropped$: a Subject in behaviour (checked side by
// side with one), without a teardown per subscription.

/** Runs the same script against a Multicast and a Subject; returns what each subscriber saw. */
function both(script: (stream: Multicast<number> | Subject<number>, log: (entry: string) => void) => void): [string[], string[]] {
  const logs: [string[], string[]] = [[], []];
  script(new Multicast<number>(), (entry) => logs[0].push(entry));
  script(new Subject<number>(), (entry) => logs[1].push(entry));
  return logs;
}

/** RxJS's own field: the teardowns a subscription registered on its subscriber. */
type Internals = { _finalizers?: unknown[] | null };

const observer = (name: string, log: (entry: string) => void) => ({
  next: (v: number) => log(`${name}:${v}`),
  error: (e: unknown) => log(`${name}!${String(e)}`),
  complete: () => log(`${name}|`),
});

test('values reach the subscribers of the moment, in order, as with a Subject', () => {
  const [multicast, subject] = both((stream, log) => {
    stream.next(0); // nobody listens: gone
    const a = stream.subscribe(observer('a', log));
    stream.next(1);
    stream.subscribe(observer('b', log));
    stream.next(2);
    a.unsubscribe();
    stream.next(3);
    stream.complete();
    stream.next(4);
  });
  expect(multicast).toEqual(['a:1', 'a:2', 'b:2', 'b:3', 'b|']);
  expect(multicast).toEqual(subject);
});

test('after its end a new subscriber gets the end at once: completion and error', () => {
  for (const end of ['complete', 'error'] as const) {
    const [multicast, subject] = both((stream, log) => {
      stream.subscribe(observer('a', log));
      if (end === 'complete') stream.complete();
      else stream.error('boom');
      stream.error('again'); // ignored
      stream.subscribe(observer('late', log));
    });
    expect(multicast).toEqual(end === 'complete' ? ['a|', 'late|'] : ['a!boom', 'late!boom']);
    expect(multicast).toEqual(subject);
  }
});

test('a subscriber added during an emission gets the next value, not the current one', () => {
  const [multicast, subject] = both((stream, log) => {
    let added = false;
    stream.subscribe((v) => {
      log(`a:${v}`);
      if (!added) {
        added = true;
        stream.subscribe((w) => log(`b:${w}`));
      }
    });
    stream.next(1);
    stream.next(2);
  });
  expect(multicast).toEqual(['a:1', 'a:2', 'b:2']);
  expect(multicast).toEqual(subject);
});

test('a subscriber unsubscribed during an emission gets no more of it', () => {
  const stream = new Multicast<number>();
  const entries: string[] = [];
  let second: { unsubscribe(): void } | undefined;
  stream.subscribe((v) => {
    entries.push(`a:${v}`);
    second?.unsubscribe();
  });
  second = stream.subscribe((v) => entries.push(`b:${v}`));
  stream.next(1);
  stream.next(2);
  expect(entries).toEqual(['a:1', 'a:2']);
});

test('observed says whether an open subscriber listens; one that unsubscribed is let go', () => {
  const stream = new Multicast<number>();
  expect(stream.observed).toBe(false);
  const a = stream.subscribe();
  const b = stream.subscribe();
  expect(stream.observed).toBe(true);
  a.unsubscribe();
  expect(stream.observed).toBe(true);
  b.unsubscribe();
  expect(stream.observed).toBe(false);
  stream.next(1); // nobody gets it, nothing throws
});

test('the first subscription registers no teardown on its subscriber (what a Subject costs per subscription); a later one does, and leaves at once', () => {
  const stream = new Multicast<number>();
  const first = stream.subscribe(() => undefined) as unknown as Internals;
  expect(first._finalizers ?? null).toBeNull();
  const second = stream.subscribe(() => undefined) as unknown as Internals & { unsubscribe(): void };
  expect(second._finalizers).toHaveLength(1);
  const viaSubject = new Subject<number>().subscribe(() => undefined) as unknown as Internals;
  expect(viaSubject._finalizers).toHaveLength(1); // the control: a Subject's inner subscription
  second.unsubscribe();
  expect(stream.observed).toBe(true); // the first is still there
});

test('Latest replays its latest value first, as a ReplaySubject(1) does, and the end after it', () => {
  const script = (stream: Latest<number> | ReplaySubject<number>, log: (entry: string) => void): void => {
    stream.subscribe(observer('a', log));
    stream.next(1);
    stream.subscribe(observer('b', log));
    stream.next(2);
    stream.complete();
    stream.next(3); // ignored
    stream.subscribe(observer('late', log));
  };
  const latest: string[] = [];
  const replay: string[] = [];
  script(new Latest(0), (entry) => latest.push(entry));
  const subject = new ReplaySubject<number>(1);
  subject.next(0);
  script(subject, (entry) => replay.push(entry));
  expect(latest).toEqual(['a:0', 'a:1', 'b:1', 'a:2', 'b:2', 'a|', 'b|', 'late:2', 'late|']);
  expect(latest).toEqual(replay);
});

test('Latest: a change made by a subscriber on seeing the replayed value reaches that subscriber', () => {
  const stream = new Latest(0);
  const seen: number[] = [];
  stream.subscribe((v) => {
    seen.push(v);
    if (v === 0) stream.next(1);
  });
  expect(seen).toEqual([0, 1]);
});

test('operators work on it: take() unsubscribes, and the stream goes on for the others', async () => {
  const stream = new Multicast<number>();
  const firstTwo = firstValueFrom(stream.pipe(take(2), toArray()));
  const all = firstValueFrom(stream.pipe(toArray()));
  for (let i = 1; i <= 4; i++) stream.next(i);
  stream.complete();
  await expect(firstTwo).resolves.toEqual([1, 2]);
  await expect(all).resolves.toEqual([1, 2, 3, 4]);
  expect(stream.observed).toBe(false);
});
