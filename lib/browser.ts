export * from './api.js';
export { connect } from './client/connect-native.js';
