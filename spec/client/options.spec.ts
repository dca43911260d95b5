import { asyncScheduler, lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { connect, type ConnectOptions } from '../../lib/index.js';
import { thrown } from '../helpers/thrown.js';

// connect() validates every option at construction, with messages that name the option, the
// expectation and the value: ``Expected `reconnect.factor` to be a number >= 1, got `0` (number)``.
// A wrong type is a TypeError, a number out of range a RangeError. Nothing here opens a socket:
// connect() is lazy, and these specs never subscribe or send.

const url = 'ws://127.0.0.1:9';

type Case = [description: string, options: Record<string, unknown>, kind: ErrorConstructor, message: string];

const cases: Case[] = [
  // options itself
  ['options null', null as never, TypeError, 'Expected `options` to be an object, got `null` (null)'],
  ['options a string', 'fast' as never, TypeError, 'Expected `options` to be an object, got `fast` (string)'],
  ['options an array', [] as never, TypeError, 'Expected `options` to be an object, got `Array` (object)'],

  // WebSocket, protocols, wsOptions, serialize, deserialize
  ['WebSocket an object', { WebSocket: {} }, TypeError, 'Expected `WebSocket` to be a function, got `Object` (object)'],
  ['WebSocket a string', { WebSocket: 'ws' }, TypeError, 'Expected `WebSocket` to be a function, got `ws` (string)'],
  ['protocols a number', { protocols: 1 }, TypeError, 'Expected `protocols` to be a string or an array of strings, got `1` (number)'],
  ['protocols with a number', { protocols: ['a', 2] }, TypeError, 'Expected `protocols` to be a string or an array of strings, got `Array` (object)'],
  ['serialize a string', { serialize: 'json' }, TypeError, 'Expected `serialize` to be a function, got `json` (string)'],
  ['deserialize null', { deserialize: null }, TypeError, 'Expected `deserialize` to be a function, got `null` (null)'],
  ['handshake an object', { handshake: {} }, TypeError, 'Expected `handshake` to be a function, got `Object` (object)'],

  // timeouts
  ['connectTimeout 0', { connectTimeout: 0 }, RangeError, 'Expected `connectTimeout` to be a number > 0 (or Infinity), got `0` (number)'],
  ['connectTimeout negative', { connectTimeout: -1 }, RangeError, 'Expected `connectTimeout` to be a number > 0 (or Infinity), got `-1` (number)'],
  ['connectTimeout a string', { connectTimeout: '10s' }, TypeError, 'Expected `connectTimeout` to be a number > 0 (or Infinity), got `10s` (string)'],
  ['connectTimeout NaN', { connectTimeout: NaN }, TypeError, 'Expected `connectTimeout` to be a number > 0 (or Infinity), got `NaN` (number)'],
  ['closeTimeout negative', { closeTimeout: -1 }, RangeError, 'Expected `closeTimeout` to be a number >= 0, got `-1` (number)'],
  ['closeTimeout Infinity', { closeTimeout: Infinity }, RangeError, 'Expected `closeTimeout` to be a number >= 0, got `Infinity` (number)'],
  ['closeTimeout a boolean', { closeTimeout: true }, TypeError, 'Expected `closeTimeout` to be a number >= 0, got `true` (boolean)'],
  ['pageEvents a string', { pageEvents: 'yes' }, TypeError, 'Expected `pageEvents` to be a boolean, got `yes` (string)'],
  ['pageEvents misspelt', { pageEvent: false }, TypeError, 'Unknown option `pageEvent`: did you mean `pageEvents`?'],
  ['lazyCloseTimeout negative', { lazyCloseTimeout: -0.5 }, RangeError, 'Expected `lazyCloseTimeout` to be a number >= 0 (or Infinity), got `-0.5` (number)'],
  ['lazyCloseTimeout -Infinity', { lazyCloseTimeout: -Infinity }, RangeError, 'Expected `lazyCloseTimeout` to be a number >= 0 (or Infinity), got `-Infinity` (number)'],
  ['highWaterMark negative', { highWaterMark: -1 }, RangeError, 'Expected `highWaterMark` to be a number >= 0, got `-1` (number)'],
  ['highWaterMark a string', { highWaterMark: '1mb' }, TypeError, 'Expected `highWaterMark` to be a number >= 0, got `1mb` (string)'],

  // scheduler
  ['scheduler an empty object', { scheduler: {} }, TypeError, 'Expected `scheduler` to be an RxJS scheduler, got `Object` (object)'],
  ['scheduler null', { scheduler: null }, TypeError, 'Expected `scheduler` to be an RxJS scheduler, got `null` (null)'],
  ['scheduler a function', { scheduler: () => 0 }, TypeError, 'Expected `scheduler` to be an RxJS scheduler, got `function` (function)'],

  // reconnect
  ['reconnect true', { reconnect: true }, TypeError, 'Expected `reconnect` to be an object or false, got `true` (boolean)'],
  ['reconnect null', { reconnect: null }, TypeError, 'Expected `reconnect` to be an object or false, got `null` (null)'],
  ['reconnect.factor 0 (the issue\'s example)', { reconnect: { factor: 0 } }, RangeError, 'Expected `reconnect.factor` to be a number >= 1, got `0` (number)'],
  ['reconnect.factor 0.99', { reconnect: { factor: 0.99 } }, RangeError, 'Expected `reconnect.factor` to be a number >= 1, got `0.99` (number)'],
  ['reconnect.factor a string', { reconnect: { factor: '2' } }, TypeError, 'Expected `reconnect.factor` to be a number >= 1, got `2` (string)'],
  ['reconnect.initialDelay negative', { reconnect: { initialDelay: -1 } }, RangeError, 'Expected `reconnect.initialDelay` to be a number >= 0, got `-1` (number)'],
  ['reconnect.initialDelay Infinity', { reconnect: { initialDelay: Infinity } }, RangeError, 'Expected `reconnect.initialDelay` to be a number >= 0, got `Infinity` (number)'],
  ['reconnect.maxDelay negative', { reconnect: { maxDelay: -5 } }, RangeError, 'Expected `reconnect.maxDelay` to be a number >= 0, got `-5` (number)'],
  [
    'reconnect.maxDelay under initialDelay',
    { reconnect: { initialDelay: 500, maxDelay: 100 } },
    RangeError,
    'Expected `reconnect.maxDelay` to be a number >= `reconnect.initialDelay` (500), got `100` (number)',
  ],
  [
    'reconnect.maxDelay 1 under initialDelay',
    { reconnect: { initialDelay: 300, maxDelay: 299 } },
    RangeError,
    'Expected `reconnect.maxDelay` to be a number >= `reconnect.initialDelay` (300), got `299` (number)',
  ],
  ['reconnect.maxAttempts 0', { reconnect: { maxAttempts: 0 } }, RangeError, 'Expected `reconnect.maxAttempts` to be an integer >= 1 (or Infinity), got `0` (number)'],
  ['reconnect.maxAttempts 1.5', { reconnect: { maxAttempts: 1.5 } }, RangeError, 'Expected `reconnect.maxAttempts` to be an integer >= 1 (or Infinity), got `1.5` (number)'],
  ['reconnect.maxAttempts a string', { reconnect: { maxAttempts: '3' } }, TypeError, 'Expected `reconnect.maxAttempts` to be an integer >= 1 (or Infinity), got `3` (string)'],
  ['reconnect.resetAfter negative', { reconnect: { resetAfter: -1 } }, RangeError, 'Expected `reconnect.resetAfter` to be a number >= 0 (or Infinity), got `-1` (number)'],
  ['reconnect.jitter a string', { reconnect: { jitter: 'full' } }, TypeError, 'Expected `reconnect.jitter` to be a boolean, got `full` (string)'],
  ['reconnect.random a number', { reconnect: { random: 4 } }, TypeError, 'Expected `reconnect.random` to be a function, got `4` (number)'],
  ['reconnect.shouldReconnect a boolean', { reconnect: { shouldReconnect: false } }, TypeError, 'Expected `reconnect.shouldReconnect` to be a function, got `false` (boolean)'],

  // heartbeat
  ['heartbeat true', { heartbeat: true }, TypeError, 'Expected `heartbeat` to be an object or false, got `true` (boolean)'],
  ['heartbeat a number', { heartbeat: 1000 }, TypeError, 'Expected `heartbeat` to be an object or false, got `1000` (number)'],
  ['heartbeat.interval 0', { heartbeat: { interval: 0 } }, RangeError, 'Expected `heartbeat.interval` to be a number > 0, got `0` (number)'],
  ['heartbeat.interval Infinity', { heartbeat: { interval: Infinity } }, RangeError, 'Expected `heartbeat.interval` to be a number > 0, got `Infinity` (number)'],
  ['heartbeat.interval a string', { heartbeat: { interval: '25s' } }, TypeError, 'Expected `heartbeat.interval` to be a number > 0, got `25s` (string)'],
  ['heartbeat.timeout 0', { heartbeat: { timeout: 0 } }, RangeError, 'Expected `heartbeat.timeout` to be a number > 0, got `0` (number)'],
  ['heartbeat.timeout negative', { heartbeat: { timeout: -10 } }, RangeError, 'Expected `heartbeat.timeout` to be a number > 0, got `-10` (number)'],
  ['heartbeat.message a string', { heartbeat: { message: 'ping' } }, TypeError, 'Expected `heartbeat.message` to be a function, got `ping` (string)'],
  ['heartbeat.isPong a boolean', { heartbeat: { isPong: true } }, TypeError, 'Expected `heartbeat.isPong` to be a function, got `true` (boolean)'],

  // buffer
  ['buffer false', { buffer: false }, TypeError, 'Expected `buffer` to be an object, got `false` (boolean)'],
  ['buffer null', { buffer: null }, TypeError, 'Expected `buffer` to be an object, got `null` (null)'],
  ['buffer.size -1', { buffer: { size: -1 } }, RangeError, 'Expected `buffer.size` to be an integer >= 0 (or Infinity), got `-1` (number)'],
  ['buffer.size 2.5', { buffer: { size: 2.5 } }, RangeError, 'Expected `buffer.size` to be an integer >= 0 (or Infinity), got `2.5` (number)'],
  ['buffer.size a string', { buffer: { size: '10' } }, TypeError, 'Expected `buffer.size` to be an integer >= 0 (or Infinity), got `10` (string)'],
  ['buffer.timeout negative', { buffer: { timeout: -1 } }, RangeError, 'Expected `buffer.timeout` to be a number >= 0 (or Infinity), got `-1` (number)'],
  ['buffer.timeout null', { buffer: { timeout: null } }, TypeError, 'Expected `buffer.timeout` to be a number >= 0 (or Infinity), got `null` (null)'],
  ['buffer.overflow unknown', { buffer: { overflow: 'drop-all' } }, TypeError, "Expected `buffer.overflow` to be 'drop-newest' or 'drop-oldest', got `drop-all` (string)"],
  ['buffer.overflow a number', { buffer: { overflow: 1 } }, TypeError, "Expected `buffer.overflow` to be 'drop-newest' or 'drop-oldest', got `1` (number)"],

  // durations: Node clamps a timer of 2^31 ms or more to 1 ms, so such a value would fire at once
  ['connectTimeout 2^31', { connectTimeout: 2 ** 31 }, RangeError, 'Expected `connectTimeout` to be a number > 0 and <= 2147483647 (or Infinity), got `2147483648` (number)'],
  ['closeTimeout 2^31', { closeTimeout: 2 ** 31 }, RangeError, 'Expected `closeTimeout` to be a number >= 0 and <= 2147483647, got `2147483648` (number)'],
  ['lazyCloseTimeout 1e10', { lazyCloseTimeout: 1e10 }, RangeError, 'Expected `lazyCloseTimeout` to be a number >= 0 and <= 2147483647 (or Infinity), got `10000000000` (number)'],
  ['heartbeat.interval 2^31', { heartbeat: { interval: 2 ** 31 } }, RangeError, 'Expected `heartbeat.interval` to be a number > 0 and <= 2147483647, got `2147483648` (number)'],
  ['heartbeat.timeout 2^32', { heartbeat: { timeout: 2 ** 32 } }, RangeError, 'Expected `heartbeat.timeout` to be a number > 0 and <= 2147483647, got `4294967296` (number)'],
  ['buffer.timeout 2^31', { buffer: { timeout: 2 ** 31 } }, RangeError, 'Expected `buffer.timeout` to be a number >= 0 and <= 2147483647 (or Infinity), got `2147483648` (number)'],
  ['reconnect.initialDelay 2^31', { reconnect: { initialDelay: 2 ** 31 } }, RangeError, 'Expected `reconnect.initialDelay` to be a number >= 0 and <= 2147483647, got `2147483648` (number)'],
  ['reconnect.maxDelay 2^31', { reconnect: { maxDelay: 2 ** 31 } }, RangeError, 'Expected `reconnect.maxDelay` to be a number >= 0 and <= 2147483647, got `2147483648` (number)'],
  ['reconnect.maxDelay Infinity', { reconnect: { maxDelay: Infinity } }, RangeError, 'Expected `reconnect.maxDelay` to be a number >= 0, got `Infinity` (number)'],
  ['reconnect.resetAfter 2^31', { reconnect: { resetAfter: 2 ** 31 } }, RangeError, 'Expected `reconnect.resetAfter` to be a number >= 0 and <= 2147483647 (or Infinity), got `2147483648` (number)'],

  // protocols: RFC 6455 4.1 tokens, no duplicates (ws and browsers throw a SyntaxError at every attempt)
  ['protocols duplicated', { protocols: ['chat', 'chat'] }, TypeError, 'Expected `protocols` to have no duplicates, got `chat` twice'],
  ['protocols with a space', { protocols: 'a b' }, TypeError, 'Expected `protocols` to be a subprotocol (an HTTP token, RFC 6455 4.1), got `a b` (string)'],
  ['protocols empty', { protocols: '' }, TypeError, 'Expected `protocols` to be a subprotocol (an HTTP token, RFC 6455 4.1), got `` (string)'],
  ['protocols with a comma', { protocols: ['v1', 'v2,v3'] }, TypeError, 'Expected `protocols[1]` to be a subprotocol (an HTTP token, RFC 6455 4.1), got `v2,v3` (string)'],

  // static wsOptions headers (a function's are checked by the WebSocket constructor, fatally)
  ['wsOptions.headers an array', { wsOptions: { headers: [] } }, TypeError, 'Expected `wsOptions.headers` to be an object, got `Array` (object)'],
  ['wsOptions.headers value with a newline', { wsOptions: { headers: { 'X-Token': 'a\nb' } } }, TypeError, 'Expected `wsOptions.headers["X-Token"]` to be a header value (a string without CR, LF or other control characters), got `a\\nb` (string)'],
  ['wsOptions.headers value a number', { wsOptions: { headers: { 'X-Retry': 5 } } }, TypeError, 'Expected `wsOptions.headers["X-Retry"]` to be a header value (a string without CR, LF or other control characters), got `5` (number)'],
  ['wsOptions.headers value undefined', { wsOptions: { headers: { 'X-Token': undefined } } }, TypeError, 'Expected `wsOptions.headers["X-Token"]` to be a header value (a string without CR, LF or other control characters), got `undefined` (undefined)'],
  ['wsOptions.headers name with a space', { wsOptions: { headers: { 'X Token': 'v' } } }, TypeError, 'Expected `wsOptions.headers` to have header names that are HTTP tokens, got `X Token` (string)'],

  // unknown keys, with a suggestion for a near miss
  ['reconect', { reconect: { maxAttempts: 3 } }, TypeError, 'Unknown option `reconect`: did you mean `reconnect`?'],
  ['heartBeat', { heartBeat: false }, TypeError, 'Unknown option `heartBeat`: did you mean `heartbeat`?'],
  ['conectTimeout', { conectTimeout: 5 }, TypeError, 'Unknown option `conectTimeout`: did you mean `connectTimeout`?'],
  ['protocol', { protocol: 'v1' }, TypeError, 'Unknown option `protocol`: did you mean `protocols`?'],
  [
    'an unknown option, no near miss',
    { colour: 'red' },
    TypeError,
    'Unknown option `colour` (the options are `WebSocket`, `protocols`, `wsOptions`, `serialize`, `deserialize`, `connectTimeout`, `reconnect`, `heartbeat`, `closeTimeout`, `lazyCloseTimeout`, `buffer`, `highWaterMark`, `handshake`, `scheduler`, `iteration`, `logger`, `pageEvents`, `session`)',
  ],
  ['buffer.sise', { buffer: { sise: 10 } }, TypeError, 'Unknown option `buffer.sise`: did you mean `buffer.size`?'],
  ['buffer.maxSize', { buffer: { maxSize: 10 } }, TypeError, 'Unknown option `buffer.maxSize` (the options are `buffer.size`, `buffer.timeout`, `buffer.overflow`)'],
  ['heartbeat.intervall', { heartbeat: { intervall: 10 } }, TypeError, 'Unknown option `heartbeat.intervall`: did you mean `heartbeat.interval`?'],
  ['reconnect.maxAttemps', { reconnect: { maxAttemps: 3 } }, TypeError, 'Unknown option `reconnect.maxAttemps`: did you mean `reconnect.maxAttempts`?'],
  ['reconnect.onRetry (the client owns it)', { reconnect: { onRetry: () => undefined } }, TypeError, 'Unknown option `reconnect.onRetry` (the options are `reconnect.initialDelay`, `reconnect.maxDelay`, `reconnect.factor`, `reconnect.jitter`, `reconnect.random`, `reconnect.maxAttempts`, `reconnect.resetAfter`, `reconnect.shouldReconnect`)'],
  ['wsOptions.header', { wsOptions: { header: { a: 'b' } } }, TypeError, 'Unknown option `wsOptions.header`: did you mean `wsOptions.headers`?'],
  ['wsOptions.MaxPayload', { wsOptions: { MaxPayload: 10 } }, TypeError, 'Unknown option `wsOptions.MaxPayload`: did you mean `wsOptions.maxPayload`?'],
  ['wsOptions.rejectUnauthorised', { wsOptions: { rejectUnauthorised: false } }, TypeError, 'Unknown option `wsOptions.rejectUnauthorised`: did you mean `wsOptions.rejectUnauthorized`?'],
  ['wsOptions.perMessageDeflat', { wsOptions: { perMessageDeflat: false } }, TypeError, 'Unknown option `wsOptions.perMessageDeflat`: did you mean `wsOptions.perMessageDeflate`?'],
];

describe('connect(): each invalid option throws at construction with a precise message', () => {
  test.each(cases)('%s', (_description, options, Kind, message) => {
    const error = thrown(() => connect(url, options as ConnectOptions));
    expect(error.constructor).toBe(Kind);
    expect(error.message).toBe(message);
  });
});

describe('connect(): wsOptions', () => {
  test('an object and a function are accepted', () => {
    expect(() => connect(url, { wsOptions: { headers: { authorization: 'x' } } })).not.toThrow();
    expect(() => connect(url, { wsOptions: () => ({}) })).not.toThrow();
  });

  test('an array is a TypeError', () => {
    expect(thrown(() => connect(url, { wsOptions: [] as never })).constructor).toBe(TypeError);
  });

  // Regression, fixed (lib/options.ts, validateOptions, the `wsOptions` line): the message says "an object",
  // but a function of the attempt is accepted too (the option's type and TSDoc say so), so the
  // message misleads whoever fixes the call. Proposed: if it is neither a function nor a plain
  // object, invalid('wsOptions', 'an object or a function', o.wsOptions).
  test('a number names both accepted forms in the message', () => {
    const error = thrown(() => connect(url, { wsOptions: 5 as never }));
    expect(error.constructor).toBe(TypeError);
    expect(error.message).toBe('Expected `wsOptions` to be an object or a function, got `5` (number)');
  });
});

describe('connect(): valid options, including every boundary, are accepted', () => {
  const valid: Array<[string, ConnectOptions]> = [
    ['no options', {}],
    ['a lone maxDelay below the default initialDelay caps it', { reconnect: { maxDelay: 100 } }],
    ['reconnect false, heartbeat false', { reconnect: false, heartbeat: false }],
    ['reconnect boundaries', { reconnect: { initialDelay: 0, maxDelay: 0, factor: 1, maxAttempts: 1, resetAfter: 0, jitter: false } }],
    ['reconnect infinities', { reconnect: { maxAttempts: Infinity, resetAfter: Infinity, random: () => 0.5, shouldReconnect: () => true } }],
    ['maxDelay equal to initialDelay', { reconnect: { initialDelay: 300, maxDelay: 300 } }],
    ['heartbeat small', { heartbeat: { interval: 0.001, timeout: 1 } }],
    ['application-level heartbeat', { heartbeat: { message: () => 'ping', isPong: (m) => m === 'pong' } }],
    ['a handshake', { handshake: async () => undefined }],
    ['buffer boundaries', { buffer: { size: 0, timeout: 0, overflow: 'drop-oldest' } }],
    ['buffer infinities', { buffer: { size: Infinity, timeout: Infinity, overflow: 'drop-newest' } }],
    ['timeouts at their bounds', { connectTimeout: Infinity, closeTimeout: 0, lazyCloseTimeout: Infinity, highWaterMark: 0 }],
    ['lazyCloseTimeout 0 and a small connectTimeout', { lazyCloseTimeout: 0, connectTimeout: 1 }],
    ['protocols as a string and an array', { protocols: 'v1' }],
    ['protocols as an array', { protocols: ['v1', 'v2'] }],
    ['functions', { serialize: String, deserialize: (d) => d, WebSocket: class {} as never }],
    ['schedulers', { scheduler: asyncScheduler }],
    ['a TestScheduler', { scheduler: new TestScheduler(() => undefined) }],
    ['undefined fields', { reconnect: undefined, heartbeat: undefined, buffer: undefined, scheduler: undefined }],
    ['durations at 2^31 - 1', { connectTimeout: 2147483647, closeTimeout: 2147483647, lazyCloseTimeout: 2147483647, heartbeat: { interval: 2147483647, timeout: 2147483647 }, buffer: { timeout: 2147483647 } }],
    ['reconnect delays at 2^31 - 1', { reconnect: { initialDelay: 2147483647, maxDelay: 2147483647, resetAfter: 2147483647 } }],
    ['subprotocol tokens', { protocols: ['graphql-transport-ws', "v1.chat!#$%&'*+^_`|~"] }],
    ['no subprotocols', { protocols: [] }],
    ['static headers', { wsOptions: { headers: { Authorization: 'Bearer x', 'X-Tab': 'a\tb', 'X-Latin': 'é' } } }],
    ['ws options passed through to ws, http and tls', { wsOptions: { handshakeTimeout: 1000, followRedirects: true, origin: 'https://example.com', cert: 'c', key: 'k', servername: 'example.com', localAddress: '127.0.0.1', family: 4, myTracingTag: 'x' } }],
  ];

  test.each(valid)('%s', (_description, options) => {
    const socket = connect(url, options);
    expect(socket.state).toEqual({ status: 'idle', attempt: 0 });
  });

  test('options may be omitted', () => {
    expect(connect(url).state).toEqual({ status: 'idle', attempt: 0 });
  });
});

describe('connect(): a static URL is checked at construction', () => {
  test.each([
    ['ws://127.0.0.1:9/'],
    ['wss://example.com/feed?x=1'],
    ['http://127.0.0.1:9/'],
    ['https://example.com/'],
  ])('%s is accepted', (address) => {
    expect(() => connect(address)).not.toThrow();
    expect(() => connect(new URL(address))).not.toThrow();
  });

  test.each([
    ['ftp://example.com/file', 'Expected a ws:, wss:, http: or https: URL, got `ftp://example.com/file` (protocol ftp:)'],
    ['file:///tmp/socket', 'Expected a ws:, wss:, http: or https: URL, got `file:///tmp/socket` (protocol file:)'],
    ['mailto:a@example.com', 'Expected a ws:, wss:, http: or https: URL, got `mailto:a@example.com` (protocol mailto:)'],
    ['localhost:8080', 'Expected a ws:, wss:, http: or https: URL, got `localhost:8080` (protocol localhost:)'],
    ['127.0.0.1:8080', 'Expected a ws:, wss:, http: or https: URL, got `127.0.0.1:8080` (not a valid URL)'],
    ['localhost', 'Expected a ws:, wss:, http: or https: URL, got `localhost` (not a valid URL)'],
    ['', 'Expected a ws:, wss:, http: or https: URL, got `` (not a valid URL)'],
    ['ws:///feed', 'Expected a ws:, wss:, http: or https: URL with a host, got `ws:///feed` (no host)'],
  ])('%p throws a TypeError', (address, message) => {
    const error = thrown(() => connect(address));
    expect(error.constructor).toBe(TypeError);
    expect(error.message).toBe(message);
  });

  test('a URL object with a non-ws protocol throws a TypeError', () => {
    const error = thrown(() => connect(new URL('ftp://example.com/')));
    expect(error.constructor).toBe(TypeError);
    expect(error.message).toBe('Expected a ws:, wss:, http: or https: URL, got `ftp://example.com/` (protocol ftp:)');
  });

  test('a URL that is neither a string, a URL nor a function throws a TypeError', () => {
    expect(thrown(() => connect(42 as never)).message).toBe('Expected the URL to be a string, a URL or a function, got number');
    expect(thrown(() => connect(null as never)).message).toBe('Expected the URL to be a string, a URL or a function, got null');
    expect(thrown(() => connect(undefined as never)).constructor).toBe(TypeError);
  });

  test('a URL function is not called at construction (it is called before every attempt)', () => {
    const source = jest.fn(() => 'ftp://not-checked-yet');
    expect(() => connect(source)).not.toThrow();
    expect(source).not.toHaveBeenCalled();
  });

  test('a bad option is reported before a bad URL is looked at', () => {
    const error = thrown(() => connect('ftp://x', { closeTimeout: -1 }));
    expect(error).toEqual(new RangeError('Expected `closeTimeout` to be a number >= 0, got `-1` (number)'));
  });
});

describe('close(): code and reason are checked before anything closes', () => {
  const codeMessage = (shown: string): string => `Expected \`code\` to be 1000–1003, 1007–1014 or an integer in 3000–4999, got ${shown}`;

  test.each([
    [999, '`999` (number)'],
    [1004, '`1004` (number)'],
    [1005, '`1005` (number)'],
    [1006, '`1006` (number)'],
    [1015, '`1015` (number)'],
    [2999, '`2999` (number)'],
    [5000, '`5000` (number)'],
    [3000.5, '`3000.5` (number)'],
    [NaN, '`NaN` (number)'],
    [-1000, '`-1000` (number)'],
    ['1000', '`1000` (string)'],
  ])('code %p throws a RangeError', (code, shown) => {
    const socket = connect(url);
    const error = thrown(() => socket.close(code as never));
    expect(error.constructor).toBe(RangeError);
    expect(error.message).toBe(codeMessage(shown));
  });

  test('with a standard WebSocket (no ws extras), only 1000 and 3000–4999: what WebSocket.close() accepts', () => {
    function Standard(address: string): unknown {
      return new (require('ws').WebSocket)(address);
    }
    const socket = connect(url, { WebSocket: Standard as never });
    const error = thrown(() => socket.close(1001));
    expect(error).toEqual(new RangeError('Expected `code` to be 1000 or an integer in 3000–4999, got `1001` (number)'));
  });

  test.each([
    ['124 ASCII bytes', 'x'.repeat(124), 124],
    ['62 two-byte characters', 'é'.repeat(62), 124],
    ['31 four-byte emoji (62 UTF-16 units, 124 bytes)', '😀'.repeat(31), 124],
    ['41 three-byte characters', '€'.repeat(41) + 'x', 124],
    ['500 bytes', 'y'.repeat(500), 500],
  ])('a reason of %s throws a RangeError counting UTF-8 bytes', (_description, reason, bytes) => {
    const socket = connect(url);
    const error = thrown(() => socket.close(1000, reason));
    expect(error.constructor).toBe(RangeError);
    expect(error.message).toBe(`Expected \`reason\` to be a string of at most 123 UTF-8 bytes, got ${bytes} bytes`);
  });

  test('a rejected close() closes nothing: state stays idle, streams stay open, a valid close() still works', async () => {
    const socket = connect(url, { reconnect: false });
    const states = lastValueFrom(socket.state$.pipe(toArray()));
    const completed: string[] = [];
    socket.errors$.subscribe({ complete: () => void completed.push('errors$') });
    socket.dropped$.subscribe({ complete: () => void completed.push('dropped$') });
    expect(() => socket.close(1005)).toThrow(RangeError);
    expect(() => socket.close(1000, 'z'.repeat(124))).toThrow(RangeError);
    await Promise.resolve();
    expect(socket.state).toEqual({ status: 'idle', attempt: 0 });
    expect(completed).toEqual([]);
    await socket.close(4000, 'x'.repeat(123));
    expect(await states).toEqual([
      { status: 'idle', attempt: 0 },
      { status: 'closing', attempt: 0 },
      { status: 'closed', attempt: 0, lastClose: { code: 4000, reason: 'x'.repeat(123), wasClean: true } },
    ]);
    expect(completed).toEqual(['errors$', 'dropped$']);
    await expect(socket.send('after close')).rejects.toMatchObject({ name: 'MessageDroppedError', reason: 'closed' });
  });

  test.each([
    ['1000 with no reason', 1000, undefined],
    ['3000 with an empty reason', 3000, ''],
    ['4999 with 123 ASCII bytes', 4999, 'r'.repeat(123)],
    ['1000 with 61 two-byte characters and one ASCII (123 bytes)', 1000, 'é'.repeat(61) + 'a'],
    ['1000 with 30 emoji and 3 ASCII (123 bytes)', 1000, '😀'.repeat(30) + 'abc'],
  ])('%s is accepted', async (_description, code, reason) => {
    const socket = connect(url);
    await expect(socket.close(code, reason)).resolves.toBeUndefined();
    expect(socket.state.status).toBe('closed');
  });

  test('close() with no arguments is close(1000) and every call returns the same promise', async () => {
    const socket = connect(url);
    const first = socket.close();
    expect(socket.close(4000, 'other')).toBe(first);
    await first;
    expect(socket.close()).toBe(first);
  });

  test('an invalid code still throws after the socket closed', async () => {
    const socket = connect(url);
    await socket.close();
    expect(thrown(() => socket.close(2000)).constructor).toBe(RangeError);
  });
});

describe('the WebSocket option, at the type level', () => {
  test('accepts ws and the DOM WebSocket class (tsc checks this file)', () => {
    const typeCheckOnly = (): void => {
      connect(url, { WebSocket: globalThis.WebSocket });
    };
    expect(typeof typeCheckOnly).toBe('function');
  });
});
