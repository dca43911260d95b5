/** Sockets closing in the background (a lazy close, a reconnect, a teardown), to wait for. */
export class Closings {
  #pending: Set<Promise<unknown>> | undefined; // made on the first: most sockets never need it

  /** `closing` settles when its socket has closed. */
  track(closing: Promise<unknown>): void {
    const pending = (this.#pending ??= new Set());
    pending.add(closing);
    void closing.then(() => pending.delete(closing));
  }

  /** Resolves when every tracked socket has closed, those tracked meanwhile included. */
  async settled(): Promise<void> {
    while (this.#pending && this.#pending.size > 0) await Promise.all(this.#pending);
  }
}
