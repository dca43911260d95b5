export * from './exports.js';
export { connect } from './connect-native.js';
