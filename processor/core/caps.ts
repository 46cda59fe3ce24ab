// Caps on the label sets a partition serves (docs/metrics.md, "Caps"): the pure part.
//
// Payloads choose repository, workflow, runner group and runs-on labels without limit,
// so each processor partition admits at most a configured number of distinct label sets
// per entity kind (run: repository and workflow; job: those and runner group and labels,
// as served: pooled and truncated; flaky: repository, workflow and job name, decided when
// github_actions_jobs_flaky_total first counts one, core/reruns.ts); an entity whose
// label set is refused shows all of them as `(other)` in every series it touches. Why
// this is exact:
//
// - An entity's decision is made once, when its label set enters it (a new entity, or a
//   value filling in, such as a job's runner group when it starts), and stored in its
//   state (`overflow`). Every series it enters or leaves, gauges and the queued-jobs index
//   included, is built from the state with its flag, so a gauge decrement hits exactly
//   the series its increment hit, whatever happened to the cap in between.
// - The admitted sets only grow (admission records are never deleted, not even when the
//   gauge series that made them go), so a label set's answer never changes once given:
//   admitted stays admitted, and once the cap is full it is full for good. Deciding the
//   same label set again (a completion event whose values differ from the state's) gives
//   the same answer, and the first `cap` distinct label sets in partition order are the
//   admitted ones, however the records were chunked into transactions.
// - The records are written in the same transaction as the states and aggregates they
//   decide, restored with them, and read through the same pending-then-store reader, so a
//   processor restored from the changelogs decides exactly as the one that crashed.
// - Overflow only relabels: every delta still lands in exactly one series of its family,
//   so each family's totals are those of the uncapped stream.
import type { AdmissionKind } from '../../schemas/changelog.js';
import { type MetricCatalogue, OVERFLOW_VALUE } from '../../schemas/metrics.js';
import type { JobState, Labels, RunState } from '../../schemas/model.js';

/** The labels a payload chooses, per entity kind: what a cap bounds. */
export const CAPPED_LABELS: Readonly<Record<AdmissionKind, readonly string[]>> = {
  run: ['repository', 'workflow'],
  job: ['repository', 'workflow', 'runner_group', 'labels'],
  flaky: ['repository', 'workflow', 'job_name'],
};

const OVERFLOWED: Readonly<Record<AdmissionKind, Labels>> = {
  run: Object.fromEntries(CAPPED_LABELS.run.map((label) => [label, OVERFLOW_VALUE])),
  job: Object.fromEntries(CAPPED_LABELS.job.map((label) => [label, OVERFLOW_VALUE])),
  flaky: Object.fromEntries(CAPPED_LABELS.flaky.map((label) => [label, OVERFLOW_VALUE])),
};

/** A run's capped label values (raw). */
export const runCappedValues = (run: Pick<RunState, 'repository' | 'workflow'>): Labels => ({
  repository: run.repository,
  workflow: run.workflow,
});

/** A job's capped label values (raw). */
export const jobCappedValues = (
  job: Pick<JobState, 'repository' | 'workflow' | 'runnerGroup' | 'labels'>,
): Labels => ({
  repository: job.repository,
  workflow: job.workflow,
  runner_group: job.runnerGroup,
  labels: job.labels,
});

/** The key of a label set: its capped values as they would be served. */
export function labelSetKey(kind: AdmissionKind, values: Labels, catalogue: MetricCatalogue): string {
  return JSON.stringify(
    CAPPED_LABELS[kind].map((label) => catalogue.servedValue(label, values[label] ?? '')),
  );
}

/**
 * What becomes of a label set: `admitted` before, `admit` now (there is room: it becomes
 * the count+1-th), or `overflow` (not admitted and the cap is full, which it stays).
 */
export function decideAdmission(
  admitted: boolean,
  count: number,
  cap: number,
): 'admitted' | 'admit' | 'overflow' {
  if (admitted) return 'admitted';
  return count < cap ? 'admit' : 'overflow';
}

/** Series labels with every capped label of the kind as `(other)` when the set overflowed. */
export function withOverflow(kind: AdmissionKind, labels: Labels, overflow: boolean | undefined): Labels {
  return overflow ? { ...labels, ...OVERFLOWED[kind] } : labels;
}
