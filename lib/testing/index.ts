/**
 * Test kit for WebSocket clients: a {@link TestServer}, a {@link FaultProxy} that injects network
 * faults, and a {@link RawPeer} that writes hand-made frames. Loopback only.
 *
 * @module rxwire/testing
 */
export { createFaultProxy, type FaultProxy, type FaultProxyOptions } from './fault-proxy.js';
export type { AcceptMode, Direction, Fault, FaultKind } from './fault.js';
export type { LinkStats } from './fault-link.js';
export { createRawPeer, type RawConnection, type RawPeer, type RawPeerOptions } from './raw-peer.js';
export { createRawClient, type RawClient, type RawClientOptions } from './raw-client.js';
export type { FramedSocket } from './framed-socket.js';
export { frame, closePayload, FrameReader, type FrameOptions, type ParsedFrame } from './frame.js';
export { acceptKey, type UpgradeRequest } from './handshake.js';
export { createTestServer, type Received, type TestServer, type TestServerOptions } from './test-server.js';
export { DisposedError, InvalidOptionError, NotLoopbackError } from './errors.js';
