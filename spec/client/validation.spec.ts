import { asyncScheduler, NEVER, Subject, type SchedulerLike } from 'rxjs';
import {
  matchId,
  type ChannelOptions,
} from '../../lib/index.js';
import { request, type RequestHost } from '../../lib/core/request.js';
import { jsonPeer, quickClient, type JsonPeer } from '../helpers/numbered-server.js';
import { thrown } from '../helpers/thrown.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// Validation where a user passes options after connect(): channel(), request(), send(), and the
// default serializer's message; a request timeout of Infinity schedules no timer (it used to fire
// at once), one of 2^31 ms or more (which Node clamps to 1 ms) is refused. Real servers on
// 127.0.0.1 port 0 (the fault kit's), no mocks of ws.

interface Msg {
  id?: number;
  method?: string;
  result?: unknown;
}

const serve = (answerAfter?: number): Promise<JsonPeer<Msg, Msg>> =>
  jsonPeer<Msg, Msg>((msg, client) => {
    if (answerAfter !== undefined && msg.method === 'echo') {
      setTimeout(() => client.send(JSON.stringify({ id: msg.id, result: 'echo' })), answerAfter);
    }
  });

const MAX = 2147483647;

describe('request(): timeout Infinity means no timer', () => {
  test('an answer after 50 ms resolves the request (it used to reject with RequestTimeoutError at once)', async () => {
    const server = await serve(50);
    const socket = quickClient<Msg, Msg>(server.url);
    await expect(socket.request({ id: 1, method: 'echo' }, { match: matchId(1) as never, timeout: Infinity })).resolves.toEqual({ id: 1, result: 'echo' });
  });

  test('nothing is scheduled for an Infinity timeout', async () => {
    const delays: number[] = [];
    const scheduler: SchedulerLike = {
      now: () => asyncScheduler.now(),
      schedule: ((work: never, delay?: number, state?: never) => {
        delays.push(delay ?? 0);
        return asyncScheduler.schedule(work, delay, state);
      }) as SchedulerLike['schedule'],
    };
    const incoming = new Subject<Msg>();
    const host: RequestHost<Msg, Msg> = { messages$: incoming, connectionLost$: NEVER, write: () => Promise.resolve(), scheduler };
    const pending = request(host, { id: 2 }, { match: (m) => m.id === 2, timeout: Infinity });
    incoming.next({ id: 2, result: 'late' });
    await expect(pending).resolves.toEqual({ id: 2, result: 'late' });
    expect(delays).toEqual([]);
  });
});

describe('request(): options are checked, and a bad call rejects (never throws)', () => {
  const cases: Array<[string, unknown, ErrorConstructor, string]> = [
    ['no options', undefined, TypeError, 'Expected `options` to be an object, got `undefined` (undefined)'],
    ['options null', null, TypeError, 'Expected `options` to be an object, got `null` (null)'],
    ['options a function (a bare matcher)', () => true, TypeError, 'Expected `options` to be an object, got `function` (function)'],
    ['no match', {}, TypeError, 'Expected `match` to be a function, got `undefined` (undefined)'],
    ['match an id', { match: 7 }, TypeError, 'Expected `match` to be a function, got `7` (number)'],
    ['timeout 2^31', { match: () => true, timeout: 2 ** 31 }, RangeError, `Expected \`timeout\` to be a number > 0 and <= ${MAX} (or Infinity), got \`2147483648\` (number)`],
    ['a misspelt key', { match: () => true, timout: 5 }, TypeError, 'Unknown option `timout`: did you mean `timeout`?'],
    ['an unknown key', { match: () => true, retries: 3 }, TypeError, 'Unknown option `retries` (the options are `match`, `timeout`)'],
  ];

  test.each(cases)('%s', async (_description, options, Kind, message) => {
    const server = await serve(0);
    const socket = quickClient<Msg, Msg>(server.url);
    let result: Promise<Msg> | undefined;
    expect(() => (result = socket.request({ id: 3, method: 'echo' }, options as never))).not.toThrow();
    const error = await (result as Promise<Msg>).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.constructor).toBe(Kind);
    expect(error?.message).toBe(message);
    expect(socket.state.status).toBe('idle');
    expect(server.log).toEqual([]);
  });

  test(`a timeout of exactly ${MAX} is accepted`, async () => {
    const server = await serve(0);
    const socket = quickClient<Msg, Msg>(server.url);
    await expect(socket.request({ id: 4, method: 'echo' }, { match: matchId(4) as never, timeout: MAX })).resolves.toEqual({ id: 4, result: 'echo' });
  });
});

describe('send(): options are checked', () => {
  const cases: Array<[string, unknown, ErrorConstructor, string]> = [
    ['options null', null, TypeError, 'Expected `options` to be an object, got `null` (null)'],
    ['a bare timeout', 5000, TypeError, 'Expected `options` to be an object, got `5000` (number)'],
    ['a misspelt key', { timout: 5 }, TypeError, 'Unknown option `timout`: did you mean `timeout`?'],
    ['an unknown key', { priority: 'high' }, TypeError, 'Unknown option `priority` (the options are `timeout`, `delivery`)'],
    ['timeout 2^31', { timeout: 2 ** 31 }, RangeError, `Expected \`timeout\` to be a number >= 0 and <= ${MAX} (or Infinity), got \`2147483648\` (number)`],
  ];

  test.each(cases)('%s rejects with a precise error and queues nothing', async (_description, options, Kind, message) => {
    const socket = quickClient<Msg, Msg>('ws://127.0.0.1:9');
    const error = await socket.send({ id: 1 }, options as never).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.constructor).toBe(Kind);
    expect(error?.message).toBe(message);
    expect(socket.buffered).toBe(0);
    expect(socket.state.status).toBe('idle');
  });

  test('timeout Infinity and timeout 2^31 - 1 are accepted', async () => {
    const server = await serve();
    const socket = quickClient<Msg, Msg>(server.url);
    await Promise.all([socket.send({ id: 1 }, { timeout: Infinity }), socket.send({ id: 2 }, { timeout: MAX }), socket.send({ id: 3 }, {})]);
    await waitFor(() => server.log.length === 3, 'three messages at the server');
  });
});

describe('send(): the default serializer names the message, not a `serialize` option', () => {
  test.each([
    ['undefined', undefined, '`undefined` (undefined)'],
    ['a function', () => 1, '`function` (function)'],
    ['a symbol', Symbol('s'), '`Symbol(s)` (symbol)'],
  ])('%s', async (_description, message, shown) => {
    const socket = quickClient<unknown, unknown>('ws://127.0.0.1:9');
    const error = await socket.send(message).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.constructor).toBe(TypeError);
    expect(error?.message).toBe(`Expected the message to be JSON-serializable: JSON.stringify returned undefined (got ${shown})`);
  });

  test('a user serialize that returns undefined is still blamed', async () => {
    const socket = quickClient<unknown, unknown>('ws://127.0.0.1:9', { serialize: () => undefined as never });
    const error = await socket.send('x').then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toBe('Expected `serialize` to return a string or binary data, got undefined');
  });
});

describe('channel(): options are checked when channel() is called', () => {
  const subscribe = (): Msg => ({ method: 'sub' });
  const filter = (): boolean => true;
  const cases: Array<[string, unknown, string]> = [
    ['no options', undefined, 'Expected `options` to be an object, got `undefined` (undefined)'],
    ['options an array', [], 'Expected `options` to be an object, got `Array` (object)'],
    ['no subscribe', { filter }, 'Expected `subscribe` to be a function, got `undefined` (undefined)'],
    ['subscribe given as the message', { subscribe: { method: 'sub' }, filter }, 'Expected `subscribe` to be a function, got `Object` (object)'],
    ['no filter', { subscribe }, 'Expected `filter` to be a function, got `undefined` (undefined)'],
    ['filter a string', { subscribe, filter: 'trades' }, 'Expected `filter` to be a function, got `trades` (string)'],
    ['unsubscribe given as the message', { subscribe, filter, unsubscribe: { method: 'unsub' } }, 'Expected `unsubscribe` to be a function, got `Object` (object)'],
    ['isComplete true', { subscribe, filter, isComplete: true }, 'Expected `isComplete` to be a function, got `true` (boolean)'],
    ['isError null', { subscribe, filter, isError: null }, 'Expected `isError` to be a function, got `null` (null)'],
    ['complete (deprecated) true', { subscribe, filter, complete: true }, 'Expected `complete` to be a function, got `true` (boolean)'],
    ['error (deprecated) null', { subscribe, filter, error: null }, 'Expected `error` to be a function, got `null` (null)'],
    ['isComplete and its deprecated alias', { subscribe, filter, isComplete: filter, complete: filter }, 'Give `isComplete` or its deprecated alias `complete`, not both'],
    ['isError and its deprecated alias', { subscribe, filter, isError: filter, error: filter }, 'Give `isError` or its deprecated alias `error`, not both'],
    ['a misspelt key', { subscribe, filter, unsubcribe: subscribe }, 'Unknown option `unsubcribe`: did you mean `unsubscribe`?'],
    ['a misspelt new name', { subscribe, filter, isCompleted: filter }, 'Unknown option `isCompleted`: did you mean `isComplete`?'],
    ['an unknown key', { subscribe, filter, topic: 'x' }, 'Unknown option `topic` (the options are `subscribe`, `unsubscribe`, `filter`, `isComplete`, `isError`)'],
  ];

  test.each(cases)('%s throws a TypeError', (_description, options, message) => {
    const socket = quickClient<Msg, Msg>('ws://127.0.0.1:9');
    const error = thrown(() => socket.channel(options as ChannelOptions<Msg, Msg>));
    expect(error.constructor).toBe(TypeError);
    expect(error.message).toBe(message);
    expect(socket.state.status).toBe('idle');
  });

  test('valid options are accepted, the optional ones undefined too', () => {
    const socket = quickClient<Msg, Msg>('ws://127.0.0.1:9');
    expect(() => socket.channel({ subscribe, filter })).not.toThrow();
    expect(() => socket.channel({ subscribe, filter, unsubscribe: undefined, isComplete: () => false, isError: () => false })).not.toThrow();
    expect(() => socket.channel({ subscribe, filter, complete: () => false, error: () => false })).not.toThrow();
  });
});
