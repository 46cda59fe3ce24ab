// Events older than the dedupe window. A delivery's id is not signed, so one signed body
// can come again under a new id; the dedupe markers of an id and of a retired entity last
// a dedupe window, and after that only the event's own age can tell that it is a resend.
// The rule reads the delivery record alone (its payload and receivedAt, which ingest
// stamps and replay keeps), so reprocessing the same records gives the same answers.
import type { Observation } from './types.js';

/**
 * The event's time: the latest timestamp the observation carries (a run's updated_at,
 * a job's completed_at, else started_at or created_at), or null when it carries none.
 */
export function eventTimeOf(o: Observation): number | null {
  const times =
    o.kind === 'run' ? [o.createdAt, o.runStartedAt, o.updatedAt] : [o.createdAt, o.startedAt, o.completedAt];
  let latest: number | null = null;
  for (const t of times) if (t !== null && (latest === null || t > latest)) latest = t;
  return latest;
}

/**
 * Whether a delivery is too old to start an entity: its event happened more than the
 * dedupe window before it was received, or it completes an entity without saying when
 * (GitHub's completed events always carry updated_at / completed_at, so its age cannot
 * be bounded and it must not be counted). The caller applies it only to entities it does
 * not hold: an event about a held entity merges by the usual rules.
 */
export function isBeyondDedupeWindow(o: Observation, receivedAt: number, dedupeWindowMs: number): boolean {
  const eventTime = eventTimeOf(o);
  if (eventTime === null) return o.status === 'completed';
  return receivedAt - eventTime > dedupeWindowMs;
}
