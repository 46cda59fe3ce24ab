// How often a processor heartbeats, and heartbeats while a transaction is in flight.
// kafkajs sends heartbeats from its fetch loop only, between batches: a batch whose
// transaction waits on a slow broker would otherwise let the session expire, and with a
// short session timeout (docs/operations.md, "Failover in seconds") that is a rebalance
// for nothing. Java's consumer heartbeats from a thread of its own for the same reason.

/**
 * Every 100 ms, or a third of the session timeout when that is shorter: a member hears
 * of a rebalance (a peer left or joined) on its next heartbeat, and the whole group waits
 * for the last member to hear, so this bounds how soon partitions move after a graceful
 * stop (docs/operations.md, "Failover in seconds"). Ten small requests a second per
 * member to the group coordinator.
 */
export function heartbeatIntervalMs(sessionTimeoutMs: number): number {
  return Math.min(100, Math.floor(sessionTimeoutMs / 3));
}

/**
 * Awaits `work`, heartbeating every `intervalMs` until it settles. A failed heartbeat (the
 * group is rebalancing, the member is unknown) is left for the caller's own heartbeat after
 * the work, which kafkajs turns into a rejoin; the work is never interrupted by it.
 */
export async function withHeartbeats<T>(
  work: Promise<T>,
  heartbeat: () => Promise<void>,
  intervalMs: number,
): Promise<T> {
  const timer = setInterval(() => {
    heartbeat().catch(() => undefined);
  }, intervalMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
