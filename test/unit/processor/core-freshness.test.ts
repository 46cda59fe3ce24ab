// The age rule: an event's time against when it was received. The oracle reads the
// timestamps from the real payloads' text (the latest of the times the event names),
// not through the observation the rule reads.
import { describe, expect, it } from 'vitest';
import { eventTimeOf, isBeyondDedupeWindow } from '../../../processor/core/freshness.js';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import { type Observation, parseDelivery } from '../../../schemas/observation.js';
import { examples, type WebhookPayload } from '../../support/webhooks.js';

const W = DEFAULT_LIFECYCLE_LIMITS.dedupeWindowMs;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const FIELDS = {
  workflow_run: ['created_at', 'run_started_at', 'updated_at'],
  workflow_job: ['created_at', 'started_at', 'completed_at'],
} as const;

type Event = keyof typeof FIELDS;

/** The oracle's event time: the latest ISO time among the event's own fields, from the raw payload. */
function latestTime(event: Event, payload: WebhookPayload): number | null {
  const entity = payload[event === 'workflow_run' ? 'workflow_run' : 'workflow_job'] as Record<
    string,
    unknown
  >;
  const times = FIELDS[event]
    .map((f) => entity[f])
    .filter((v): v is string => typeof v === 'string' && v !== '')
    .map((v) => new Date(v).getTime());
  return times.length === 0 ? null : Math.max(...times);
}

function observe(event: Event, payload: WebhookPayload): Observation {
  const parsed = parseDelivery(event, payload);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.observation;
}

const cases = (['workflow_run', 'workflow_job'] as const).flatMap((event) =>
  examples(event).map((payload, i) => ({ event, payload, name: `${event} #${i} ${payload.action}` })),
);

describe('eventTimeOf', () => {
  it.each(cases)('is the latest time $name names', ({ event, payload }) => {
    expect(eventTimeOf(observe(event, payload))).toBe(latestTime(event, payload));
  });
});

describe('isBeyondDedupeWindow', () => {
  // Received this long after the event: GitHub's own delivery, its redeliveries (up to
  // 3 days later, same payload), the window's edge, and resends past it.
  const ages: Array<[string, number, boolean]> = [
    ['received before the event (clock skew)', -5 * 60_000, false],
    ['delivered at once', 2_000, false],
    ['redelivered by GitHub a day later', DAY, false],
    ['redelivered by GitHub at its 3-day limit', 3 * DAY, false],
    ['exactly the dedupe window later', W, false],
    ['a millisecond past the window', W + 1, true],
    ['resent a week later', 7 * DAY, true],
    ['resent a year later', 365 * DAY, true],
  ];

  it.each(cases.flatMap((c) => ages.map(([when, age, beyond]) => ({ ...c, when, age, beyond }))))(
    '$name $when: beyond = $beyond',
    ({ event, payload, age, beyond }) => {
      const eventTime = latestTime(event, payload);
      expect(eventTime).not.toBeNull();
      expect(isBeyondDedupeWindow(observe(event, payload), eventTime! + age, W)).toBe(beyond);
    },
  );

  it('follows the configured window', () => {
    const { event, payload } = cases[0]!;
    const at = latestTime(event, payload)!;
    expect(isBeyondDedupeWindow(observe(event, payload), at + 2 * HOUR, HOUR)).toBe(true);
    expect(isBeyondDedupeWindow(observe(event, payload), at + 2 * HOUR, 10 * DAY)).toBe(false);
  });

  it('cannot bound a completion that names no time, so it is beyond; anything else without a time is not', () => {
    for (const { event, payload } of cases) {
      const entity = payload[event] as Record<string, unknown>;
      for (const f of FIELDS[event]) entity[f] = null;
      const o = observe(event, payload);
      expect(eventTimeOf(o)).toBeNull();
      expect(isBeyondDedupeWindow(o, 0, W)).toBe(entity.status === 'completed');
    }
  });
});
