// Goals printed beside the figures they judge: "<figure>_goal" says the goal and whether
// the run met it ("met" or "MISSED"), so a table says at a glance what a run achieved.
import type { Figures } from './types.js';

export function goalOf(figure: string, text: string, met: boolean): Figures {
  return { [`${figure}_goal`]: `${text}: ${met ? 'met' : 'MISSED'}` };
}

/** A figure and its goal, beside it in the table. */
export function goal(figure: string, value: number, text: string, met: boolean): Figures {
  return { [figure]: value, ...goalOf(figure, text, met) };
}

/**
 * Issue 26's goals beside the figures they judge, for the cases that ran: the freshness
 * p99 including warm-up under 150 ms at 1,000/s, and a processor that costs less than
 * ingest at 200/s (each role's share of a core, as deployed).
 */
export function freshnessGoals(figures: Figures): Figures {
  const goals: Figures = {};
  for (const shape of ['processes', 'all']) {
    const p99 = figures[`fresh_${shape}_1000_p99_with_warmup_ms`];
    if (typeof p99 === 'number') {
      Object.assign(goals, goalOf(`fresh_${shape}_1000_p99_with_warmup_ms`, 'under 150 (median)', p99 < 150));
    }
  }
  const processor = figures.fresh_processes_200_cpu_processor_pct;
  const ingest = figures.fresh_processes_200_cpu_ingest_pct;
  if (typeof processor === 'number' && typeof ingest === 'number') {
    Object.assign(
      goals,
      goalOf(
        'fresh_processes_200_cpu_processor_pct',
        `below ingest's ${ingest} (median)`,
        processor < ingest,
      ),
    );
  }
  return goals;
}
