import type { Writable } from 'node:stream';
import WebSocket from 'ws';
import { isRetriableClose } from '../../lib/index.js';
import { isSendableCloseCode } from '../../lib/core/close-codes.js';
import { closeCodeOfProtocolError, isTlsCertificateError } from '../../lib/transports/ws-errors.js';

// ws's frame parser: public (`require('ws').Receiver`), but @types/ws does not declare it.
const { Receiver } = WebSocket as unknown as {
  Receiver: new (options: { isServer?: boolean; maxPayload?: number }) => Writable;
};

// The default reconnect table (issue "core 1/2"):
//   retried — 1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014, 3000–4999;
//   fatal   — 1002, 1003, 1007, 1008, 1009, 1010, 1015, every other code in 1000–2999.
// Protocol errors that ws detects locally map from the error's `code`: WS_ERR_INVALID_UTF8 → 1007,
// WS_ERR_UNSUPPORTED_MESSAGE_LENGTH → 1009, any other WS_ERR_* → 1002. TLS certificate errors
// are fatal.

const close = (code: number, reason = '', wasClean = true): { code: number; reason: string; wasClean: boolean } => ({ code, reason, wasClean });

describe('isRetriableClose: the default table', () => {
  const table: Array<[number, boolean, string]> = [
    [1000, true, 'normal closure (server-sent)'],
    [1001, true, 'going away'],
    [1002, false, 'protocol error'],
    [1003, false, 'unsupported data'],
    [1004, false, 'reserved'],
    [1005, true, 'no status received'],
    [1006, true, 'abnormal closure: network error, connect or heartbeat timeout'],
    [1007, false, 'invalid frame payload data'],
    [1008, false, 'policy violation'],
    [1009, false, 'message too big'],
    [1010, false, 'mandatory extension'],
    [1011, true, 'internal server error'],
    [1012, true, 'service restart'],
    [1013, true, 'try again later'],
    [1014, true, 'bad gateway'],
    [1015, false, 'TLS handshake failure'],
    [1016, false, 'unassigned in 1000–2999'],
    [1999, false, 'unassigned in 1000–2999'],
    [2000, false, 'reserved for extensions'],
    [2999, false, 'last of 1000–2999'],
    [3000, true, 'first registered application code'],
    [3001, true, 'registered application code'],
    [3999, true, 'last registered application code'],
    [4000, true, 'first private application code'],
    [4500, true, 'private application code'],
    [4999, true, 'last private application code'],
  ];

  test.each(table)('%i → retried: %p (%s)', (code, retried) => {
    expect(isRetriableClose(close(code))).toBe(retried);
  });

  test('covers every code from 1000 to 1015 in one table, in order', () => {
    const row = Array.from({ length: 16 }, (_, i) => isRetriableClose(close(1000 + i)));
    expect(row).toEqual([
      true, //  1000
      true, //  1001
      false, // 1002
      false, // 1003
      false, // 1004
      true, //  1005
      true, //  1006
      false, // 1007
      false, // 1008
      false, // 1009
      false, // 1010
      true, //  1011
      true, //  1012
      true, //  1013
      true, //  1014
      false, // 1015
    ]);
  });

  test('every code in 1016–2999 is fatal and every code in 3000–4999 is retried', () => {
    const retriedIn1016to2999: number[] = [];
    for (let code = 1016; code <= 2999; code++) if (isRetriableClose(close(code))) retriedIn1016to2999.push(code);
    const fatalIn3000to4999: number[] = [];
    for (let code = 3000; code <= 4999; code++) if (!isRetriableClose(close(code))) fatalIn3000to4999.push(code);
    expect({ retriedIn1016to2999, fatalIn3000to4999 }).toEqual({ retriedIn1016to2999: [], fatalIn3000to4999: [] });
  });

  test('depends on the code, and on an HTTP status of 401 or 403 only: reason and wasClean do not change the decision', () => {
    expect(isRetriableClose({ code: 1006, reason: 'heartbeat timeout', wasClean: false })).toBe(true);
    expect(isRetriableClose({ code: 1006, reason: 'connect timeout', wasClean: false, status: 503 })).toBe(true);
    expect(isRetriableClose({ code: 1008, reason: 'retry please', wasClean: false })).toBe(false);
    // An upgrade refused as unauthorized or forbidden: a bad token would be retried forever.
    expect(isRetriableClose({ code: 1006, reason: '', wasClean: false, status: 401 })).toBe(false);
    expect(isRetriableClose({ code: 1006, reason: '', wasClean: false, status: 403 })).toBe(false);
    expect(isRetriableClose({ code: 1006, reason: '', wasClean: false, status: 429 })).toBe(true);
  });

  test('codes outside 1000–4999 are not retried', () => {
    expect([0, 999, 5000, 65535, -1000].map((code) => isRetriableClose(close(code)))).toEqual([false, false, false, false, false]);
  });
});

describe('closeCodeOfProtocolError: WS_ERR_* codes', () => {
  const withCode = (code: unknown): Error => Object.assign(new Error('x'), { code });

  test.each([
    ['WS_ERR_INVALID_UTF8', 1007],
    ['WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009],
    ['WS_ERR_EXPECTED_FIN', 1002],
    ['WS_ERR_EXPECTED_MASK', 1002],
    ['WS_ERR_INVALID_CLOSE_CODE', 1002],
    ['WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002],
    ['WS_ERR_INVALID_OPCODE', 1002],
    ['WS_ERR_UNEXPECTED_MASK', 1002],
    ['WS_ERR_UNEXPECTED_RSV_1', 1002],
    ['WS_ERR_UNEXPECTED_RSV_2_3', 1002],
    // ws itself closes with 1009 and 1008 for these two; the issue maps every other WS_ERR_* to 1002
    ['WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', 1002],
    ['WS_ERR_TOO_MANY_BUFFERED_PARTS', 1002],
  ])('%s → %i', (code, expected) => {
    expect(closeCodeOfProtocolError(withCode(code))).toBe(expected);
  });

  test('every mapped code is fatal in the default table, so bad frames never cause a reconnect loop', () => {
    for (const code of ['WS_ERR_INVALID_UTF8', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'WS_ERR_INVALID_OPCODE', 'WS_ERR_SOMETHING_NEW']) {
      expect(isRetriableClose(close(closeCodeOfProtocolError(withCode(code)) as number, '', false))).toBe(false);
    }
  });

  test('a future WS_ERR_* code maps to 1002', () => {
    expect(closeCodeOfProtocolError(withCode('WS_ERR_SOMETHING_NEW'))).toBe(1002);
  });

  test.each([
    ['a network error', withCode('ECONNRESET')],
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a TLS error', withCode('DEPTH_ZERO_SELF_SIGNED_CERT')],
    ['a lower-case lookalike', withCode('ws_err_invalid_utf8')],
    ['a code that only contains WS_ERR_', withCode('X_WS_ERR_INVALID_UTF8')],
    ['a numeric code', withCode(1007)],
    ['an error without code', new Error('plain')],
    ['undefined', undefined],
    ['null', null],
    ['a string', 'WS_ERR_INVALID_UTF8'],
  ])('%s is not a protocol error: undefined', (_description, error) => {
    expect(closeCodeOfProtocolError(error)).toBeUndefined();
  });

  test('the code is read from any object, not only Error instances', () => {
    expect(closeCodeOfProtocolError({ code: 'WS_ERR_INVALID_OPCODE' })).toBe(1002);
  });
});

describe('closeCodeOfProtocolError: errors from a real ws Receiver fed crafted server frames', () => {
  /** Feeds `frame` to a client-side ws Receiver and returns the error it emits. */
  function receiverError(frame: number[], options: { maxPayload?: number } = {}): Promise<Error & { code?: string }> {
    return new Promise((resolve, reject) => {
      const receiver = new Receiver({ isServer: false, ...options });
      receiver.on('error', resolve);
      receiver.on('message', () => reject(new Error('the frame was accepted')));
      receiver.write(Buffer.from(frame));
    });
  }

  test.each([
    ['a text frame with invalid UTF-8', [0x81, 0x02, 0xff, 0xfe], {}, 'WS_ERR_INVALID_UTF8', 1007],
    ['a message over maxPayload', [0x82, 0x05, 1, 2, 3, 4, 5], { maxPayload: 4 }, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009],
    ['a reserved opcode', [0x83, 0x00], {}, 'WS_ERR_INVALID_OPCODE', 1002],
    ['RSV1 set without an extension', [0xc1, 0x00], {}, 'WS_ERR_UNEXPECTED_RSV_1', 1002],
    ['a masked frame from the server', [0x81, 0x80, 0, 0, 0, 0], {}, 'WS_ERR_UNEXPECTED_MASK', 1002],
    ['a fragmented ping', [0x09, 0x00], {}, 'WS_ERR_EXPECTED_FIN', 1002],
    ['a close frame with code 1005', [0x88, 0x02, 0x03, 0xed], {}, 'WS_ERR_INVALID_CLOSE_CODE', 1002],
  ])('%s: %s → %i', async (_description, frame, options, wsCode, expected) => {
    const error = await receiverError(frame, options);
    expect(error.code).toBe(wsCode);
    expect(closeCodeOfProtocolError(error)).toBe(expected);
  });
});

describe('isTlsCertificateError', () => {
  const withCode = (code: unknown): Error => Object.assign(new Error('tls'), { code });

  // The codes Node puts on the error of a failed certificate check (OpenSSL verify results and
  // Node's own hostname check). Retrying cannot fix any of them.
  test.each([
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'CERT_HAS_EXPIRED',
    'CERT_NOT_YET_VALID',
    'CERT_REVOKED',
    'CERT_UNTRUSTED',
    'CERT_REJECTED',
    'CERT_SIGNATURE_FAILURE',
    'CERT_CHAIN_TOO_LONG',
    'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
    'ERROR_IN_CERT_NOT_BEFORE_FIELD',
    'ERROR_IN_CERT_NOT_AFTER_FIELD',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'ERR_TLS_CERT_ALTNAME_FORMAT',
  ])('%s is a certificate error', (code) => {
    expect(isTlsCertificateError(withCode(code))).toBe(true);
  });

  // Regression, fixed (lib/close-codes.ts, CERT_ERROR_CODES): these OpenSSL verify results are certificate
  // errors that Node reports with exactly these codes, but none is in the set nor contains
  // "CERT_", so the default table retries a misconfigured wss:// endpoint forever. Reproduced
  // with Node's tls against local servers: a leaf certificate without the serverAuth purpose
  // (or signed by an intermediate with CA:FALSE) → INVALID_PURPOSE; a chain longer than the root's
  // pathlen → PATH_LENGTH_EXCEEDED. INVALID_CA is the same family (X509_V_ERR_INVALID_CA).
  // Proposed: add 'INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED', 'INVALID_CA' to CERT_ERROR_CODES.
  test.each(['INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED', 'INVALID_CA'])('%s is a certificate error', (code) => {
    expect(isTlsCertificateError(withCode(code))).toBe(true);
  });

  test.each([
    ['ECONNREFUSED', withCode('ECONNREFUSED')],
    ['ECONNRESET', withCode('ECONNRESET')],
    ['ETIMEDOUT', withCode('ETIMEDOUT')],
    ['ENOTFOUND', withCode('ENOTFOUND')],
    ['EPROTO (a TLS protocol error, not a certificate)', withCode('EPROTO')],
    ['a ws protocol error', withCode('WS_ERR_INVALID_UTF8')],
    ['a numeric code', withCode(42)],
    ['no code', new Error('certificate has expired')],
    ['undefined', undefined],
    ['null', null],
    ['a string', 'CERT_HAS_EXPIRED'],
  ])('%s is not a certificate error', (_description, error) => {
    expect(isTlsCertificateError(error)).toBe(false);
  });
});

describe('isSendableCloseCode: what close() accepts', () => {
  const accepted = (rule: 'standard' | 'rfc6455'): number[] => {
    const codes: number[] = [];
    for (let code = 0; code <= 6000; code++) if (isSendableCloseCode(code, rule)) codes.push(code);
    return codes;
  };

  test('a standard WebSocket: 1000 and 3000–4999 only (the default rule)', () => {
    const codes = accepted('standard');
    expect(codes.length).toBe(2001);
    expect(codes.slice(0, 2)).toEqual([1000, 3000]);
    expect(codes[2000]).toBe(4999);
    expect(isSendableCloseCode(1001)).toBe(false);
  });

  test('rfc6455 (ws): also 1001–1003 and 1007–1014, never the reserved 1004, 1005, 1006, 1015', () => {
    const codes = accepted('rfc6455');
    expect(codes.filter((code) => code < 3000)).toEqual([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]);
    expect(codes.length).toBe(2000 + 12);
    expect(codes[codes.length - 1]).toBe(4999);
  });

  test('non-integers and non-numbers are refused', () => {
    for (const rule of ['standard', 'rfc6455'] as const) {
      expect([3000.5, NaN, Infinity, '1000', null, undefined, 1000n].map((code) => isSendableCloseCode(code, rule))).toEqual([
        false,
        false,
        false,
        false,
        false,
        false,
        false,
      ]);
    }
  });
});
