// The suite's verdicts on recovery figures and on the scenario selection, without a cluster.
import { describe, expect, it } from 'vitest';
import { boundViolations, type RecoveryBounds, selectedScenarios } from './bounds.js';

const bounds: RecoveryBounds = {
  longestStallMs: 10_000,
  exactAfterMs: 30_000,
  freshAgainMs: { 'a processor SIGKILLed': 5000, 'a processor stopped (SIGTERM)': 1000 },
};
const within = {
  longestStallMs: 4200,
  exactAfterMs: 3100,
  freshAgain: { 'a processor SIGKILLed': 4400, 'a processor stopped (SIGTERM)': 900 },
};

describe('boundViolations', () => {
  it('passes figures within every bound, equal to a bound included', () => {
    expect(boundViolations(within, bounds)).toEqual([]);
    expect(
      boundViolations(
        {
          ...within,
          longestStallMs: 10_000,
          freshAgain: { ...within.freshAgain, 'a processor SIGKILLed': 5000 },
        },
        bounds,
      ),
    ).toEqual([]);
  });

  it('names each figure beyond its bound', () => {
    expect(
      boundViolations(
        {
          longestStallMs: 10_001,
          exactAfterMs: 45_000,
          freshAgain: { 'a processor SIGKILLed': 7700, 'a processor stopped (SIGTERM)': 1800 },
        },
        bounds,
      ),
    ).toEqual([
      'longest stall 10.0 s, bound 10.0 s',
      'exact 45.0 s after the last fault, bound 30.0 s',
      'fresh again 7.7 s after a processor SIGKILLed, bound 5.0 s',
      'fresh again 1.8 s after a processor stopped (SIGTERM), bound 1.0 s',
    ]);
  });

  it('fails a run that was never exact or never fresh again', () => {
    expect(
      boundViolations(
        {
          ...within,
          exactAfterMs: undefined,
          freshAgain: { ...within.freshAgain, 'a processor SIGKILLed': undefined },
        },
        bounds,
      ),
    ).toEqual(['never exact (bound 30.0 s)', 'fresh again NEVER after a processor SIGKILLed (bound 5.0 s)']);
  });

  it('fails a bound whose fault was never marked, and a mark without a bound', () => {
    expect(
      boundViolations(
        { ...within, freshAgain: { 'a processor SIGKILLed': 4400, 'a broker lost': 2000 } },
        bounds,
      ),
    ).toEqual([
      'no figure for "a processor stopped (SIGTERM)" (the scenario never marked it)',
      'no bound for "a broker lost": give the mark one in the scenario',
    ]);
  });
});

describe('selectedScenarios', () => {
  const known = ['ingest-quorum', 'no-faults', 'failover'];

  it('selects all when unset or empty, else the names given', () => {
    expect(selectedScenarios(undefined, known)).toBeUndefined();
    expect(selectedScenarios(' , ', known)).toBeUndefined();
    expect(selectedScenarios('failover, no-faults', known)).toEqual(['failover', 'no-faults']);
  });

  it('refuses an unknown name, listing the known ones', () => {
    expect(() => selectedScenarios('failover,fail-over', known)).toThrow(
      'RUNSTREAM_FAULT_SCENARIOS: unknown scenario "fail-over"; known: ingest-quorum, no-faults, failover',
    );
  });
});
