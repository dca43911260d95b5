import './helpers/tripwires';
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../lib/index.js';
import { client, collect, record, until } from './helpers/observe';
import { startWsPeer } from './helpers/peers';

// Where features meet: each test combines two features under unusual timing, against real
// sockets on 127.0.0.1, and pins the behaviour the docs promise.

/** Blocks the event loop for `ms` of wall time, as a long synchronous task in an app does. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe('heartbeat × a busy event loop', () => {
  test('a loop blocked past the pong deadline right after a ping: no false timeout, no message lost', async () => {
    const server = await startWsPeer({
      // Every ping is answered by ws's auto-pong and preceded by two data messages.
      onConnection: (conn) => {
        let n = 0;
        conn.ws.on('ping', () => {
          conn.ws.send(`data-${++n}`);
          conn.ws.send(`data-${++n}`);
        });
      },
    });
    let pings = 0;
    class Stalling extends WebSocket {
      override ping(...args: Parameters<WebSocket['ping']>): void {
        super.ping(...args);
        // After the timers phase that sent the ping: block for 3 × the timeout before any read.
        if (++pings <= 3) setImmediate(() => busy(150));
      }
    }
    const socket = client<string>(server.url, {
      WebSocket: Stalling as unknown as WebSocketConstructor,
      deserialize: (data) => String(data),
      heartbeat: { interval: 40, timeout: 50 },
      reconnect: { initialDelay: 10 },
    });
    const rec = record(socket);
    const messages = collect(socket);
    await until(() => messages.values.length >= 8, 'eight messages (four pings answered)', 5000);
    expect(rec.errors).toEqual([]);
    expect(server.connections).toHaveLength(1);
    expect(messages.values.slice(0, 8)).toEqual(['data-1', 'data-2', 'data-3', 'data-4', 'data-5', 'data-6', 'data-7', 'data-8']);
    expect(socket.state.status).toBe('open');
  });
});
