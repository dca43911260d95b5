import type { CloseInfo } from '../core/errors.js';
import type { ConnectionState, ConnectionStatus } from './rx-socket.js';

/**
 * A state, its optional fields assigned rather than spread: V8 gives each `{ ...a, b }` object a
 * hidden class of its own, and each socket keeps its state.
 */
export function stateOf(status: ConnectionStatus, attempt: number, lastClose?: CloseInfo, session?: ConnectionState['session']): ConnectionState {
  const state: { -readonly [K in keyof ConnectionState]: ConnectionState[K] } = { status, attempt };
  if (lastClose) state.lastClose = lastClose;
  if (session) state.session = session;
  return state;
}
