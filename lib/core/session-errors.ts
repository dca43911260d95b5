/**
 * A session could not be resumed: the server restarted, the session's `resumeWindow` expired, or
 * its retention overflowed. Reported on `errors$` (and `state$` says `session.resumed: false`);
 * every reliable message the other side never acknowledged is rejected with reason
 * `'session-lost'` (its `send()` promise and `dropped$`). The connection goes on in a new session.
 *
 * @example
 * ```ts
 * socket.errors$.subscribe((e) => {
 *   if (e instanceof SessionLostError) console.warn(`session ${e.sessionId} lost: ${e.unacknowledged} messages to resend`);
 * });
 * ```
 */
export class SessionLostError extends Error {
  override name = 'SessionLostError';
  /** The session that was lost. */
  readonly sessionId: string;
  /** The session that replaced it, if the connection went on in a new one. */
  readonly newSessionId: string | undefined;
  /** How many reliable messages the other side never acknowledged (each rejected with `'session-lost'`). */
  readonly unacknowledged: number;

  constructor(sessionId: string, newSessionId: string | undefined, unacknowledged: number, why: string) {
    super(`Session ${sessionId} could not be resumed (${why}): ${unacknowledged} unacknowledged reliable message${unacknowledged === 1 ? '' : 's'} rejected with 'session-lost'`);
    this.sessionId = sessionId;
    this.newSessionId = newSessionId;
    this.unacknowledged = unacknowledged;
  }
}

/**
 * The client asked for a resumable session and the server did not accept the session subprotocol
 * (`rxwire.session.1`): the delivery guarantee it was promised cannot be given. Fatal: the close
 * that ends the socket has it as `cause`, and it is not retried.
 *
 * @example
 * ```ts
 * socket.messages$.subscribe({
 *   error: (e) => e.cause instanceof SessionUnsupportedError && console.error('this server has no sessions: listen({ session: true })'),
 * });
 * ```
 */
export class SessionUnsupportedError extends Error {
  override name = 'SessionUnsupportedError';
  /** The subprotocol the server selected instead ('' for none). */
  readonly protocol: string;

  constructor(protocol: string) {
    super(`The server did not accept the session subprotocol rxwire.session.1 (it selected ${protocol ? JSON.stringify(protocol) : 'none'}): enable sessions on the server (listen({ session: true }))`);
    this.protocol = protocol;
  }
}

/**
 * A frame broke the session wire format (`docs/protocol.md`): an unknown kind, a bad sequence
 * number, a gap in the reliable sequence. The connection is closed with 1002 (protocol error).
 *
 * @example
 * ```ts
 * socket.errors$.subscribe((e) => e instanceof SessionProtocolError && console.error('peer broke the protocol:', e.message));
 * ```
 */
export class SessionProtocolError extends Error {
  override name = 'SessionProtocolError';
}
