import { describe, expect, it } from 'vitest';
import { freshnessGoals, goal, goalOf } from '../../../bench/goals.js';

describe('bench goals', () => {
  it('prints a goal beside its figure, met or MISSED', () => {
    expect(goal('restore_cold_records_per_s', 34_738, 'at least 100000 (median)', false)).toEqual({
      restore_cold_records_per_s: 34_738,
      restore_cold_records_per_s_goal: 'at least 100000 (median): MISSED',
    });
    expect(goalOf('ratio_to_raw_baseline', 'at least 0.75 (median)', true)).toEqual({
      ratio_to_raw_baseline_goal: 'at least 0.75 (median): met',
    });
  });

  it("judges freshness at 1,000/s and the processor's cost at 200/s against ingest's, for the cases that ran", () => {
    expect(
      freshnessGoals({
        fresh_processes_1000_p99_with_warmup_ms: 265,
        fresh_all_1000_p99_with_warmup_ms: 140,
        fresh_processes_200_cpu_processor_pct: 9,
        fresh_processes_200_cpu_ingest_pct: 12,
      }),
    ).toEqual({
      fresh_processes_1000_p99_with_warmup_ms_goal: 'under 150 (median): MISSED',
      fresh_all_1000_p99_with_warmup_ms_goal: 'under 150 (median): met',
      fresh_processes_200_cpu_processor_pct_goal: "below ingest's 12 (median): met",
    });
    expect(
      freshnessGoals({ fresh_processes_200_cpu_processor_pct: 15, fresh_processes_200_cpu_ingest_pct: 12 }),
    ).toEqual({
      fresh_processes_200_cpu_processor_pct_goal: "below ingest's 12 (median): MISSED",
    });
    expect(freshnessGoals({ rounds: 3 })).toEqual({});
  });
});
