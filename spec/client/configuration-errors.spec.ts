import {
  ConfigurationError,
  connect,
  ConnectionClosedError,
  RetriesExhaustedError,
  type ConnectOptions,
  type ConnectionState,
  type RxSocket,
  type UrlSource,
} from '../../lib/index.js';
import { onDispose } from '../helpers/dispose.js';
import { jsonPeer, quickReconnect } from '../helpers/numbered-server.js';
import '../helpers/tripwires.js';
import { waitFor } from '../helpers/wait.js';

// Configuration errors found when an attempt starts (a URL function's unusable URL or synchronous
// TypeError/SyntaxError, a WebSocket constructor that refuses its arguments) end the socket with
// the message, instead of being retried as 1006 forever. Errors that may pass (a token service
// down, a network error) are still retried. Real servers on 127.0.0.1 port 0, no mocks of ws.

const serve = (): ReturnType<typeof jsonPeer> => jsonPeer();

/** A client with fast reconnects and no heartbeat, closed in `afterEach`; the URL may be a function. */
function quickClient<In, Out>(url: UrlSource, options: ConnectOptions<In, Out> = {}): RxSocket<In, Out> {
  const socket = connect<In, Out>(url, { ...quickReconnect, ...options });
  onDispose(() => socket.close());
  return socket;
}

/** The error `messages$` ends with, within `within` ms. */
function terminalError(socket: RxSocket<unknown, unknown>, within = 2000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`messages$ did not error within ${within} ms (retried?)`)), within);
    socket.messages$.subscribe({
      error: (error: unknown) => {
        clearTimeout(timer);
        resolve(error);
      },
    });
  });
}

describe('configuration errors found when an attempt starts end the socket (not retried as 1006 forever)', () => {
  /** Expects `error` to be the terminal ConnectionClosedError with a ConfigurationError cause. */
  function expectFatal(socket: RxSocket<unknown, unknown>, error: unknown, option: string, message: string): void {
    expect(error).toBeInstanceOf(ConnectionClosedError);
    const closed = error as ConnectionClosedError;
    expect(closed.cause).toBeInstanceOf(ConfigurationError);
    expect(closed.cause).toBeInstanceOf(TypeError);
    expect((closed.cause as ConfigurationError).name).toBe('ConfigurationError');
    expect((closed.cause as ConfigurationError).option).toBe(option);
    expect((closed.cause as ConfigurationError).message).toBe(message);
    expect(closed.message).toBe(`Connection closed with code 1006: ${message}`);
    expect(socket.state).toEqual<ConnectionState>({ status: 'closed', attempt: 1, lastClose: { code: 1006, reason: message, wasClean: false } });
  }

  test.each([
    ['ftp://example.com/', 'The URL function returned an unusable URL: Expected a ws:, wss:, http: or https: URL, got `ftp://example.com/` (protocol ftp:)'],
    ['not a url', 'The URL function returned an unusable URL: Expected a ws:, wss:, http: or https: URL, got `not a url` (not a valid URL)'],
    ['ws:///feed', 'The URL function returned an unusable URL: Expected a ws:, wss:, http: or https: URL with a host, got `ws:///feed` (no host)'],
    [42, 'The URL function returned an unusable URL: Expected the URL to be a string, a URL or a function, got number'],
  ])('a URL function returning %p', async (returned, message) => {
    const source = jest.fn(async () => returned as string);
    const socket = quickClient<unknown, unknown>(source);
    const errors: unknown[] = [];
    socket.errors$.subscribe((e) => errors.push(e));
    expectFatal(socket, await terminalError(socket), 'url', message);
    expect(source).toHaveBeenCalledTimes(1);
    expect(errors).toEqual([]);
  });

  test.each([
    ['TypeError', new TypeError('token.trim is not a function')],
    ['SyntaxError', new SyntaxError('Unexpected token < in JSON')],
  ])('a URL function that throws a %s synchronously', async (name, failure) => {
    const source = jest.fn((): string => {
      throw failure;
    });
    const socket = quickClient<unknown, unknown>(source);
    const error = await terminalError(socket);
    expectFatal(socket, error, 'url', `The URL function threw ${name}: ${failure.message}`);
    expect(((error as Error).cause as Error).cause).toBe(failure);
    expect(source).toHaveBeenCalledTimes(1);
  });

  test.each([
    ['an Error', () => Promise.reject(new Error('token service down'))],
    ['a TypeError (fetch failed: a network error)', () => Promise.reject(new TypeError('fetch failed'))],
    ['an Error thrown synchronously', () => {
      throw new Error('no token yet');
    }],
  ])('a URL function that rejects or throws with %s is retried', async (_description, fail) => {
    const server = await serve();
    let calls = 0;
    const socket = quickClient<unknown, unknown>(() => (++calls <= 2 ? fail() : server.url));
    const errors: unknown[] = [];
    socket.errors$.subscribe((e) => errors.push(e));
    socket.messages$.subscribe({ error: () => undefined });
    await waitFor(() => socket.state.status === 'open', 'the third attempt to open');
    expect(calls).toBe(3);
    expect(errors).toHaveLength(2);
    expect((errors[0] as Error).cause).not.toBeInstanceOf(ConfigurationError);
  });

  test('a wsOptions function whose headers the WebSocket constructor refuses (a newline)', async () => {
    const server = await serve();
    const wsOptions = jest.fn(() => ({ headers: { 'X-Token': 'a\r\nInjected: 1' } }));
    const socket = quickClient<unknown, unknown>(server.url, { wsOptions });
    const error = await terminalError(socket);
    expectFatal(socket, error, 'WebSocket', 'The WebSocket constructor threw TypeError: Invalid character in header content ["X-Token"]');
    expect(wsOptions).toHaveBeenCalledTimes(1);
    expect(server.connections()).toBe(0);
  });

  test('a WebSocket constructor that throws a SyntaxError DOMException (as browsers do)', async () => {
    let calls = 0;
    class Refusing {
      constructor() {
        calls++;
        throw new DOMException("The subprotocol 'a b' is invalid.", 'SyntaxError');
      }
    }
    const socket = quickClient<unknown, unknown>('ws://127.0.0.1:9', { WebSocket: Refusing as never });
    expectFatal(socket, await terminalError(socket), 'WebSocket', "The WebSocket constructor threw SyntaxError: The subprotocol 'a b' is invalid.");
    expect(calls).toBe(1);
  });

  test('a WebSocket constructor that throws anything else is retried as before', async () => {
    let calls = 0;
    class Flaky {
      constructor() {
        calls++;
        throw new Error('EMFILE: too many open files');
      }
    }
    const socket = quickClient<unknown, unknown>('ws://127.0.0.1:9', { WebSocket: Flaky as never, reconnect: { initialDelay: 5, jitter: false, maxAttempts: 3 } });
    const error = await terminalError(socket);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(calls).toBe(3);
  });

  test('reconnect.shouldReconnect still decides, as for every close (here: retry until maxAttempts)', async () => {
    const source = jest.fn(() => 'ftp://example.com/');
    const socket = quickClient<unknown, unknown>(source, { reconnect: { initialDelay: 5, jitter: false, maxAttempts: 3, shouldReconnect: () => true } });
    const error = await terminalError(socket);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(((error as Error).cause as Error).cause).toBeInstanceOf(ConfigurationError);
    expect(source).toHaveBeenCalledTimes(3);
  });
});
