import fc from 'fast-check';
import type { Subscription } from 'rxjs';
import { WebSocket, type ClientOptions } from 'ws';
import {
  connect,
  MessageDroppedError,
  type ConnectionState,
  type ConnectionStatus,
  type RxSocket,
  type WebSocketConstructor,
} from '../../../lib/index.js';
import { settledNow } from '../../helpers/settle';
import { activeResources, settledGrowth, settleWithin, type Counts } from '../kit';
import type { ModelServer } from './model-server';
import { sleep } from '../../helpers/wait';

/**
 * A model-based test of the client (fast-check `commands`): random interleavings of client
 * calls, observer re-entrancy, server behaviour and event-loop stalls against a real client and
 * a real `ws` server, with the documented promises checked after every command and at the end.
 * Jest-free: a broken promise is a plain Error listing every violation and the trail of the run.
 */

/** Short timings, so a run of a dozen commands crosses heartbeats, backoffs and expiries. */
export const MODEL_OPTIONS = {
  heartbeat: { interval: 50, timeout: 30 },
  reconnect: { initialDelay: 5, maxDelay: 50 },
  buffer: { size: 8, timeout: 150 },
  closeTimeout: 100,
} as const;

/** What the client receives: every server message carries its sequence number and connection. */
export interface In {
  readonly s: number;
  readonly c: number;
  readonly re?: number;
  readonly ch?: string;
}
/** What the client sends: ids are unique over the whole test, so the server can spot duplicates. */
export type Out = { readonly t: 'm' | 'req'; readonly id: number } | { readonly t: 'sub' | 'unsub'; readonly ch: string };

let ids = 0;
const nextId = (): number => ++ids;

interface Probe {
  readonly n: number;
  readonly ws: WebSocket;
  /** Clock of the client's own close() / terminate() on it. */
  endedAt: number | undefined;
}

interface Sub {
  readonly n: number;
  readonly at: number;
  readonly seen: Set<number>;
  subscription: Subscription | undefined;
  unsubscribedAt: number | undefined;
  endedAt: number | undefined;
  ends: string[];
}

interface SendRecord {
  readonly id: number;
  readonly how: 'send' | 'outgoing' | 'request';
  readonly promise: Promise<unknown> | undefined;
  outcome: 'pending' | 'resolved' | 'rejected';
  error: unknown;
  value: unknown;
  /** Sent after dropped$ completed: its drop cannot be reported there. */
  readonly late?: boolean;
}

const STATUSES: Record<ConnectionStatus, readonly ConnectionStatus[]> = {
  idle: ['connecting', 'closing', 'closed'],
  connecting: ['open', 'reconnecting', 'idle', 'closing', 'closed'],
  reconnecting: ['reconnecting', 'open', 'idle', 'closing', 'closed'],
  open: ['open', 'reconnecting', 'idle', 'closing', 'closed'],
  closing: ['closed'],
  closed: [],
};

/** The real system of one run: the client, what every stream and socket did, and the violations. */
export class ModelRun {
  readonly socket: RxSocket<In, Out>;
  readonly trail: string[] = [];
  readonly violations: string[] = [];
  private clock = 0;
  private readonly probes: Probe[] = [];
  private readonly subs: Sub[] = [];
  /** Server messages the client's socket emitted while it was the client's live connection. */
  private readonly arrivals: Array<{ seq: number; probe: number; at: number; expected: Sub[] }> = [];
  private readonly sends = new Map<number, SendRecord>();
  private readonly written = new Map<number, number>();
  private readonly dropped = new Map<number, number>();
  private readonly states: Array<ConnectionState & { at: number }> = [];
  private readonly completions = { states: 0, errors: 0, dropped: 0 };
  private readonly errors: string[] = [];
  private closeCalledAt: number | undefined;
  private readonly closePromises: Array<Promise<void>> = [];
  private readonly background: Array<{ what: string; promise: Promise<unknown> }> = [];
  private readonly channels: Subscription[] = [];
  private readonly channelSeen = new Map<number, Set<number>>();
  private hooks = { closeOn: new Set<string>() };
  private channelCount = 0;
  readonly pingWaiters: Array<() => void> = [];

  private constructor(
    readonly server: ModelServer,
    private readonly baseline: Counts,
  ) {
    const run = this;
    class ProbeSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[], options?: ClientOptions) {
        super(address, protocols, options);
        const live = run.probes.filter((p) => p.ws.readyState === WebSocket.CONNECTING || p.ws.readyState === WebSocket.OPEN);
        if (live.length > 0) run.violate(`single session: socket #${run.probes.length + 1} opened while socket #${live.map((p) => p.n).join(', #')} is still connecting or open`);
        const probe: Probe = { n: run.probes.length + 1, ws: this, endedAt: undefined };
        run.probes.push(probe);
        run.note(`socket #${probe.n} created`);
        // Added before the client's own listener: this one sees every message the socket emits.
        this.on('message', (data) => run.arrived(probe, String(data)));
      }

      override close(code?: number, reason?: string | Buffer): void {
        this.ended();
        super.close(code, reason);
      }

      override ping(...args: Parameters<WebSocket['ping']>): void {
        super.ping(...args);
        for (const waiter of run.pingWaiters.splice(0)) waiter();
      }

      override terminate(): void {
        this.ended();
        super.terminate();
      }

      override send(data: unknown, ...rest: unknown[]): void {
        const id = (JSON.parse(String(data)) as { id?: number }).id;
        if (id !== undefined) {
          if (this.readyState !== WebSocket.OPEN) run.violate(`writer: message ${id} handed to a socket in readyState ${this.readyState}`);
          const times = (run.written.get(id) ?? 0) + 1;
          run.written.set(id, times);
          if (times > 1) run.violate(`at most once: message ${id} written ${times} times`);
        }
        (WebSocket.prototype.send as (...args: unknown[]) => void).call(this, data, ...rest);
      }

      private ended(): void {
        const probe = run.probes.find((p) => p.ws === this);
        if (probe && probe.endedAt === undefined) probe.endedAt = run.tick();
      }
    }

    this.socket = connect<In, Out>(server.url, { ...MODEL_OPTIONS, WebSocket: ProbeSocket as unknown as WebSocketConstructor });
    // The recorders subscribe first: they see every emission before any hook observer acts on it.
    this.socket.state$.subscribe({
      next: (state) => this.onState(state),
      error: (error: unknown) => this.violate(`state$ errored: ${String(error)}`),
      complete: () => void this.completions.states++,
    });
    this.socket.errors$.subscribe({
      next: (error) => {
        this.errors.push(`${error.name}: ${error.message}`);
        this.note(`errors$ ${error.name}: ${error.message}`);
        if (this.hooks.closeOn.has('errors$')) this.close(1000, 'errors$ hook');
      },
      error: (error: unknown) => this.violate(`errors$ errored: ${String(error)}`),
      complete: () => void this.completions.errors++,
    });
    this.socket.dropped$.subscribe({
      next: ({ message, reason }) => {
        if ('id' in message) {
          const times = (this.dropped.get(message.id) ?? 0) + 1;
          this.dropped.set(message.id, times);
          if (times > 1) this.violate(`dropped$ reported message ${message.id} ${times} times`);
          if ((this.written.get(message.id) ?? 0) > 0) this.violate(`message ${message.id} reported dropped (${reason}) after it was written`);
        }
        if (this.hooks.closeOn.has('dropped$')) this.close(1000, 'dropped$ hook');
      },
      error: (error: unknown) => this.violate(`dropped$ errored: ${String(error)}`),
      complete: () => void this.completions.dropped++,
    });
  }

  static async start(server: ModelServer): Promise<ModelRun> {
    const { violations } = await server.call({ cmd: 'reset' });
    if (violations && violations.length > 0) throw new Error(`server violations left from the previous run: ${violations.join('; ')}`);
    return new ModelRun(server, activeResources());
  }

  tick(): number {
    return ++this.clock;
  }

  note(line: string): void {
    this.trail.push(`${this.clock}: ${line}`);
  }

  violate(message: string): void {
    this.violations.push(message);
    this.note(`VIOLATION ${message}`);
  }

  /** Throws if any promise was broken so far. */
  check(): void {
    this.checkArrivals();
    if (this.violations.length > 0) throw new ModelViolation(this.violations, this.trail);
  }

  // ---- client commands ----

  send(mode: 'await' | 'fire' | 'outgoing', timeout: number | undefined): Promise<void> | undefined {
    const id = nextId();
    const message: Out = { t: 'm', id };
    if (mode === 'outgoing') {
      this.sends.set(id, { id, how: 'outgoing', promise: undefined, outcome: 'pending', error: undefined, value: undefined, late: this.completions.dropped > 0 });
      this.note(`outgoing.next(${id})`);
      this.socket.outgoing.next(message);
      return undefined;
    }
    this.note(`send(${id}${timeout === undefined ? '' : `, { timeout: ${timeout} }`})`);
    const promise = this.socket.send(message, timeout === undefined ? undefined : { timeout });
    return this.track(id, 'send', promise).then(() => undefined);
  }

  request(timeout: number): void {
    const id = nextId();
    this.note(`request(${id}, { timeout: ${timeout} })`);
    const promise = this.socket.request({ t: 'req', id }, { match: (m) => m.re === id, timeout });
    void this.track(id, 'request', promise).then(() => {
      const record = this.sends.get(id) as SendRecord;
      if (record.outcome === 'resolved' && (record.value as In).re !== id) this.violate(`request ${id} resolved with an answer to ${String((record.value as In).re)}`);
    });
  }

  private track(id: number, how: 'send' | 'request', promise: Promise<unknown>): Promise<unknown> {
    const record: SendRecord = { id, how, promise, outcome: 'pending', error: undefined, value: undefined, late: this.completions.dropped > 0 };
    this.sends.set(id, record);
    return promise.then(
      (value) => {
        record.outcome = 'resolved';
        record.value = value;
      },
      (error: unknown) => {
        record.outcome = 'rejected';
        record.error = error;
      },
    );
  }

  subscribe(): void {
    const sub: Sub = { n: this.subs.length + 1, at: this.tick(), seen: new Set(), subscription: undefined, unsubscribedAt: undefined, endedAt: undefined, ends: [] };
    this.subs.push(sub);
    this.note(`messages$ subscriber ${sub.n} subscribes`);
    sub.subscription = this.socket.messages$.subscribe({
      next: (message) => {
        if (sub.seen.has(message.s)) this.violate(`no duplicates: subscriber ${sub.n} got server message ${message.s} twice`);
        sub.seen.add(message.s);
        if (this.hooks.closeOn.has('messages$')) this.close(1000, 'messages$ hook');
      },
      error: (error: unknown) => this.ended(sub, `error ${(error as Error).name}`),
      complete: () => this.ended(sub, 'complete'),
    });
  }

  private ended(sub: Sub, how: string): void {
    sub.ends.push(how);
    sub.endedAt ??= this.tick();
    this.note(`messages$ subscriber ${sub.n}: ${how}`);
    if (sub.ends.length > 1) this.violate(`messages$ subscriber ${sub.n} ended twice: ${sub.ends.join(', ')}`);
  }

  unsubscribe(index: number): void {
    const live = this.subs.filter((s) => s.unsubscribedAt === undefined && s.endedAt === undefined);
    const sub = live[index % Math.max(1, live.length)];
    if (!sub) return;
    sub.unsubscribedAt = this.tick();
    this.note(`messages$ subscriber ${sub.n} unsubscribes`);
    sub.subscription?.unsubscribe();
  }

  /** `for await` that breaks after `k` messages; it must end by close() at the latest. */
  iterate(k: number): void {
    const seen = new Set<number>();
    const n = this.background.length + 1;
    this.note(`for await loop ${n} (break after ${k})`);
    const loop = (async () => {
      for await (const message of this.socket) {
        if (seen.has(message.s)) this.violate(`no duplicates: for await loop ${n} got server message ${message.s} twice`);
        seen.add(message.s);
        if (seen.size >= k) break;
      }
    })().catch(() => undefined);
    this.background.push({ what: `for await loop ${n}`, promise: loop });
  }

  /** return() on an iterator whose next() waits: it must settle, and so must next(). */
  async returnWhilePending(): Promise<void> {
    this.note('iterator: next() then return() while it waits');
    const iterator = this.socket[Symbol.asyncIterator]();
    const next = iterator.next();
    next.catch(() => undefined);
    await sleep(0);
    if ((await settledNow(next)) !== 'pending') return void (await iterator.return?.());
    const returned: Promise<unknown> = iterator.return?.() ?? Promise.resolve();
    const outcome = await settleWithin(returned, 'return()', 300).catch(() => undefined);
    if (outcome === undefined) this.violate('iterator: return() while next() is pending did not settle within 300 ms');
    this.background.push({ what: 'a pending next() after return()', promise: next });
  }

  channel(): void {
    const ch = `ch${++this.channelCount}`;
    const seen = new Set<number>();
    this.channelSeen.set(this.channelCount, seen);
    this.note(`channel ${ch} subscribes`);
    this.channels.push(
      this.socket
        .channel({ subscribe: () => ({ t: 'sub', ch }), unsubscribe: () => ({ t: 'unsub', ch }), filter: (m) => m.ch === ch })
        .subscribe({
          next: (m) => {
            if (seen.has(m.s)) this.violate(`no duplicates: channel ${ch} got server message ${m.s} twice`);
            seen.add(m.s);
          },
          error: () => undefined,
        }),
    );
  }

  unchannel(index: number): void {
    const live = this.channels.filter((s) => !s.closed);
    const sub = live[index % Math.max(1, live.length)];
    if (!sub) return;
    this.note('a channel unsubscribes');
    sub.unsubscribe();
  }

  close(code: number, why = 'command'): void {
    this.closeCalledAt ??= this.tick();
    this.note(`close(${code}) from ${why}`);
    try {
      this.closePromises.push(this.socket.close(code));
    } catch (error) {
      this.violate(`close(${code}) threw ${String(error)}`);
    }
  }

  armClose(on: 'state:connecting' | 'state:open' | 'state:reconnecting' | 'state:idle' | 'errors$' | 'dropped$' | 'messages$'): void {
    this.note(`arm: close() from the next ${on} observer call`);
    if (!on.startsWith('state:')) return void this.hooks.closeOn.add(on);
    const status = on.slice('state:'.length) as ConnectionStatus;
    let done = false;
    // Ends by itself when state$ completes.
    this.socket.state$.subscribe((state) => {
      if (done || state.status !== status) return;
      done = true;
      this.close(4000, `state$ observer at '${status}'`);
    });
  }

  /** A state$ observer that calls send() at the next `status`. */
  armSend(status: ConnectionStatus): void {
    this.note(`arm: send() from the next state$ observer call at '${status}'`);
    let done = false;
    this.socket.state$.subscribe((state) => {
      if (done || state.status !== status) return;
      done = true;
      void this.send('fire', undefined);
    });
  }

  /**
   * Blocks the event loop for `ms` right after the client's next ping (if one comes within
   * 150 ms), while the server, in its own thread, answers it and pushes `push` messages: the pong
   * and the messages wait in the socket, behind a blocked loop.
   */
  async stallAfterPing(ms: number, push: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const pinged = await new Promise<boolean>((resolve) => {
      this.pingWaiters.push(() => resolve(true));
      timer = setTimeout(() => resolve(false), 150);
    });
    clearTimeout(timer);
    this.pingWaiters.length = 0;
    this.note(`event loop blocked ${ms} ms${pinged ? ' right after a ping' : ''}${push > 0 ? `, server pushes ${push}` : ''}`);
    if (push > 0) void this.server.call({ cmd: 'push', n: push, raw: false });
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // a long synchronous task
    }
  }

  // ---- stream recorders ----

  private onState(state: ConnectionState): void {
    const at = this.tick();
    const previous = this.states[this.states.length - 1];
    this.states.push({ ...state, at });
    this.note(`state ${state.status}:${state.attempt}${state.lastClose ? `(${state.lastClose.code})` : ''}`);
    if (previous === undefined) {
      if (state.status !== 'idle' || state.attempt !== 0) this.violate(`state table: first state is ${state.status}:${state.attempt}, not idle:0`);
      return;
    }
    if (!STATUSES[previous.status].includes(state.status)) this.violate(`state table: ${previous.status} → ${state.status} is not a transition of docs/state.md`);
    if (this.closeCalledAt !== undefined && state.status !== 'closing' && state.status !== 'closed') {
      this.violate(`state table: '${state.status}' after close() was called (only 'closing' and 'closed' may follow)`);
    }
    const expectAttempt = (ok: boolean): void => void (ok || this.violate(`state table: ${previous.status}:${previous.attempt} → ${state.status}:${state.attempt} has the wrong attempt`));
    if (state.status === 'idle') expectAttempt(state.attempt === 0);
    if (state.status === 'connecting') expectAttempt(state.attempt === 1);
    if (state.status === 'closing' || state.status === 'closed') expectAttempt(state.attempt === previous.attempt);
    if (state.status === 'open' && previous.status !== 'open') expectAttempt(state.attempt === previous.attempt);
    if (state.status === 'reconnecting' && previous.status === 'reconnecting') expectAttempt(state.attempt === previous.attempt || state.attempt === previous.attempt + 1);
    if (state.status === 'reconnecting' && previous.status === 'connecting') expectAttempt(state.attempt === 2);
  }

  /** A message the client's socket emitted: who must see it. */
  private arrived(probe: Probe, data: string): void {
    const at = this.tick();
    const { s: seq } = JSON.parse(data) as In;
    // Only while this socket is the client's live connection: not after the client closed or
    // terminated it, nor after close() — late events of an ended socket are ignored by design.
    if (probe.ws.readyState !== WebSocket.OPEN || probe.endedAt !== undefined || this.closeCalledAt !== undefined) return;
    const expected = this.subs.filter((s) => s.unsubscribedAt === undefined && s.endedAt === undefined);
    this.arrivals.push({ seq, probe: probe.n, at, expected });
  }

  /**
   * No message vanishes: a message the client's live socket emitted reaches every messages$
   * subscriber that was subscribed then (delivery is synchronous, so by the next check), unless
   * that subscriber left or its stream ended since.
   */
  private checkArrivals(): void {
    for (const arrival of this.arrivals.splice(0)) {
      for (const sub of arrival.expected) {
        if (sub.seen.has(arrival.seq)) continue;
        if (sub.unsubscribedAt !== undefined && sub.unsubscribedAt > arrival.at) continue;
        const lost = this.states.filter((s) => s.at > arrival.at).map((s) => s.status);
        this.violate(
          `no message vanishes: server message ${arrival.seq} reached socket #${arrival.probe} while it was live, but messages$ subscriber ${sub.n} never got it (states after: ${lost.join(' → ') || 'none'}; errors$: ${this.errors.slice(-2).join(' | ') || 'none'})`,
        );
      }
    }
  }

  // ---- the end of a run ----

  /** close() and every promise kept at the end; throws a ModelViolation listing what broke. */
  async finish(): Promise<void> {
    await sleep(20);
    this.checkArrivals();
    this.close(1000, 'the end of the run');
    const outcome = await settleWithin(Promise.all(this.closePromises), 'close()', 3000).catch(() => undefined);
    if (outcome === undefined) this.violate('close() did not resolve within 3000 ms');
    if (outcome?.status === 'rejected') this.violate(`close() rejected: ${String(outcome.reason)}`);
    if (!this.closePromises.every((p) => p === this.closePromises[0])) this.violate('close(): not every call returned the same promise');
    await sleep(0);
    await sleep(0);

    // Every send() promise settled, and it says what happened to the message.
    const status = await this.server.status();
    const received = new Map(status.received);
    for (const record of this.sends.values()) {
      const written = this.written.get(record.id) ?? 0;
      const dropped = this.dropped.get(record.id) ?? 0;
      if (record.how === 'outgoing') {
        if (written + dropped !== (record.late ? written : 1)) this.violate(`outgoing.next(${record.id}): written ${written} times and dropped ${dropped} times after close(), expected exactly one of them`);
        continue;
      }
      if (record.outcome === 'pending') {
        this.violate(`${record.how}(${record.id}) still pending after close() resolved`);
        continue;
      }
      if (record.how === 'request') continue;
      if (record.outcome === 'resolved' && written !== 1) this.violate(`send(${record.id}) resolved but was written ${written} times`);
      if (record.outcome === 'rejected') {
        if (!(record.error instanceof MessageDroppedError)) this.violate(`send(${record.id}) rejected with ${String(record.error)}, not a MessageDroppedError`);
        else if (dropped !== (record.late ? 0 : 1)) this.violate(`send(${record.id}) rejected (${record.error.reason}) but dropped$ reported it ${dropped} times`);
        if (written > 0 || received.has(record.id)) this.violate(`send(${record.id}) rejected as dropped, but it was written (${written}) / received by the server (${received.get(record.id) ?? 0})`);
      }
    }
    for (const line of status.violations) this.violate(line);

    // Streams: one 'closed', then state$, errors$ and dropped$ complete once; messages$ ends once.
    const closedStates = this.states.filter((s) => s.status === 'closed').length;
    if (closedStates !== 1) this.violate(`state$: ${closedStates} 'closed' states, expected exactly 1`);
    if (this.states[this.states.length - 1]?.status !== 'closed') this.violate('state$: the last state is not closed');
    for (const [stream, count] of Object.entries(this.completions)) if (count !== 1) this.violate(`${stream}$ completed ${count} times, expected once`);
    for (const sub of this.subs) {
      if (sub.unsubscribedAt !== undefined) continue;
      if (sub.ends.length !== 1) this.violate(`messages$ subscriber ${sub.n} ended ${sub.ends.length} times after close(), expected once`);
    }
    for (const { what, promise } of this.background) {
      const settled = await settleWithin(promise, what, 1000).catch(() => undefined);
      if (settled === undefined) this.violate(`${what} did not end within 1000 ms of close()`);
    }

    // Nothing left: no socket at the server, no handle or timer in this process.
    let left = await this.server.status();
    for (let i = 0; i < 100 && left.open !== 0; i++) {
      await sleep(20);
      left = await this.server.status();
    }
    if (left.open !== 0) this.violate(`${left.open} socket(s) still open at the server 2 s after close() resolved: ${left.detail.join('; ')}`);
    const notClosed = this.probes.filter((p) => p.ws.readyState !== WebSocket.CLOSED);
    if (notClosed.length > 0) this.violate(`client socket(s) #${notClosed.map((p) => p.n).join(', #')} not CLOSED after close() resolved`);
    const grown = await settledGrowth(this.baseline, 1500);
    if (Object.keys(grown).length > 0) this.violate(`handles left after close(): ${JSON.stringify(grown)}`);
    this.check();
  }

  /** Best effort after a failed run: nothing of it may disturb the next one. */
  async dispose(): Promise<void> {
    this.hooks = { closeOn: new Set<string>() };
    await settleWithin(this.socket.close(), 'close()', 3000).catch(() => undefined);
    for (const probe of this.probes) probe.ws.terminate();
    await this.server.call({ cmd: 'reset' });
  }
}

/** The broken promises of one run, with its trail. */
export class ModelViolation extends Error {
  override name = 'ModelViolation';
  constructor(
    readonly violations: readonly string[],
    trail: readonly string[],
  ) {
    super(`${violations.length} broken promise(s):\n  - ${violations.join('\n  - ')}\ntrail:\n  ${trail.slice(-60).join('\n  ')}`);
  }
}

// ---- commands ----

type Model = Record<string, never>;
type Cmd = fc.AsyncCommand<Model, ModelRun>;

/** A command that acts, then lets the system run for `ms` before the invariants are checked. */
abstract class Step implements Cmd {
  constructor(readonly settle: number) {}
  check(): boolean {
    return true;
  }
  async run(_model: Model, run: ModelRun): Promise<void> {
    await this.act(run);
    await sleep(this.settle);
    run.check();
  }
  abstract act(run: ModelRun): unknown;
  abstract toString(): string;
}

class Send extends Step {
  constructor(
    readonly mode: 'await' | 'fire' | 'outgoing',
    readonly timeout: number | undefined,
    settle: number,
  ) {
    super(settle);
  }
  async act(run: ModelRun): Promise<void> {
    const sent = run.send(this.mode, this.timeout);
    if (this.mode !== 'await' || !sent) return;
    const within = (this.timeout ?? MODEL_OPTIONS.buffer.timeout) + 1500;
    const outcome = await settleWithin(sent, 'send()', within).catch(() => undefined);
    if (outcome === undefined) run.violate(`send() did not settle within its timeout + 1500 ms (${within} ms)`);
  }
  toString(): string {
    return `send(${this.mode}${this.timeout === undefined ? '' : `, timeout ${this.timeout}`}) ~${this.settle}`;
  }
}

const simple = <A extends unknown[]>(name: (...args: A) => string, act: (run: ModelRun, ...args: A) => unknown) =>
  class extends Step {
    readonly args: A;
    constructor(settle: number, ...args: A) {
      super(settle);
      this.args = args;
    }
    act(run: ModelRun): unknown {
      return act(run, ...this.args);
    }
    toString(): string {
      return `${name(...this.args)} ~${this.settle}`;
    }
  };


const Subscribe = simple(() => 'subscribe', (run) => run.subscribe());
const Unsubscribe = simple((i: number) => `unsubscribe(${i})`, (run, i: number) => run.unsubscribe(i));
const Iterate = simple((k: number) => `for await, break after ${k}`, (run, k: number) => run.iterate(k));
const ReturnWhilePending = simple(() => 'iterator return() while next() waits', (run) => run.returnWhilePending());
const Channel = simple(() => 'channel()', (run) => run.channel());
const Unchannel = simple((i: number) => `unchannel(${i})`, (run, i: number) => run.unchannel(i));
const Request = simple((t: number) => `request(timeout ${t})`, (run, t: number) => run.request(t));
const Close = simple((code: number) => `close(${code})`, (run, code: number) => run.close(code));
type CloseHook = Parameters<ModelRun['armClose']>[0];
const ArmClose = simple((on: CloseHook) => `arm close() in ${on}`, (run, on: CloseHook) => run.armClose(on));
const ArmSend = simple((on: ConnectionStatus) => `arm send() in state$ at ${on}`, (run, on: ConnectionStatus) => run.armSend(on));
const Push = simple((n: number, raw: boolean) => `server push ${n}${raw ? ' (one write)' : ''}`, (run, n: number, raw: boolean) => run.server.call({ cmd: 'push', n, raw }));
const ServerClose = simple((code: number) => `server close(${code})`, (run, code: number) => run.server.call({ cmd: 'close', code }));
const Greet = simple((n: number) => `server greets with ${n} on connect`, (run, n: number) => run.server.call({ cmd: 'greet', n }));
const Down = simple(() => 'server down (rst, refuse)', (run) => run.server.call({ cmd: 'down' }));
const Up = simple(() => 'server up', (run) => run.server.call({ cmd: 'up' }));
const Reset = simple(() => 'server resets connections', (run) => run.server.call({ cmd: 'rst' }));
const Stall = simple((ms: number, push: number) => `client event loop blocked ${ms} ms after a ping, server pushes ${push}`, (run, ms: number, push: number) => run.stallAfterPing(ms, push));

/** Names of command kinds, for switching groups off (see KNOWN_DEFECTS in the spec). */
export type CommandKind =
  | 'send'
  | 'subscribe'
  | 'iterate'
  | 'return-while-pending'
  | 'channel'
  | 'request'
  | 'close'
  | 'close-in-state$'
  | 'close-in-errors$'
  | 'close-in-dropped$'
  | 'close-in-messages$'
  | 'send-in-state$-connecting'
  | 'send-in-state$-other'
  | 'push'
  | 'server-close'
  | 'greet'
  | 'restart'
  | 'reset'
  | 'stall';

const settle = fc.constantFrom(0, 0, 2, 5, 10, 20, 40);

export const COMMANDS: Record<CommandKind, fc.Arbitrary<Cmd>> = {
  send: fc
    .tuple(fc.constantFrom('await' as const, 'fire' as const, 'fire' as const, 'outgoing' as const), fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined, freq: 2 }), settle)
    .map(([mode, timeout, ms]) => new Send(mode, timeout, ms)),
  subscribe: fc.oneof(settle.map((ms) => new Subscribe(ms)), fc.tuple(settle, fc.nat(3)).map(([ms, i]) => new Unsubscribe(ms, i))),
  iterate: fc.tuple(settle, fc.integer({ min: 1, max: 4 })).map(([ms, k]) => new Iterate(ms, k)),
  'return-while-pending': settle.map((ms) => new ReturnWhilePending(ms)),
  channel: fc.oneof(settle.map((ms) => new Channel(ms)), fc.tuple(settle, fc.nat(3)).map(([ms, i]) => new Unchannel(ms, i))),
  request: fc.tuple(settle, fc.integer({ min: 20, max: 200 })).map(([ms, t]) => new Request(ms, t)),
  close: fc.tuple(settle, fc.constantFrom(1000, 3000, 4999)).map(([ms, code]) => new Close(ms, code)),
  'close-in-state$': fc
    .tuple(settle, fc.constantFrom('state:connecting' as const, 'state:open' as const, 'state:reconnecting' as const, 'state:idle' as const))
    .map(([ms, on]) => new ArmClose(ms, on)),
  'close-in-errors$': settle.map((ms) => new ArmClose(ms, 'errors$')),
  'close-in-dropped$': settle.map((ms) => new ArmClose(ms, 'dropped$')),
  'close-in-messages$': settle.map((ms) => new ArmClose(ms, 'messages$')),
  'send-in-state$-connecting': settle.map((ms) => new ArmSend(ms, 'connecting')),
  'send-in-state$-other': fc.tuple(settle, fc.constantFrom('open' as const, 'reconnecting' as const, 'idle' as const)).map(([ms, on]) => new ArmSend(ms, on)),
  push: fc.tuple(settle, fc.integer({ min: 1, max: 5 }), fc.boolean()).map(([ms, n, raw]) => new Push(ms, n, raw)),
  'server-close': fc.tuple(settle, fc.constantFrom(1000, 1001, 1011, 4000, 1008, 1003)).map(([ms, code]) => new ServerClose(ms, code)),
  greet: fc.tuple(settle, fc.integer({ min: 1, max: 3 })).map(([ms, n]) => new Greet(ms, n)),
  restart: fc.oneof(settle.map((ms) => new Down(ms)), settle.map((ms) => new Up(ms))),
  reset: settle.map((ms) => new Reset(ms)),
  stall: fc.tuple(fc.constantFrom(0, 5, 20), fc.integer({ min: 40, max: 120 }), fc.nat(3)).map(([ms, stall, push]) => new Stall(ms, stall, push)),
};

/** Weights: the client's own calls and server pushes are the common case. */
const WEIGHTS: Partial<Record<CommandKind, number>> = { send: 4, subscribe: 3, push: 3 };

/** Command sequences over the enabled kinds. */
export function commandsArb(enabled: readonly CommandKind[], maxCommands: number, replayPath?: string): fc.Arbitrary<Iterable<Cmd>> {
  const arbs = enabled.flatMap((kind) => Array.from({ length: WEIGHTS[kind] ?? 1 }, () => COMMANDS[kind]));
  return fc.commands(arbs, { maxCommands, ...(replayPath !== undefined && { replayPath }) });
}

/** One run: a fresh client, the commands, then close() and the final checks. */
export async function runCommands(server: ModelServer, commands: Iterable<Cmd>): Promise<void> {
  const run = await ModelRun.start(server);
  try {
    await fc.asyncModelRun(() => ({ model: {} as Model, real: run }), commands);
    await run.finish();
  } finally {
    await run.dispose();
  }
}

export const ALL_KINDS = Object.keys(COMMANDS) as CommandKind[];
