/**
 * What the page or worker says about the network: it came back (`'online'`), it became visible
 * again or was restored from the back/forward cache (`'visible'`), or it lost the network
 * (`'offline'`). Timers of a hidden page are throttled or frozen and a laptop that slept has a
 * dead TCP connection nobody noticed, so these are the moments to check the connection at once.
 */
export type PageSignal = 'online' | 'offline' | 'visible';

/** Starts watching; returns the function that removes every listener it added. */
export type WatchPage = (signal: (kind: PageSignal) => void) => () => void;

interface EventHost {
  addEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void;
  removeEventListener(type: string, listener: (event: { persisted?: boolean }) => void): void;
}

/**
 * Listens to `online`/`offline` and `pageshow` on the global (a window or a worker) and to
 * `visibilitychange` on `document`, as Phoenix and Centrifugo do. Where there is no such global
 * (Node, Deno without a page) it adds nothing.
 */
export const watchPage: WatchPage = (signal) => {
  const global = globalThis as unknown as Partial<EventHost> & { document?: Partial<EventHost> & { visibilityState?: string } };
  if (typeof global.addEventListener !== 'function' || typeof global.removeEventListener !== 'function') return () => undefined;
  const host = global as EventHost;
  const doc = typeof global.document?.addEventListener === 'function' ? (global.document as EventHost & { visibilityState?: string }) : undefined;
  const online = (): void => signal('online');
  const offline = (): void => signal('offline');
  // A page restored from the back/forward cache had its socket closed or frozen meanwhile.
  const shown = (event: { persisted?: boolean }): void => void (event.persisted && signal('visible'));
  const visibility = (): void => void (doc?.visibilityState === 'visible' && signal('visible'));
  host.addEventListener('online', online);
  host.addEventListener('offline', offline);
  host.addEventListener('pageshow', shown);
  doc?.addEventListener('visibilitychange', visibility);
  return () => {
    host.removeEventListener('online', online);
    host.removeEventListener('offline', offline);
    host.removeEventListener('pageshow', shown);
    doc?.removeEventListener('visibilitychange', visibility);
  };
};
