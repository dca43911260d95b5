import { byteLength, utf8Length } from '../../lib/core/codec.js';
import '../../lib/transports/ws.js'; // installs Node's native count behind byteLength, as the Node build does

// The UTF-8 length behind the byte bounds (the offline buffer's, a session retention's): Node's
// native count, and the JS count a browser uses, agree with what TextEncoder produces.

const SAMPLES = ['', 'plain ascii {"seq":1}', 'é and ß (2 bytes each)', '€ and 中文 (3 bytes each)', '😀 a surrogate pair (4 bytes)', 'mixed: a é € 😀 z', '\u0000\u007f\u0080\u07ff\u0800\uffff'];

test.each(SAMPLES)('%j: both counts equal the encoded length', (text) => {
  const encoded = new TextEncoder().encode(text).length;
  expect(utf8Length(text)).toBe(encoded);
  expect(byteLength(text)).toBe(encoded);
});

test('binary data counts its bytes', () => {
  expect(byteLength(new Uint8Array(7))).toBe(7);
  expect(byteLength(new ArrayBuffer(5))).toBe(5);
});
