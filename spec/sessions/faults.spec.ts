import { connect, MessageDroppedError, type RxSocket } from '../../lib/index.js';
import { listen, type Peer, type Server } from '../../lib/server/index.js';
import { createFaultProxy, type Direction, type FaultProxy } from '../../lib/testing/index.js';
import { onDispose } from '../helpers/dispose.js';
import { settleWithin } from '../helpers/settle.js';
import '../helpers/tripwires.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { now, prng, round, SEED, SOAK, sized } from '../reliability/kit.js';

// Resumable sessions under a fault storm. Both ends are rxwire, the link runs through the fault
// proxy, and a fault hits it every 50–300 ms (seeded: RXWIRE_SEED replays a run; RXWIRE_SOAK=1 for
// the large size): a reset (RST), a byte limit then a reset, or a blackhole found by the
// client's heartbeat. Meanwhile concurrent producers on each side, each numbering its own
// messages, send reliable messages interleaved with volatile ones. Asserted, each direction:
// - reliable: every send() resolved (a receipt), every message delivered exactly once and in
//   order per producer, none dropped;
// - volatile: every send() settled; delivered + dropped with a reason (rejection and dropped$,
//   the same set) + written on a connection that died = sent; no duplicate, none out of order;
//   on the client, a message lost that way was written before the client saw its connection end;
// - memory bounded by the retention: at most retain.size messages admitted and unacknowledged
//   (seen on the wire: delivered − receipts ≤ retain.size), plus at most buffer.size waiting for
//   room; the volatile queue within buffer.size;
// - one Peer for the whole run: every reconnect resumed its session.

type Msg = { p: number; n: number; d: 'r' | 'v' };

/** Reliable messages per direction, and as many volatile ones. */
const N = sized(20_000, 100_000);
const PRODUCERS = 4;
const PER_PRODUCER = N / PRODUCERS;
/** Messages of each class a producer sends before it waits for its receipts. */
const BATCH = 150;
/** Smaller than PRODUCERS × BATCH: the retention fills, and sends wait for room. */
const RETAIN = 500;
const BUFFER = 200;
const VOLATILE_TIMEOUT = 50;
const FAULT_MS = [50, 300] as const;
/** The producers are paced to spread their batches over this much time at least: 10+ faults a run. */
const PACE_MS = sized(4000, 20_000);
const ROUNDS = Math.ceil(PER_PRODUCER / BATCH);
const DEADLINE_MS = sized(40_000, 300_000);
const MAX_FAULTS = Math.ceil(DEADLINE_MS / FAULT_MS[0]);

interface Variant {
  readonly name: string;
  /** Client heartbeat (only the blackhole needs one to notice). */
  readonly heartbeat: { interval: number; timeout: number } | false;
  /** Applies one fault; the proxy is set back to pass when the client reports the connection's end. */
  apply(proxy: FaultProxy, random: () => number): void;
}

const DIRECTIONS: readonly Direction[] = ['up', 'down', 'both'];
const pick = <T>(values: readonly T[], random: () => number): T => values[Math.floor(random() * values.length)] as T;

const variants: Variant[] = [
  { name: 'reset (RST)', heartbeat: false, apply: (proxy) => proxy.reset('rst') },
  {
    name: 'limit: 0–32 KiB more, then RST',
    heartbeat: false,
    apply: (proxy, random) => proxy.set(pick(DIRECTIONS, random), { kind: 'limit', bytes: Math.floor(random() * 32 * 1024), then: 'rst' }),
  },
  {
    name: 'blackhole, found by the client heartbeat (50/100 ms)',
    heartbeat: { interval: 50, timeout: 100 },
    apply: (proxy, random) => proxy.set(pick(DIRECTIONS, random), { kind: 'blackhole' }),
  },
];

/** What one side's receiver saw. */
class Inbox {
  /** Next expected reliable n per producer. */
  readonly nextReliable = new Array<number>(PRODUCERS).fill(0);
  readonly lastVolatile = new Array<number>(PRODUCERS).fill(-1);
  readonly volatile = Array.from({ length: PRODUCERS }, () => new Uint8Array(PER_PRODUCER));
  reliable = 0;
  volatileCount = 0;
  readonly violations: string[] = [];
  sentinel = false;
  maxInFlight = 0;

  take(msg: Msg): void {
    if (msg.p < 0) return void (this.sentinel = true);
    if (msg.d === 'r') {
      const expected = this.nextReliable[msg.p] as number;
      if (msg.n !== expected) this.violation(`reliable ${msg.p}/${msg.n} arrived while ${msg.p}/${expected} was expected`);
      else this.nextReliable[msg.p] = expected + 1;
      this.reliable++;
    } else {
      if (msg.n <= (this.lastVolatile[msg.p] as number)) this.violation(`volatile ${msg.p}/${msg.n} after ${msg.p}/${this.lastVolatile[msg.p]}`);
      this.lastVolatile[msg.p] = msg.n;
      (this.volatile[msg.p] as Uint8Array)[msg.n] = 1;
      this.volatileCount++;
    }
  }

  /**
   * Reliable messages delivered here whose receipt has not resolved at the sender: each was
   * admitted to the sender's retention and is not acknowledged yet, so never more than retain.size.
   */
  inFlight(count: number): void {
    if (count > this.maxInFlight) this.maxInFlight = count;
    if (count > RETAIN) this.violation(`${count} reliable messages delivered and not acknowledged: more than retain.size`);
  }

  violation(text: string): void {
    if (this.violations.length < 10) this.violations.push(text);
  }
}

const enum Outcome {
  Pending = 0,
  Written = 1,
  Dropped = 2,
}

/** What one side's producers sent, and what became of it. */
class Outbox {
  reliableResolved = 0;
  readonly reliableRejected: string[] = [];
  readonly volatile = Array.from({ length: PRODUCERS }, () => new Uint8Array(PER_PRODUCER));
  /** The connection each volatile message was written on, and when (the event clock), for the client. */
  readonly writtenOn = Array.from({ length: PRODUCERS }, () => new Uint32Array(PER_PRODUCER));
  readonly writtenAt = Array.from({ length: PRODUCERS }, () => new Float64Array(PER_PRODUCER));
  readonly dropReasons = new Map<string, number>();
  /** `p/n` of every volatile rejection, and of every dropped$ report. */
  readonly rejected = new Set<string>();
  readonly reported = new Set<string>();
  readonly reportedReliable: string[] = [];
  readonly settling: Array<Promise<unknown>> = [];
  maxUnacknowledged = 0;
  maxBuffered = 0;
}

interface Row {
  readonly variant: string;
  readonly line: string;
}
const rows: Row[] = [];

afterAll(() => {
  const header = `rxwire sessions under faults — seed 0x${SEED.toString(16)} (RXWIRE_SEED=${SEED} replays it), ${SOAK ? 'soak size (RXWIRE_SOAK=1)' : 'CI size (RXWIRE_SOAK=1 for the soak size)'}`;
  process.stderr.write(`\n${header}\n${rows.map((r) => `- ${r.variant}: ${r.line}`).join('\n')}\n`);
});

describe(`sessions under faults every ${FAULT_MS[0]}–${FAULT_MS[1]} ms: ${N.toLocaleString('en')} reliable + ${N.toLocaleString('en')} volatile messages each way, ${PRODUCERS} producers a side, retain.size ${RETAIN}`, () => {
  test.each(variants)('$name', async (variant) => {
    const random = prng(SEED);
    const start = now();
    const deadline = start + DEADLINE_MS;
    const session = { retain: { size: RETAIN } };
    const server: Server<Msg, Msg> = listen<Msg, Msg>({ logger: false, session, heartbeat: false, buffer: { size: BUFFER, timeout: VOLATILE_TIMEOUT } });
    onDispose(() => server.close({ timeout: 500 }));
    await server.ready;
    const proxy = await createFaultProxy({ target: server.url });
    onDispose(() => proxy.close());

    const fromClient = new Inbox();
    const fromServer = new Inbox();
    const client = new Outbox();
    const peerOut = new Outbox();
    const peers: Array<Peer<Msg, Msg>> = [];
    server.connections$.subscribe((peer) => {
      peers.push(peer);
      peer.messages$.subscribe((msg) => {
        fromClient.take(msg);
        // On the wire: what arrived and has no receipt yet was admitted and is unacknowledged.
        if (msg.d === 'r') fromClient.inFlight(fromClient.reliable - client.reliableResolved);
      });
      peer.dropped$.subscribe(({ payload, reason }) => record(peerOut, payload, reason));
    });

    const socket: RxSocket<Msg, Msg> = connect<Msg, Msg>(proxy.url, {
      logger: false,
      session,
      heartbeat: variant.heartbeat,
      connectTimeout: 1000, // a handshake into a blackhole
      buffer: { size: BUFFER, timeout: VOLATILE_TIMEOUT },
      reconnect: { initialDelay: 5, maxDelay: 20, random: prng(SEED + 1) },
    });
    onDispose(() => socket.close());
    socket.messages$.subscribe((msg) => {
      fromServer.take(msg);
      if (msg.d === 'r') fromServer.inFlight(fromServer.reliable - peerOut.reliableResolved);
    });
    socket.dropped$.subscribe(({ payload, reason }) => record(client, payload, reason));
    // The event clock: which connection a volatile message was written on, and when the client saw each one end.
    let clock = 0;
    let connection = 0;
    const endedAt: number[] = [];
    let previous = '';
    socket.state$.subscribe(({ status }) => {
      if (status === 'open') connection++;
      else if (previous === 'open') endedAt[connection - 1] = ++clock;
      previous = status;
    });
    const errors = new Map<string, number>();
    socket.errors$.subscribe((error) => {
      errors.set(error.name, (errors.get(error.name) ?? 0) + 1);
      proxy.set('both', { kind: 'pass' }); // the fault did its work: the next connection gets through
    });

    function record(box: Outbox, msg: Msg, reason: string): void {
      if (msg.d === 'r') box.reportedReliable.push(`${msg.p}/${msg.n} ${reason}`);
      else box.reported.add(`${msg.p}/${msg.n} ${reason}`);
    }

    await socket.opened();
    await waitFor(() => peers.length === 1, 'the peer');
    const peer = peers[0] as Peer<Msg, Msg>;
    const sessionId = peer.sessionId;

    /** One side's send, with its outcome recorded; memory sampled right after (where it peaks). */
    const sender = (box: Outbox, send: (msg: Msg, options: { delivery: 'reliable' | 'volatile'; timeout?: number }) => Promise<void>, metrics: () => { unacknowledged: number; buffered: number }, stamp: boolean) => ({
      reliable(p: number, n: number): Promise<void> {
        const receipt = send({ p, n, d: 'r' }, { delivery: 'reliable', timeout: Infinity }).then(
          () => void box.reliableResolved++,
          (error: unknown) => void box.reliableRejected.push(`${p}/${n}: ${String(error)}`),
        );
        sample(box, metrics);
        return receipt;
      },
      volatile(p: number, n: number): void {
        box.settling.push(
          send({ p, n, d: 'v' }, { delivery: 'volatile' }).then(
            () => {
              (box.volatile[p] as Uint8Array)[n] = Outcome.Written;
              if (stamp) {
                (box.writtenOn[p] as Uint32Array)[n] = connection;
                (box.writtenAt[p] as Float64Array)[n] = ++clock;
              }
            },
            (error: unknown) => {
              (box.volatile[p] as Uint8Array)[n] = Outcome.Dropped;
              const reason = error instanceof MessageDroppedError ? error.reason : String(error);
              box.rejected.add(`${p}/${n} ${reason}`);
              box.dropReasons.set(reason, (box.dropReasons.get(reason) ?? 0) + 1);
            },
          ),
        );
        sample(box, metrics);
      },
    });
    const sample = (box: Outbox, metrics: () => { unacknowledged: number; buffered: number }): void => {
      const { unacknowledged, buffered } = metrics();
      if (unacknowledged > box.maxUnacknowledged) box.maxUnacknowledged = unacknowledged;
      if (buffered > box.maxBuffered) box.maxBuffered = buffered;
    };
    const clientSend = sender(client, (msg, options) => socket.send(msg, options), () => ({ unacknowledged: socket.metrics.unacknowledged, buffered: socket.metrics.buffered }), true);
    const peerSend = sender(peerOut, (msg, options) => peer.send(msg, options), () => ({ unacknowledged: peer.unacknowledged, buffered: peer.buffered }), false);

    /** A producer: its reliable and volatile messages interleaved, in paced batches, each batch's receipts awaited. */
    const produce = async (side: typeof clientSend, p: number): Promise<void> => {
      const begin = now();
      for (let n = 0, round = 0; n < PER_PRODUCER; round++) {
        const due = begin + (round * PACE_MS) / ROUNDS;
        if (due > now()) await sleep(due - now());
        const receipts: Array<Promise<void>> = [];
        for (const end = Math.min(PER_PRODUCER, n + BATCH); n < end; n++) {
          receipts.push(side.reliable(p, n));
          side.volatile(p, n);
        }
        await Promise.all(receipts);
        if (now() > deadline) throw new Error(`producer ${p} did not finish within ${DEADLINE_MS} ms`);
      }
    };

    let producing = true;
    let faults = 0;
    const chaos = (async () => {
      while (producing && faults < MAX_FAULTS) {
        await sleep(FAULT_MS[0] + Math.floor(random() * (FAULT_MS[1] - FAULT_MS[0] + 1)));
        if (!producing) return;
        variant.apply(proxy, random);
        faults++;
      }
    })();
    const producers = Array.from({ length: PRODUCERS }, (_, p) => [produce(clientSend, p), produce(peerSend, p)]).flat();
    const finished = await settleWithin(Promise.all(producers), 'the producers', DEADLINE_MS + 5000);
    producing = false;
    await chaos;
    proxy.set('both', { kind: 'pass' });
    expect(finished.status).toBe('fulfilled');
    await settleWithin(Promise.all([...client.settling, ...peerOut.settling]), 'every volatile send', 10_000);
    // A reliable sentinel each way: once acknowledged, everything written before it on the
    // connection that carried it has arrived; what is missing now was lost with a connection.
    await settleWithin(Promise.all([socket.send({ p: -1, n: 0, d: 'r' }), peer.send({ p: -1, n: 0, d: 'r' })]), 'the sentinels', 10_000);
    expect(fromClient.sentinel && fromServer.sentinel).toBe(true);
    const ms = now() - start;

    const tally = (box: Outbox, inbox: Inbox, stamped: boolean) => {
      let written = 0;
      let dropped = 0;
      let lost = 0;
      let lostLate = 0;
      let deliveredNotWritten = 0;
      for (let p = 0; p < PRODUCERS; p++) {
        for (let n = 0; n < PER_PRODUCER; n++) {
          const outcome = (box.volatile[p] as Uint8Array)[n];
          const delivered = (inbox.volatile[p] as Uint8Array)[n] === 1;
          if (outcome === Outcome.Written) {
            written++;
            if (!delivered) {
              lost++;
              const ended = endedAt[((box.writtenOn[p] as Uint32Array)[n] as number) - 1] ?? Infinity;
              if (stamped && ((box.writtenAt[p] as Float64Array)[n] as number) > ended) lostLate++;
            }
          } else {
            if (outcome === Outcome.Dropped) dropped++;
            if (delivered) deliveredNotWritten++;
          }
        }
      }
      return { written, dropped, lost, lostLate, deliveredNotWritten };
    };
    const up = tally(client, fromClient, true);
    const down = tally(peerOut, fromServer, false);
    const reasons = (box: Outbox): string => [...box.dropReasons].map(([reason, count]) => `${count} ${reason}`).join(', ') || 'none';
    rows.push({
      variant: variant.name,
      line:
        `${faults} faults, ${socket.metrics.reconnects} reconnects, ${proxy.links().length} links in ${round(ms)} ms. ` +
        `Up: ${fromClient.reliable} reliable delivered; volatile ${fromClient.volatileCount} delivered + ${up.dropped} dropped (${reasons(client)}) + ${up.lost} lost in flight = ${fromClient.volatileCount + up.dropped + up.lost}; ` +
        `max unacknowledged ${client.maxUnacknowledged} (delivered without receipt ${fromClient.maxInFlight}), buffered ${client.maxBuffered}. ` +
        `Down: ${fromServer.reliable} reliable; volatile ${fromServer.volatileCount} + ${down.dropped} dropped (${reasons(peerOut)}) + ${down.lost} lost = ${fromServer.volatileCount + down.dropped + down.lost}; ` +
        `max unacknowledged ${peerOut.maxUnacknowledged} (delivered without receipt ${fromServer.maxInFlight}), buffered ${peerOut.maxBuffered}. Client errors: ${JSON.stringify(Object.fromEntries(errors))}`,
    });

    // Reliable, both ways: every receipt, exactly once and in order per producer, nothing dropped.
    for (const [box, inbox] of [[client, fromClient], [peerOut, fromServer]] as const) {
      expect(inbox.violations).toEqual([]);
      expect(box.reliableRejected).toEqual([]);
      expect(box.reportedReliable).toEqual([]);
      expect(box.reliableResolved).toBe(N);
      expect(inbox.reliable).toBe(N);
      expect(inbox.nextReliable).toEqual(new Array(PRODUCERS).fill(PER_PRODUCER));
    }
    // Volatile, both ways: every send settled; rejections and dropped$ reports are the same set;
    // delivered + dropped + lost in flight = sent, and only written ones were delivered.
    for (const [box, inbox, t] of [[client, fromClient, up], [peerOut, fromServer, down]] as const) {
      expect(box.volatile.every((outcomes) => outcomes.every((o) => o !== Outcome.Pending))).toBe(true);
      expect([...box.reported].sort()).toEqual([...box.rejected].sort());
      expect(t.deliveredNotWritten).toBe(0);
      expect(t.written + t.dropped).toBe(N);
      expect(inbox.volatileCount + t.dropped + t.lost).toBe(N);
      expect([...box.dropReasons.keys()].filter((reason) => reason !== 'overflow' && reason !== 'timeout')).toEqual([]);
    }
    expect(up.lostLate).toBe(0);
    // Memory: the retention filled (sends waited for room) and never held more than it may.
    for (const inbox of [fromClient, fromServer]) {
      expect(inbox.maxInFlight).toBeLessThanOrEqual(RETAIN); // also checked at every delivery (violations)
      expect(inbox.maxInFlight).toBeGreaterThan(RETAIN / 2); // the check ran near the bound
    }
    for (const box of [client, peerOut]) {
      expect(box.maxUnacknowledged).toBeGreaterThan(RETAIN);
      expect(box.maxUnacknowledged).toBeLessThanOrEqual(RETAIN + BUFFER);
      expect(box.maxBuffered).toBeLessThanOrEqual(BUFFER);
    }
    expect(socket.metrics.unacknowledged).toBe(0);
    expect(peer.unacknowledged).toBe(0);
    // One session throughout: the same Peer, resumed on every connection.
    expect(peers).toEqual([peer]);
    expect(peer.sessionId).toBe(sessionId);
    expect(socket.state.session).toEqual({ id: sessionId, resumed: true });
    expect(faults).toBeGreaterThanOrEqual(Math.floor(PACE_MS / FAULT_MS[1]));
    expect(socket.metrics.reconnects).toBeGreaterThanOrEqual(5);
    if (variant.heartbeat) expect(errors.get('HeartbeatTimeoutError')).toBeGreaterThanOrEqual(5);
  }, DEADLINE_MS + 30_000);
});
