import '../helpers/tripwires';
import { WebSocket, type ClientOptions } from 'ws';
import { connect, type WebSocketConstructor } from '../../lib/index.js';
import { createFaultProxy, createTestServer, type Fault } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose';
import { figure } from './figures';
import { now, percentile, prng, round, SEED, sized } from './kit';
import { sleep, waitFor } from '../helpers/wait';
import { Scope } from '../helpers/scope';

// A slow, choppy network that is nevertheless alive: latency with jitter, 1-byte slices, a
// throttle. Messages (with multi-byte characters cut anywhere by the slicing) must arrive intact
// and in order both ways, and the heartbeat must not call a live link dead while the round trip
// is about half its timeout.

const heartbeat = { interval: 100, timeout: 300 };
const PHASE_MS = sized(800, 3000);
const DELAY: Fault = { kind: 'delay', ms: 60, jitterMs: 10 };
const SLICE: Fault = { kind: 'slice', bytes: 1, gapMs: 1 };

interface Phase {
  readonly name: string;
  readonly up: Fault;
  readonly down: Fault;
  /** Milliseconds between messages, and their longest text: small where a byte costs 1 ms. */
  readonly every: number;
  readonly maxLength: number;
}

const phases: Phase[] = [
  { name: 'delay 60 ± 10 ms each way', up: DELAY, down: DELAY, every: 20, maxLength: 400 },
  { name: 'up sliced into 1-byte pieces 1 ms apart, down delayed 60 ms', up: SLICE, down: DELAY, every: 150, maxLength: 12 },
  { name: 'down sliced into 1-byte pieces 1 ms apart, up delayed 60 ms', up: DELAY, down: SLICE, every: 150, maxLength: 12 },
  { name: 'throttled to 8 KB/s each way', up: { kind: 'throttle', bytesPerSec: 8192 }, down: { kind: 'throttle', bytesPerSec: 8192 }, every: 50, maxLength: 150 },
];

/** Text with 1- to 4-byte UTF-8 characters, so that slices fall inside characters. */
const ALPHABET = ['a', 'Z', '7', ' ', '"', '\\', 'é', 'ß', 'Ж', '中', '文', '€', '😀', '🚀', '\u0301', '\u200d'];

function text(random: () => number, maxLength: number): string {
  const length = 1 + Math.floor(random() * maxLength);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return out;
}

interface Pinging {
  readonly pings: number[];
  readonly rtts: number[];
}

/** ws, subclassed to time each ping's round trip. */
function timedWebSocket(timing: Pinging): WebSocketConstructor {
  class Timed extends WebSocket {
    constructor(address: string, protocols?: string | string[], options?: ClientOptions) {
      super(address, protocols, options);
      this.on('pong', () => {
        const sent = timing.pings.shift();
        if (sent !== undefined) timing.rtts.push(now() - sent);
      });
    }

    override ping(...args: Parameters<WebSocket['ping']>): void {
      timing.pings.push(now());
      super.ping(...args);
    }
  }
  return Timed as unknown as WebSocketConstructor;
}

test('latency, 1-byte slicing and a throttle: messages intact and in order both ways, 0 false heartbeat timeouts', async () => {
  const scope = new Scope();
  onDispose(() => scope.dispose());
  const server = scope.add(await createTestServer({ echo: true }), (s) => s.close());
  const proxy = scope.add(await createFaultProxy({ target: server.url, random: prng(SEED) }), (p) => p.close());
  const atServer: string[] = [];
  server.received$.subscribe(({ data }) => atServer.push(data as string));

  const timing: Pinging = { pings: [], rtts: [] };
  const socket = connect<{ seq: number; text: string }, { seq: number; text: string }>(proxy.url, {
    heartbeat,
    WebSocket: timedWebSocket(timing),
    reconnect: { initialDelay: 10 },
    buffer: { size: Infinity, timeout: Infinity },
  });
  scope.defer(() => socket.close());
  const errors: Error[] = [];
  socket.errors$.subscribe((error) => errors.push(error));
  const echoes: Array<{ seq: number; text: string }> = [];
  socket.messages$.subscribe((message) => echoes.push(message));
  await waitFor(() => socket.state.status === 'open', 'open');

  const random = prng(SEED);
  const sent: Array<{ seq: number; text: string }> = [];
  const perPhase: Array<{ name: string; rtts: number[]; messages: number }> = [];
  for (const phase of phases) {
    proxy.set('up', phase.up);
    proxy.set('down', phase.down);
    const start = now();
    const rttsBefore = timing.rtts.length;
    const sentBefore = sent.length;
    while (now() - start < PHASE_MS) {
      const message = { seq: sent.length, text: text(random, phase.maxLength) };
      sent.push(message);
      void socket.send(message);
      await sleep(phase.every);
    }
    // Let this phase's traffic drain under its own fault before the next one.
    await waitFor(() => echoes.length === sent.length, `the echoes of phase "${phase.name}"`, 20_000);
    perPhase.push({ name: phase.name, rtts: timing.rtts.slice(rttsBefore), messages: sent.length - sentBefore });
  }

  for (const { name, rtts, messages } of perPhase) {
    figure(
      name,
      `${messages} messages; ${rtts.length} pongs, RTT p50 ${round(percentile(rtts, 50))} ms, max ${round(Math.max(...rtts))} ms`,
      `intact and in order both ways; 0 heartbeat timeouts (timeout ${heartbeat.timeout} ms)`,
    );
  }
  expect(errors).toEqual([]);
  expect(proxy.links()).toHaveLength(1);
  expect(socket.state.status).toBe('open');
  expect(atServer).toEqual(sent.map((m) => JSON.stringify(m)));
  expect(echoes).toEqual(sent);
  for (const { rtts } of perPhase) expect(rtts.length).toBeGreaterThan(0);
  // The first phase really ran at about half the timeout.
  expect(percentile(perPhase[0]?.rtts ?? [], 50)).toBeGreaterThanOrEqual(heartbeat.timeout * 0.35);
}, 60_000);
