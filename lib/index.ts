/**
 * A lazy, self-reconnecting WebSocket client on RxJS 7 and `ws`: {@link connect} returns an
 * {@link RxSocket} whose messages, state, errors and drops are Observables.
 *
 * @module rxwire
 */
export * from './api.js';
export { connect } from './client/connect.js';
