import { SessionProtocolError } from '../../lib/core/session-errors.js';
import { ackFrame, helloFrame, parseFrame, reliableFrame, volatileFrame, welcomeFrame } from '../../lib/core/session-frames.js';

// The session wire format (docs/protocol.md): what each frame looks like, that parsing is the
// inverse of framing for text and binary payloads, and that every malformed frame is a typed error.

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('session frames', () => {
  test('text frames: reliable with and without a piggybacked ack, volatile, ack, hello, welcome', () => {
    expect(reliableFrame(7, 0, '{"a":1}')).toBe('R7:{"a":1}');
    expect(reliableFrame(7, 3, '{"a":1}')).toBe('R7/3:{"a":1}');
    expect(volatileFrame('{"a":1}')).toBe('V{"a":1}');
    expect(ackFrame(12)).toBe('A12');
    expect(helloFrame({ v: 1, id: null, ack: 0 })).toBe('H{"v":1,"id":null,"ack":0}');
    expect(welcomeFrame({ id: 'x', resumed: true, ack: 4 })).toBe('W{"id":"x","resumed":true,"ack":4}');
    expect(parseFrame('R7/3:{"a":1}')).toEqual({ kind: 'reliable', seq: 7, ack: 3, payload: '{"a":1}' });
    expect(parseFrame('R7:a:b')).toEqual({ kind: 'reliable', seq: 7, ack: 0, payload: 'a:b' }); // the first colon ends the header
    expect(parseFrame('V')).toEqual({ kind: 'volatile', payload: '' });
    expect(parseFrame('A0')).toEqual({ kind: 'ack', ack: 0 });
    expect(parseFrame('H{"v":1,"id":"s","ack":2,"future":true}')).toEqual({ kind: 'hello', hello: { v: 1, id: 's', ack: 2 } }); // unknown fields ignored
    expect(parseFrame('W{"id":"s","resumed":false,"ack":0}')).toEqual({ kind: 'welcome', welcome: { id: 's', resumed: false, ack: 0 } });
  });

  test('binary payloads keep their kind: the header in front, the payload bytes intact', () => {
    const payload = new Uint8Array([0, 58, 255, 82]); // contains a ':' and an 'R'
    const framed = reliableFrame(42, 9, payload) as Uint8Array;
    expect(framed).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(framed.subarray(0, 6))).toBe('R42/9:');
    const parsed = parseFrame(framed);
    expect(parsed).toMatchObject({ kind: 'reliable', seq: 42, ack: 9 });
    expect([...(parsed as { payload: Uint8Array }).payload]).toEqual([0, 58, 255, 82]);
    const volatile = parseFrame(volatileFrame(payload.buffer as ArrayBuffer) as Uint8Array);
    expect([...(volatile as { payload: Uint8Array }).payload]).toEqual([0, 58, 255, 82]);
    expect(parseFrame(bytes('A5'))).toEqual({ kind: 'ack', ack: 5 }); // a control frame sent as binary is tolerated
  });

  test.each([
    ['', /unknown kind/],
    ['X1', /unknown kind/],
    ['R12', /no `:`/],
    ['R:x', /`seq` is not a sequence number/],
    ['R-1:x', /`seq` is not a sequence number/],
    ['R1.5:x', /`seq` is not a sequence number/],
    ['R1/x:y', /`ack` is not a sequence number/],
    ['R9999999999999999:x', /`seq` is not a sequence number/],
    ['A', /`ack` is not a sequence number/],
    ['A 1', /`ack` is not a sequence number/],
    ['H{', /hello frame is not JSON/],
    ['H[]', /hello frame is not a JSON object/],
    ['H{"v":2,"id":null,"ack":0}', /unsupported version 2/],
    ['H{"v":1,"id":"","ack":0}', /`id` must be null or a string of 1 to 128/],
    ['H{"v":1,"id":null,"ack":-1}', /hello.ack/],
    ['W{"id":"x","ack":0}', /`id` and `resumed` are required/],
    ['W{"id":"x","resumed":true,"ack":1.5}', /welcome.ack/],
    ['Wnull', /not a JSON object/],
  ])('%j is a SessionProtocolError (%s)', (frame, message) => {
    expect(() => parseFrame(frame)).toThrow(SessionProtocolError);
    expect(() => parseFrame(frame)).toThrow(message);
  });

  test('a binary frame of an unknown kind that is not UTF-8 is a SessionProtocolError', () => {
    expect(() => parseFrame(new Uint8Array([0xff, 0xfe]))).toThrow(/unknown kind \(byte 255\)/);
    expect(() => parseFrame(bytes('R1' + 'x'.repeat(50)))).toThrow(/no `:` after its header/);
  });
});
