import type { WireData } from '../../lib/core/codec.js';
import type { OpenConnection } from '../../lib/core/connection.js';
import type { Transport } from '../../lib/core/transport.js';

// A transport the core specs control (the writer's, the session's), as ws tests its Sender
// against a ten-line socket.

/** A socket the test controls: open or not, how much it holds unsent, and its 'drain'. */
export class FakeTransport implements Transport {
  readonly written: WireData[] = [];
  open = true;
  buffered = 0;
  waits = 0;
  cancels = 0;
  #drained: (() => void) | undefined;
  readonly ping = undefined;

  isOpen(): boolean {
    return this.open;
  }

  bufferedAmount(): number {
    return this.buffered;
  }

  send(data: WireData): void {
    if (data === 'refuse') throw new Error('refused');
    this.written.push(data);
    if (typeof data === 'string' && data.startsWith('big')) this.buffered += 1000;
  }

  whenDrained(done: () => void): () => void {
    this.waits++;
    this.#drained = done;
    return () => {
      this.cancels++;
      this.#drained = undefined;
    };
  }

  /** The socket wrote out what it held: 'drain'. */
  drain(): void {
    this.buffered = 0;
    const done = this.#drained;
    this.#drained = undefined;
    done?.();
  }
}

export function connection(transport: Transport): OpenConnection {
  return { transport, protocol: '', close: () => Promise.resolve(undefined), pong: () => undefined, probe: () => undefined };
}
