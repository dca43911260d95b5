import type { SchedulerLike, Subscription } from 'rxjs';
import { ConnectionClosedError } from '../core/errors.js';
import type { ShutdownReport } from './options.js';
import type { ServerPeer } from './peer.js';

/**
 * A server's shutdown of its peers: each queue gets its chance to flush (up to `timeout`), then
 * each peer is closed with `code`/`reason`; those not closed when `timeout` has passed are
 * terminated. Resolves when every peer has ended, with what happened, and leaves no timer.
 */
export async function closePeers<In, Out>(
  peers: ReadonlyArray<ServerPeer<In, Out>>,
  { code, reason, timeout }: { code: number; reason: string; timeout: number },
  scheduler: SchedulerLike,
): Promise<ShutdownReport> {
  const start = scheduler.now();
  let dropped = 0;
  const counting = peers.map((peer) => peer.dropped$.subscribe(({ reason: why }) => void (why === 'closed' && dropped++)));
  // The close frame goes after what the queue held.
  await Promise.all(peers.map((peer) => peer.drained(timeout).then(() => void peer.close(code, reason))));
  const left = Math.max(0, timeout - (scheduler.now() - start));
  const cleanly = new Set<ServerPeer<In, Out>>();
  for (const peer of peers) void peer.closed.then((close) => close.wasClean && cleanly.add(peer));
  let timer: Subscription | undefined;
  await Promise.race([Promise.all(peers.map((peer) => peer.closed)), new Promise((resolve) => (timer = scheduler.schedule(resolve, left)))]);
  timer?.unsubscribe(); // no timer outlives the shutdown: a closed server's process exits at once
  let terminated = 0;
  for (const peer of peers) {
    if (peer.ended) continue;
    terminated++;
    peer.terminate(new ConnectionClosedError({ code: 1006, reason: 'shutdown timeout', wasClean: false }), 'server');
  }
  await Promise.all(peers.map((peer) => peer.closed));
  for (const subscription of counting) subscription.unsubscribe();
  return { peers: peers.length, closedCleanly: peers.filter((peer) => cleanly.has(peer)).length, terminated, dropped };
}
