/**
 * A lazy, self-reconnecting WebSocket client on RxJS 7 and `ws`: {@link connect} returns an
 * {@link RxSocket} whose messages, state, errors and drops are Observables.
 *
 * @module rxwire
 */
export * from './exports.js';
export { connect } from './connect.js';
