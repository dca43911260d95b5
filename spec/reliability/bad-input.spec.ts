import '../helpers/tripwires';
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { connect, ConnectionClosedError, DecodeError, isRetriableClose } from '../../lib/index.js';
import { closePayload, createRawPeer, frame, type RawPeer } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { now, percentile, round, SEED, settleWithin, sized } from './kit';
import { sleep, waitFor } from '../helpers/wait';
import { Scope } from '../helpers/scope';

// Bad input from the server, through the raw peer: fast-check generates sequences of frames —
// invalid JSON, deep nesting, `__proto__` keys, invalid UTF-8 whole and split across fragments,
// masked server frames, reserved bits, bad opcodes, oversized control frames, close frames with
// invalid codes, payloads over maxPayload — followed by a clean close (4000). A model of RFC 6455
// as ws enforces it predicts what the client must do; the client must do exactly that: deliver
// the good messages, report each undecodable one on errors$, and end on the documented path — a
// retried close on errors$, or a typed fatal error with the right code (1002, 1007, 1009, or the
// server's fatal code). 0 crashes (the tripwires), 0 hangs, no prototype pollution.

const CASES = sized(500, 10_000);
const MAX_PAYLOAD = 4096;
const CASE_DEADLINE = 3000;

interface Frame {
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly rsv2: boolean;
  readonly rsv3: boolean;
  readonly opcode: number;
  readonly mask: boolean;
  readonly payload: Uint8Array;
}

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'));
const plain = (opcode: number, payload: Uint8Array, fin = true): Frame => ({ fin, rsv1: false, rsv2: false, rsv3: false, opcode, mask: false, payload });

// ---------------------------------------------------------------------------------------------
// Generators

const PROTO_KEYS = [
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '[{"__proto__":{"polluted":1}},{"a":{"__proto__":{"polluted":2}}}]',
  '{"__proto__":null,"toString":"x","hasOwnProperty":1}',
  '{"a":1,"__proto__":[1,2,3]}',
];

const INVALID_UTF8 = [
  [0xff],
  [0xc0, 0x80], // overlong NUL
  [0xe0, 0x80, 0x80], // overlong
  [0xed, 0xa0, 0x80], // a UTF-16 surrogate
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xe2, 0x82], // truncated
  [0x22, 0x61, 0x80, 0x22], // a stray continuation byte inside a JSON string
  [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
].map((b) => new Uint8Array(b));

const textPayload: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.json({ maxDepth: 3 }).map(bytes) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map(bytes) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }).map((d) => bytes('['.repeat(d) + ']'.repeat(d))) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 600 }).map((d) => bytes('{"a":'.repeat(d) + '1' + '}'.repeat(d))) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTO_KEYS).map(bytes) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.constantFrom(...INVALID_UTF8) },
);

/** Cuts `payload` into `parts` fragments at arbitrary byte offsets (inside characters too). */
function fragments(opcode: number, payload: Uint8Array, cuts: number[], pingBetween: boolean): Frame[] {
  const offsets = [...new Set(cuts.map((c) => Math.floor(c * payload.length)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const offset of offsets) {
    pieces.push(payload.subarray(from, offset));
    from = offset;
  }
  pieces.push(payload.subarray(from));
  const frames: Frame[] = [];
  pieces.forEach((piece, i) => {
    frames.push(plain(i === 0 ? opcode : 0, piece, i === pieces.length - 1));
    if (pingBetween && i < pieces.length - 1) frames.push(plain(0x9, bytes('mid')));
  });
  return frames;
}

const VALID_CLOSE = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const INVALID_CLOSE = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

const messageArb: fc.Arbitrary<Frame[]> = fc.oneof(
  // A text message, whole or in fragments (control frames may sit between fragments).
  { weight: 12, arbitrary: fc.tuple(textPayload, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }), fc.boolean()).map(([p, cuts, ping]) => fragments(0x1, p, cuts, ping)) },
  // A binary message, whole or in fragments.
  { weight: 4, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 2 }), fc.boolean()).map(([p, cuts, ping]) => fragments(0x2, p, cuts, ping)) },
  // Ping and pong, valid (≤ 125 bytes) or oversized.
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(0x9, 0xa), fc.oneof(fc.integer({ min: 0, max: 125 }), fc.integer({ min: 126, max: 300 }))).map(([op, n]) => [plain(op, new Uint8Array(n).fill(0x61))]) },
  // Close frames: valid codes (retried or fatal), invalid codes, no code, too long, one byte, a non-UTF-8 reason.
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constantFrom(...VALID_CLOSE).map((code) => [plain(0x8, closePayload(code, 'bye'))]),
      fc.integer({ min: 4000, max: 4999 }).map((code) => [plain(0x8, closePayload(code))]),
      fc.constantFrom(...INVALID_CLOSE).map((code) => [plain(0x8, closePayload(code))]),
      fc.constant<Frame[]>([plain(0x8, new Uint8Array(0))]),
      fc.integer({ min: 120, max: 200 }).map((n) => [plain(0x8, closePayload(1000, 'r'.repeat(n)))]), // over 125 bytes from 124
      fc.constant<Frame[]>([plain(0x8, new Uint8Array([0x03]))]),
      fc.constant<Frame[]>([plain(0x8, new Uint8Array([0x03, 0xe8, 0xff, 0xfe]))]),
    ),
  },
  // Opcodes that do not exist, a continuation with nothing to continue, a fragmented control frame.
  { weight: 1, arbitrary: fc.constantFrom(3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf).map((op) => [plain(op, bytes('x'))]) },
  { weight: 1, arbitrary: fc.boolean().map((fin) => [plain(0x0, bytes('"x"'), fin)]) },
  { weight: 1, arbitrary: fc.constantFrom(0x8, 0x9, 0xa).map((op) => [plain(op, new Uint8Array(0), false)]) },
  // A new message while another one is unfinished.
  { weight: 1, arbitrary: fc.constantFrom(0x1, 0x2).map((op) => [plain(0x1, bytes('"a'), false), plain(op, bytes('b"'))]) },
  // Over maxPayload: in one frame, or summed over fragments.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0x1, 0x2), fc.integer({ min: MAX_PAYLOAD + 1, max: MAX_PAYLOAD + 2000 })).map(([op, n]) => [plain(op, new Uint8Array(n).fill(0x61))]) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_PAYLOAD / 2 + 1, max: MAX_PAYLOAD }).map((n) => [plain(0x2, new Uint8Array(n), false), plain(0x0, new Uint8Array(n))]) },
);

/** Now and then, a frame is masked or has reserved bits set. */
const mutation: fc.Arbitrary<Partial<Frame>> = fc.oneof(
  { weight: 60, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constant({ mask: true }) },
  { weight: 1, arbitrary: fc.constant({ rsv1: true }) },
  { weight: 1, arbitrary: fc.constant({ rsv2: true }) },
  { weight: 1, arbitrary: fc.constant({ rsv3: true }) },
);

const caseArb: fc.Arbitrary<Frame[]> = fc
  .array(fc.tuple(messageArb, fc.array(mutation, { minLength: 4, maxLength: 4 })), { minLength: 1, maxLength: 5 })
  .map((messages) => messages.flatMap(([frames, mutations]) => frames.map((f, i) => ({ ...f, ...(mutations[i % 4] as Partial<Frame>) }))));

// ---------------------------------------------------------------------------------------------
// The model: what ws (as its receiver enforces RFC 6455) and then rxwire must make of the frames.

type Event =
  | { readonly kind: 'message'; readonly json: string }
  | { readonly kind: 'binary'; readonly hex: string }
  | { readonly kind: 'decode error'; readonly data: string }
  | { readonly kind: 'retried'; readonly code: number }
  | { readonly kind: 'fatal'; readonly code: number; readonly cause?: string };

function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

function closeEnd(code: number): Event {
  return isRetriableClose({ code, reason: '', wasClean: true }) ? { kind: 'retried', code } : { kind: 'fatal', code };
}

function model(frames: readonly Frame[]): Event[] {
  const events: Event[] = [];
  const protocol = (cause: string, code = 1002): Event[] => [...events, { kind: 'fatal', code, cause }];
  let fragmented = 0;
  let total = 0;
  let parts: Uint8Array[] = [];
  for (const f of frames) {
    if (f.rsv2 || f.rsv3) return protocol('WS_ERR_UNEXPECTED_RSV_2_3');
    if (f.rsv1) return protocol('WS_ERR_UNEXPECTED_RSV_1'); // no extension was negotiated
    let opcode = f.opcode;
    if (opcode === 0) {
      if (!fragmented) return protocol('WS_ERR_INVALID_OPCODE');
      opcode = fragmented;
    } else if (opcode === 1 || opcode === 2) {
      if (fragmented) return protocol('WS_ERR_INVALID_OPCODE');
    } else if (opcode >= 8 && opcode <= 10) {
      if (!f.fin) return protocol('WS_ERR_EXPECTED_FIN');
      if (f.payload.length > 125 || (opcode === 8 && f.payload.length === 1)) return protocol('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
    } else {
      return protocol('WS_ERR_INVALID_OPCODE');
    }
    if (!f.fin && !fragmented) fragmented = opcode;
    if (f.mask) return protocol('WS_ERR_UNEXPECTED_MASK'); // a server must not mask
    if (opcode < 8 && f.payload.length > 0) {
      total += f.payload.length;
      if (total > MAX_PAYLOAD) return protocol('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 1009);
    }
    if (opcode === 8) {
      if (f.payload.length === 0) return [...events, closeEnd(1005)];
      const code = Buffer.from(f.payload).readUInt16BE(0);
      if (!isValidCloseCode(code)) return protocol('WS_ERR_INVALID_CLOSE_CODE');
      if (!isUtf8(f.payload.subarray(2))) return protocol('WS_ERR_INVALID_UTF8', 1007);
      return [...events, closeEnd(code)];
    }
    if (opcode > 8) continue; // ws answers pings itself; pongs are ignored
    parts.push(f.payload);
    if (!f.fin) continue;
    const data = Buffer.concat(parts);
    parts = [];
    fragmented = 0;
    total = 0;
    if (opcode === 2) {
      events.push({ kind: 'binary', hex: data.toString('hex') });
      continue;
    }
    if (!isUtf8(data)) return protocol('WS_ERR_INVALID_UTF8', 1007);
    const text = data.toString('utf8');
    try {
      events.push({ kind: 'message', json: JSON.stringify(JSON.parse(text)) });
    } catch {
      events.push({ kind: 'decode error', data: text });
    }
  }
  throw new Error('unreachable: every case ends with a close frame');
}

// ---------------------------------------------------------------------------------------------

interface CaseResult {
  readonly events: Event[];
  readonly hung: boolean;
  readonly connections: number;
  readonly ms: number;
}

async function play(peer: RawPeer, frames: readonly Frame[]): Promise<CaseResult> {
  const before = peer.connections.length;
  const start = now();
  const socket = connect(peer.url, { heartbeat: false, reconnect: { initialDelay: 60_000 }, wsOptions: { maxPayload: MAX_PAYLOAD } });
  const events: Event[] = [];
  let ended = false;
  socket.errors$.subscribe((error) => {
    if (error instanceof DecodeError) events.push({ kind: 'decode error', data: error.payload as string });
    else {
      events.push({ kind: 'retried', code: (error as ConnectionClosedError).code });
      ended = true;
    }
  });
  socket.messages$.subscribe({
    next: (message) => {
      if (message instanceof Uint8Array) events.push({ kind: 'binary', hex: Buffer.from(message).toString('hex') });
      else events.push({ kind: 'message', json: JSON.stringify(message) });
    },
    error: (error: unknown) => {
      const closed = error as ConnectionClosedError;
      const cause = (closed.cause as { code?: unknown } | undefined)?.code;
      events.push(error instanceof ConnectionClosedError ? { kind: 'fatal', code: closed.code, ...(typeof cause === 'string' && { cause }) } : { kind: 'fatal', code: -1, cause: String(error) });
      ended = true;
    },
  });
  const conn = await peer.waitForConnection();
  conn.send(Buffer.concat(frames.map((f) => frame(f))));
  let hung = false;
  await waitFor(() => ended, 'the end of the case', CASE_DEADLINE).catch(() => (hung = true));
  await settleWithin(socket.close(), 'close()', 2000);
  return { events, hung, connections: peer.connections.length - before, ms: now() - start };
}

const prototypeNames = (): string[] => Object.getOwnPropertyNames(Object.prototype).sort();

test(`bad input from the server: ${CASES.toLocaleString('en')} fast-check cases (seed ${SEED}) end on the documented path`, async () => {
  const scope = new Scope();
  onDispose(() => scope.dispose());
  const peer = scope.add(await createRawPeer(), (p) => p.close());
  const cleanPrototype = prototypeNames();
  const tally = { cases: 0, hangs: 0, fatal: new Map<number, number>(), retried: 0, messages: 0, decodeErrors: 0, polluted: 0 };
  const durations: number[] = [];

  await fc.assert(
    fc.asyncProperty(caseArb, async (frames) => {
      const withEnd = [...frames, plain(0x8, closePayload(4000, 'end'))];
      const expected = model(withEnd);
      const result = await play(peer, withEnd);
      tally.cases++;
      durations.push(result.ms);
      if (result.hung) tally.hangs++;
      const end = expected[expected.length - 1] as Event;
      if (end.kind === 'fatal') tally.fatal.set(end.code, (tally.fatal.get(end.code) ?? 0) + 1);
      else tally.retried++;
      tally.messages += expected.filter((e) => e.kind === 'message' || e.kind === 'binary').length;
      tally.decodeErrors += expected.filter((e) => e.kind === 'decode error').length;
      const polluted = prototypeNames().join() !== cleanPrototype.join() || ({} as { polluted?: unknown }).polluted !== undefined;
      if (polluted) tally.polluted++;

      expect(result.hung).toBe(false);
      expect(polluted).toBe(false);
      expect(result.events).toEqual(expected);
      expect(result.connections).toBe(1); // no reconnect loop (a retried close waits 60 s)
    }),
    { numRuns: CASES, seed: SEED },
  );
  await sleep(10);

  const fatal = [...tally.fatal].sort(([a], [b]) => a - b).map(([code, n]) => `${code}×${n}`).join(', ');
  figure(
    `${tally.cases} fast-check cases of server frames, seed ${SEED}`,
    `fatal ${fatal}; retried ${tally.retried}; ${tally.messages} messages and ${tally.decodeErrors} DecodeErrors as predicted; ${tally.hangs} hangs, ${tally.polluted} pollutions; p50 ${round(percentile(durations, 50))} ms, max ${round(Math.max(...durations))} ms a case`,
    `each case = the model (messages, DecodeErrors, then a retried close or a fatal error with the right code and WS_ERR_* cause); 0 hangs (${CASE_DEADLINE} ms), 0 crashes, 0 pollution, no reconnect`,
  );
  expect(tally.hangs).toBe(0);
  expect(tally.polluted).toBe(0);
  // The generators reached every documented ending.
  expect([...tally.fatal.keys()]).toEqual(expect.arrayContaining([1002, 1007, 1009]));
  expect(tally.retried).toBeGreaterThan(0);
}, 600_000);
