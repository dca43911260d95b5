'use strict';
// Counts WebSocket frames as they cross a server's TCP sockets, below the library under test: a
// parser of RFC 6455 frame headers in a byte stream (either direction; masked or not) that skips
// payloads but for their first byte. The session scenarios count acknowledgement frames (`A<n>`,
// text) with it on the server's socket, without touching rxwire.

/**
 * A byte-stream parser: `push(chunk)` for each chunk in order; `onFrame(opcode, first)` for each
 * frame header parsed, with the first payload byte unmasked (undefined for an empty payload).
 */
function frameParser(onFrame) {
  const head = [];
  let need = 2;
  let remaining = 0;
  let mask0 = 0;
  let opcode = 0;
  let first = false;
  return function push(chunk) {
    let i = 0;
    while (i < chunk.length) {
      if (remaining > 0) {
        if (first) {
          onFrame(opcode, chunk[i] ^ mask0);
          first = false;
        }
        const take = Math.min(remaining, chunk.length - i);
        i += take;
        remaining -= take;
        continue;
      }
      head.push(chunk[i++]);
      if (head.length === 2) {
        const len7 = head[1] & 0x7f;
        need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (head[1] & 0x80 ? 4 : 0);
      }
      if (head.length < need) continue;
      opcode = head[0] & 0x0f;
      const len7 = head[1] & 0x7f;
      const masked = (head[1] & 0x80) !== 0;
      let length = len7;
      if (len7 === 126) length = (head[2] << 8) | head[3];
      else if (len7 === 127) {
        length = 0;
        for (let k = 2; k < 10; k++) length = length * 256 + head[k];
      }
      mask0 = masked ? head[need - 4] : 0;
      head.length = 0;
      need = 2;
      remaining = length;
      first = length > 0;
      if (length === 0) onFrame(opcode, undefined);
    }
  };
}

/** Makes chunk a Buffer (socket.write also takes strings) for the parser. */
const bytes = (chunk, encoding) => (typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : chunk);

/**
 * Taps every WebSocket connection of `httpServer` (call before the WebSocket server attaches):
 * `onFrame('in' | 'out', opcode, first)` for each frame its sockets read or write. Written bytes
 * are seen at `socket.write` (the 101 response skipped); read ones at the socket's 'data' events
 * from the upgrade on (the HTTP parser reads the request below JS; `ws` unshifts what followed it,
 * which comes back as 'data'). Neither changes how the socket flows.
 */
function tapServer(httpServer, onFrame) {
  httpServer.on('connection', (socket) => {
    const outbound = afterHttp(frameParser((op, first) => onFrame('out', op, first)));
    const write = socket.write;
    socket.write = function (chunk, encoding, cb) {
      outbound(bytes(chunk, encoding));
      return write.call(this, chunk, encoding, cb);
    };
  });
  httpServer.prependListener('upgrade', (_request, socket) => {
    const inbound = frameParser((op, first) => onFrame('in', op, first));
    const emit = socket.emit;
    socket.emit = function (event, chunk) {
      if (event === 'data') inbound(chunk);
      return emit.apply(this, arguments);
    };
  });
}

/** Drops the bytes of an HTTP head (up to and with "\r\n\r\n"), then passes everything to `next`. */
function afterHttp(next) {
  let matched = 0;
  let done = false;
  const END = [13, 10, 13, 10];
  return (chunk) => {
    if (done) return next(chunk);
    for (let i = 0; i < chunk.length; i++) {
      matched = chunk[i] === END[matched] ? matched + 1 : chunk[i] === 13 ? 1 : 0;
      if (matched === 4) {
        done = true;
        if (i + 1 < chunk.length) next(chunk.subarray(i + 1));
        return undefined;
      }
    }
    return undefined;
  };
}

module.exports = { frameParser, tapServer };
