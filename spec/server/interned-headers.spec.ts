import type { IncomingHttpHeaders } from 'node:http';
import { internHeaders } from '../../lib/server/interned-headers.js';

// A peer's request headers share their strings with earlier requests': no value may change,
// across the table's bound too.

test('every value stays what the request sent, over many requests with new and repeated values', () => {
  for (let i = 0; i < 2000; i++) {
    const headers: IncomingHttpHeaders = {
      host: `127.0.0.1:${8000 + (i % 7)}`,
      upgrade: 'websocket',
      'sec-websocket-key': `key-${i}`,
      'user-agent': `agent/${i}`, // a new value each time: the table fills and starts again
      'set-cookie': ['a=1', `b=${i}`],
    };
    const copy = structuredClone(headers);
    expect(internHeaders(headers)).toBe(headers);
    expect(headers).toEqual(copy);
  }
});
