export * from './exports.js';
export { connect } from './connect.js';
