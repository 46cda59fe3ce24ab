// The demo's stream made hostile, as a fork pull request could make it: workflow names
// and runs-on labels with quotes, backslashes, newlines, unicode and 10 kB names, and as
// many distinct ones as asked. The truth beside it is renamed the same way, so oracles
// (test/support/oracle.ts) stay independent of the core.
import {
  type AttemptTruth,
  type GeneratedDelivery,
  generateScenario,
  type StreamOptions,
} from '../../demo/stream.js';

const NASTY = [
  'say "hi"',
  'back\\slash\\n',
  'new\nline',
  'ünïcödé 😀 名前',
  'carriage\rreturn\u2028',
  `${'x'.repeat(10_000)}`,
  'a,b',
  '',
];

export interface HostileOptions extends StreamOptions {
  /** Distinct workflow names (by run id) and runs-on label sets (by job id). */
  variety: number;
}

export const hostileWorkflow = (runId: number, variety: number): string =>
  `${NASTY[runId % NASTY.length]}#${runId % variety}`;

export const hostileLabels = (jobId: number, variety: number): string[] => [
  `lab-${jobId % variety}`,
  NASTY[(jobId >> 1) % NASTY.length]!,
];

type Json = Record<string, unknown>;

export function hostileScenario(options: HostileOptions): {
  deliveries: GeneratedDelivery[];
  truth: AttemptTruth[];
} {
  const { deliveries, truth } = generateScenario(options);
  const { variety } = options;
  return {
    deliveries: deliveries.map((d) => {
      if (d.event === 'workflow_run') {
        const run = d.payload.workflow_run as Json & { id: number };
        return {
          ...d,
          payload: { ...d.payload, workflow_run: { ...run, name: hostileWorkflow(run.id, variety) } },
        };
      }
      const job = d.payload.workflow_job as Json & { id: number; run_id: number };
      return {
        ...d,
        payload: {
          ...d.payload,
          workflow_job: {
            ...job,
            workflow_name: hostileWorkflow(job.run_id, variety),
            labels: hostileLabels(job.id, variety),
          },
        },
      };
    }),
    truth: truth.map((attempt) => ({
      ...attempt,
      workflow: hostileWorkflow(attempt.runId, variety),
      jobs: attempt.jobs.map((job) => ({ ...job, labels: hostileLabels(job.jobId, variety) })),
    })),
  };
}
