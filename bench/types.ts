// What a benchmark is to bench/run.ts: a name and a function from the shared context
// (a real broker, a logger) to its figures. Figures are flat so they print as one
// Markdown table and diff cleanly in bench/results/latest.json.
import type { Logger } from '../platform/log.js';

export interface BenchContext {
  /** Bootstrap list of the broker the run owns (or KAFKA_BROKERS when given). */
  brokers: string[];
  logger: Logger;
}

export type Figures = Record<string, number | string>;

export interface Benchmark {
  name: string;
  run: (ctx: BenchContext) => Promise<Figures>;
}
