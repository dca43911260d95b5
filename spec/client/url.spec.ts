import { ConfigurationError } from '../../lib/core/errors.js';
import { normalizeUrl, resolveUrl } from '../../lib/client/url.js';
import { thrown } from '../helpers/thrown.js';

// normalizeUrl checks a static URL and returns it as a ws:/wss: string (http:/https: mapped);
// resolveUrl does the same for one attempt, calling a URL function first.

describe('normalizeUrl: accepted URLs', () => {
  test.each([
    ['ws://127.0.0.1:8080', 'ws://127.0.0.1:8080/'],
    ['wss://example.com/feed?token=a%20b', 'wss://example.com/feed?token=a%20b'],
    ['http://127.0.0.1:8080/path', 'ws://127.0.0.1:8080/path'],
    ['https://example.com/socket?x=1&y=2', 'wss://example.com/socket?x=1&y=2'],
    ['HTTP://EXAMPLE.COM/Path', 'ws://example.com/Path'],
    ['WSS://Example.com', 'wss://example.com/'],
    ['http://user:pass@example.com:9000/p', 'ws://user:pass@example.com:9000/p'],
    ['https://[::1]:4443/x', 'wss://[::1]:4443/x'],
    ['ws://localhost', 'ws://localhost/'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeUrl(input)).toBe(expected);
  });

  test('default ports stay implicit across the mapping: http:80 → ws, https:443 → wss', () => {
    expect(normalizeUrl('http://example.com:80/')).toBe('ws://example.com/');
    expect(normalizeUrl('https://example.com:443/')).toBe('wss://example.com/');
  });

  test('a port that is the default of the other scheme is kept', () => {
    expect(normalizeUrl('http://example.com:443/')).toBe('ws://example.com:443/');
    expect(normalizeUrl('https://example.com:80/')).toBe('wss://example.com:80/');
  });

  test('URL objects are accepted and not modified', () => {
    const url = new URL('https://example.com/a?b=c');
    expect(normalizeUrl(url)).toBe('wss://example.com/a?b=c');
    expect(url.href).toBe('https://example.com/a?b=c');
    expect(normalizeUrl(new URL('ws://127.0.0.1:1/'))).toBe('ws://127.0.0.1:1/');
  });
});

describe('normalizeUrl: rejected URLs throw a TypeError naming the URL', () => {
  test.each([
    ['ftp://example.com/', 'Expected a ws:, wss:, http: or https: URL, got `ftp://example.com/` (protocol ftp:)'],
    ['file:///tmp/x', 'Expected a ws:, wss:, http: or https: URL, got `file:///tmp/x` (protocol file:)'],
    ['data:text/plain,hi', 'Expected a ws:, wss:, http: or https: URL, got `data:text/plain,hi` (protocol data:)'],
    ['javascript:alert(1)', 'Expected a ws:, wss:, http: or https: URL, got `javascript:alert(1)` (protocol javascript:)'],
    ['localhost:8080', 'Expected a ws:, wss:, http: or https: URL, got `localhost:8080` (protocol localhost:)'],
    ['/relative/path', 'Expected a ws:, wss:, http: or https: URL, got `/relative/path` (not a valid URL)'],
    ['example.com', 'Expected a ws:, wss:, http: or https: URL, got `example.com` (not a valid URL)'],
    ['ws://', 'Expected a ws:, wss:, http: or https: URL, got `ws://` (not a valid URL)'],
    ['http://exa mple.com', 'Expected a ws:, wss:, http: or https: URL, got `http://exa mple.com` (not a valid URL)'],
    ['', 'Expected a ws:, wss:, http: or https: URL, got `` (not a valid URL)'],
    // The URL parser skips any number of slashes after a special scheme: `ws:///feed` would dial a
    // host called `feed`.
    ['ws:///feed', 'Expected a ws:, wss:, http: or https: URL with a host, got `ws:///feed` (no host)'],
    ['wss:////example.com/feed', 'Expected a ws:, wss:, http: or https: URL with a host, got `wss:////example.com/feed` (no host)'],
    ['http:///path', 'Expected a ws:, wss:, http: or https: URL with a host, got `http:///path` (no host)'],
    ['ws:/feed', 'Expected a ws:, wss:, http: or https: URL with a host, got `ws:/feed` (no host)'],
    ['ws:example.com', 'Expected a ws:, wss:, http: or https: URL with a host, got `ws:example.com` (no host)'],
  ])('%p', (input, message) => {
    const error = thrown(() => normalizeUrl(input));
    expect(error.constructor).toBe(TypeError);
    expect(error.message).toBe(message);
  });

  test('a fragment is refused (a WebSocket URL has none)', () => {
    const error = thrown(() => normalizeUrl('wss://example.com/feed#top'));
    expect(error.constructor).toBe(TypeError);
    expect(error.message).toBe('Expected a URL without a fragment, got `wss://example.com/feed#top`');
    expect(thrown(() => normalizeUrl(new URL('http://example.com/#x'))).message).toBe(
      'Expected a URL without a fragment, got `http://example.com/#x`',
    );
  });

  test.each([
    [42, 'number'],
    [null, 'null'],
    [undefined, 'undefined'],
    [{ href: 'ws://example.com' }, 'object'],
    [true, 'boolean'],
  ])('%p is neither a string nor a URL', (input, shown) => {
    const error = thrown(() => normalizeUrl(input));
    expect(error.constructor).toBe(TypeError);
    expect(error.message).toBe(`Expected the URL to be a string, a URL or a function, got ${shown}`);
  });
});

describe('resolveUrl: one attempt', () => {
  test('a static string or URL resolves to its normalized form', async () => {
    await expect(resolveUrl('http://127.0.0.1:1/a')).resolves.toBe('ws://127.0.0.1:1/a');
    await expect(resolveUrl(new URL('https://example.com'))).resolves.toBe('wss://example.com/');
  });

  test('a function is called once per resolve, each time afresh (fresh tokens)', async () => {
    let token = 0;
    const source = jest.fn(() => `wss://example.com/?token=${++token}`);
    expect(await resolveUrl(source)).toBe('wss://example.com/?token=1');
    expect(await resolveUrl(source)).toBe('wss://example.com/?token=2');
    expect(source).toHaveBeenCalledTimes(2);
    expect(source.mock.calls).toEqual([[], []]);
  });

  test('a function may return a URL or a promise of either', async () => {
    await expect(resolveUrl(() => new URL('http://example.com/u'))).resolves.toBe('ws://example.com/u');
    await expect(resolveUrl(async () => 'https://example.com/p')).resolves.toBe('wss://example.com/p');
    await expect(resolveUrl(() => Promise.resolve(new URL('ws://example.com/q')))).resolves.toBe('ws://example.com/q');
  });

  test('a function that throws makes resolveUrl reject (not throw) with that error', async () => {
    const failure = new Error('no token');
    const source = (): string => {
      throw failure;
    };
    let result: Promise<string> | undefined;
    expect(() => (result = resolveUrl(source))).not.toThrow();
    await expect(result).rejects.toBe(failure);
  });

  test('a function that rejects makes resolveUrl reject with that reason', async () => {
    const failure = new Error('token service down');
    await expect(resolveUrl(() => Promise.reject(failure))).rejects.toBe(failure);
  });

  // A URL function's bad return is configuration: fatal, so it is a ConfigurationError (a TypeError)
  // that says where the URL came from, with the check's error as its cause.
  test('a function that returns an invalid URL makes resolveUrl reject with a ConfigurationError', async () => {
    const returned = async (source: () => unknown): Promise<ConfigurationError> => {
      const error = await resolveUrl(source as never).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as ConfigurationError).option).toBe('url');
      expect(((error as ConfigurationError).cause as Error).constructor).toBe(TypeError);
      return error as ConfigurationError;
    };
    const prefix = 'The URL function returned an unusable URL: ';
    expect((await returned(() => 'ftp://example.com/')).message).toBe(`${prefix}Expected a ws:, wss:, http: or https: URL, got \`ftp://example.com/\` (protocol ftp:)`);
    expect((await returned(async () => 'nope')).message).toBe(`${prefix}Expected a ws:, wss:, http: or https: URL, got \`nope\` (not a valid URL)`);
    expect((await returned(() => 7)).message).toBe(`${prefix}Expected the URL to be a string, a URL or a function, got number`);
    expect((await returned(() => 'ws:///feed')).message).toBe(`${prefix}Expected a ws:, wss:, http: or https: URL with a host, got \`ws:///feed\` (no host)`);
  });

  test('a function that throws a TypeError or SyntaxError synchronously rejects with a ConfigurationError', async () => {
    const bug = new TypeError('token.trim is not a function');
    const error = await resolveUrl(() => {
      throw bug;
    }).then(() => undefined, (e: unknown) => e as ConfigurationError);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error?.message).toBe('The URL function threw TypeError: token.trim is not a function');
    expect(error?.cause).toBe(bug);
  });

  test('a function that rejects with a TypeError (fetch failed) rejects with that error: retriable', async () => {
    const network = new TypeError('fetch failed');
    await expect(resolveUrl(() => Promise.reject(network))).rejects.toBe(network);
  });

  test('an invalid static URL still rejects with a plain TypeError (connect() checked it already)', async () => {
    const error = await resolveUrl('ftp://example.com/').then(() => undefined, (e: unknown) => e as Error);
    expect(error?.constructor).toBe(TypeError);
  });

  test('an invalid static URL rejects rather than throws', async () => {
    let result: Promise<string> | undefined;
    expect(() => (result = resolveUrl('gopher://example.com'))).not.toThrow();
    await expect(result).rejects.toBeInstanceOf(TypeError);
  });
});
