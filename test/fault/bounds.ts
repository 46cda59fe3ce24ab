// What a fault scenario may cost at most, and which scenarios a run selects. The bounds
// are set from the figures the suite measures on CI (docs/operations.md) with room for
// a slower machine: a run beyond one is the code's fault (a recovery that got slower, a
// partition that never moved again), not the machine's.

/** A scenario's recovery limits (ms). */
export interface RecoveryBounds {
  /** The longest any partition with input waiting went without committing, over the run. */
  longestStallMs: number;
  /** From the last accepted delivery and the last fault until both exporters were exact. */
  exactAfterMs: number;
  /** By marked fault (FaultContext.mark): until every partition was fresh again after it. */
  freshAgainMs?: Readonly<Record<string, number>>;
}

/** The figures a run measured (ScenarioResult's). */
export interface RecoveryFigures {
  exactAfterMs: number | undefined;
  longestStallMs: number;
  freshAgain: Readonly<Record<string, number | undefined>>;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Every figure beyond its bound, in words; empty when the run kept them all. */
export function boundViolations(figures: RecoveryFigures, bounds: RecoveryBounds): string[] {
  const out: string[] = [];
  if (figures.longestStallMs > bounds.longestStallMs) {
    out.push(`longest stall ${seconds(figures.longestStallMs)}, bound ${seconds(bounds.longestStallMs)}`);
  }
  if (figures.exactAfterMs === undefined) {
    out.push(`never exact (bound ${seconds(bounds.exactAfterMs)})`);
  } else if (figures.exactAfterMs > bounds.exactAfterMs) {
    out.push(
      `exact ${seconds(figures.exactAfterMs)} after the last fault, bound ${seconds(bounds.exactAfterMs)}`,
    );
  }
  const expected = bounds.freshAgainMs ?? {};
  for (const [label, bound] of Object.entries(expected)) {
    if (!(label in figures.freshAgain)) {
      out.push(`no figure for "${label}" (the scenario never marked it)`);
      continue;
    }
    const ms = figures.freshAgain[label];
    if (ms === undefined) out.push(`fresh again NEVER after ${label} (bound ${seconds(bound)})`);
    else if (ms > bound) out.push(`fresh again ${seconds(ms)} after ${label}, bound ${seconds(bound)}`);
  }
  for (const label of Object.keys(figures.freshAgain)) {
    if (!(label in expected)) out.push(`no bound for "${label}": give the mark one in the scenario`);
  }
  return out;
}

/**
 * The names RUNSTREAM_FAULT_SCENARIOS selects (a comma-separated list; unset or empty:
 * every one), or undefined for all; an unknown name is an error listing the known ones,
 * so a mistyped selection cannot run nothing and pass.
 */
export function selectedScenarios(value: string | undefined, known: readonly string[]): string[] | undefined {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) return undefined;
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new Error(
      `RUNSTREAM_FAULT_SCENARIOS: unknown scenario ${unknown.map((n) => `"${n}"`).join(', ')}; known: ${known.join(', ')}`,
    );
  }
  return names;
}
