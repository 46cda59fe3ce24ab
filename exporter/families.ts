// The metric families of DESIGN.md "Metrics": names, types and help texts, in the
// order the exporter serves them.
export interface FamilySpec {
  name: string;
  type: 'gauge' | 'counter' | 'histogram';
  help: string;
}

export const FAMILIES = {
  runs: {
    name: 'github_actions_workflow_runs',
    type: 'gauge',
    help: 'Workflow runs by non-terminal status',
  },
  jobs: {
    name: 'github_actions_jobs',
    type: 'gauge',
    help: 'Jobs queued, waiting or in progress',
  },
  oldestQueued: {
    name: 'github_actions_job_oldest_queued_timestamp_seconds',
    type: 'gauge',
    help: 'Creation time (Unix seconds) of the oldest job queued now, per runner group and labels',
  },
  runsCompleted: {
    name: 'github_actions_workflow_runs_completed_total',
    type: 'counter',
    help: 'Workflow run attempts completed, by conclusion',
  },
  jobsCompleted: {
    name: 'github_actions_jobs_completed_total',
    type: 'counter',
    help: 'Jobs completed, by conclusion',
  },
  queueDuration: {
    name: 'github_actions_job_queue_duration_seconds',
    type: 'histogram',
    help: 'Time from job creation to a runner starting it',
  },
  jobDuration: {
    name: 'github_actions_job_duration_seconds',
    type: 'histogram',
    help: 'Time from job start to completion',
  },
  runDuration: {
    name: 'github_actions_workflow_run_duration_seconds',
    type: 'histogram',
    help: 'Time from run attempt start to completion',
  },
} as const satisfies Record<string, FamilySpec>;

export const AGGREGATE_FAMILIES: readonly FamilySpec[] = [
  FAMILIES.runsCompleted,
  FAMILIES.jobsCompleted,
  FAMILIES.queueDuration,
  FAMILIES.jobDuration,
  FAMILIES.runDuration,
];
