// Many just-in-time runner configs at once. The service has no batch endpoint (one
// runner per POST), so the batch is N POSTs in flight under a bound, each with a
// unique runner name, and a result that reports every item. Rate limits pause the
// whole batch because every POST goes through one HttpClient, whose pause holds back
// every request that has not started yet.
import { randomBytes } from 'node:crypto';
import type { ActionsService, JitRunnerConfig } from './actions-service.js';
import { RunnerExistsError, RunnerNotFoundError } from './errors.js';
import { MAX_CONCURRENCY } from './http.js';

export interface JitBatchSettings {
  /** Runner names are `<namePrefix>-<batch id>-<index>` unless `nameFor` is given. */
  namePrefix: string;
  workFolder?: string;
}

export interface JitBatchOptions {
  /** POSTs in flight at once, 1..100 (default 10); the HTTP client's own bound applies too. */
  concurrency?: number;
  /** Aborting stops new POSTs; items not finished are reported as cancelled. */
  signal?: AbortSignal;
  /** Unique runner name per item; must not repeat within the batch. */
  nameFor?: (index: number) => string;
}

export type JitItemResult =
  | {
      index: number;
      name: string;
      status: 'ok';
      config: JitRunnerConfig;
      /** True when a runner-exists answer was recovered (the runner was removed and made again). */
      recovered: boolean;
    }
  | { index: number; name: string; status: 'failed'; error: Error }
  | {
      index: number;
      name: string;
      status: 'cancelled';
      /**
       * True when the POST had been sent: the service may have created the runner, so a
       * caller that must not leak runners looks it up by name.
       */
      started: boolean;
      reason: unknown;
    };

export interface JitBatchResult {
  /** One entry per requested item, in index order. */
  items: JitItemResult[];
  succeeded: number;
  failed: number;
  cancelled: number;
  recovered: number;
}

/** What happened to one item that was started. */
export type ItemOutcome =
  | { kind: 'ok'; config: JitRunnerConfig; recovered: boolean }
  | { kind: 'failed'; error: Error }
  | { kind: 'cancelled'; reason: unknown };

/** The default runner name of item `index`. */
export function runnerName(prefix: string, batchId: string, index: number): string {
  return `${prefix}-${batchId}-${index}`;
}

/** Names for `count` items; throws when `nameFor` repeats one (two POSTs would race for it). */
export function batchNames(count: number, nameFor: (index: number) => string): string[] {
  const names = Array.from({ length: count }, (_, i) => nameFor(i));
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new RangeError(`runner name ${JSON.stringify(name)} repeats within the batch`);
    seen.add(name);
  }
  return names;
}

/**
 * The batch result from the outcomes of the items that started; an item with no
 * outcome never started (the batch was cancelled first) and is reported as cancelled.
 */
export function assembleBatchResult(
  names: readonly string[],
  outcomes: ReadonlyMap<number, ItemOutcome>,
  cancelReason?: unknown,
): JitBatchResult {
  const result: JitBatchResult = { items: [], succeeded: 0, failed: 0, cancelled: 0, recovered: 0 };
  names.forEach((name, index) => {
    const outcome = outcomes.get(index);
    if (!outcome) {
      result.items.push({ index, name, status: 'cancelled', started: false, reason: cancelReason });
      result.cancelled += 1;
    } else if (outcome.kind === 'ok') {
      result.items.push({ index, name, status: 'ok', config: outcome.config, recovered: outcome.recovered });
      result.succeeded += 1;
      if (outcome.recovered) result.recovered += 1;
    } else if (outcome.kind === 'failed') {
      result.items.push({ index, name, status: 'failed', error: outcome.error });
      result.failed += 1;
    } else {
      result.items.push({ index, name, status: 'cancelled', started: true, reason: outcome.reason });
      result.cancelled += 1;
    }
  });
  return result;
}

/**
 * One JIT config. A runner-exists answer means an earlier attempt of this POST (a
 * retry after a lost response) created the runner: look it up by name, remove it when
 * it belongs to this scale set, and generate again. A runner of another scale set
 * with that name is left alone and the error stands.
 */
export async function generateRecovering(
  service: ActionsService,
  name: string,
  workFolder: string | undefined,
  scaleSetId: number,
  signal?: AbortSignal,
): Promise<{ config: JitRunnerConfig; recovered: boolean }> {
  try {
    return {
      config: await service.generateJitRunnerConfig({ name, workFolder }, scaleSetId, signal),
      recovered: false,
    };
  } catch (error) {
    if (!(error instanceof RunnerExistsError)) throw error;
    const existing = await service.getRunnerByName(name);
    if (existing && existing.runnerScaleSetId !== scaleSetId) throw error;
    if (existing) {
      await service.removeRunner(existing.id).catch((removeError: unknown) => {
        // Gone already (someone else removed it): the goal is reached.
        if (!(removeError instanceof RunnerNotFoundError)) throw removeError;
      });
    }
    signal?.throwIfAborted();
    return {
      config: await service.generateJitRunnerConfig({ name, workFolder }, scaleSetId, signal),
      recovered: true,
    };
  }
}

/**
 * Generates `count` JIT runner configs for scale set `scaleSetId` with up to
 * `options.concurrency` POSTs in flight. Every item is reported (successes, per-item
 * errors, cancellations), never all-or-nothing; `failed > 0` is for the caller to
 * judge. A 429 or Retry-After pauses the whole batch (no POST starts until it ends).
 *
 * @example
 * const result = await client.batchGenerateJitConfigs(20, { namePrefix: 'linux-x64' }, scaleSet.id);
 * for (const item of result.items) if (item.status === 'ok') start(item.config.encodedJITConfig);
 */
export async function batchGenerateJitConfigs(
  service: ActionsService,
  count: number,
  settings: JitBatchSettings,
  scaleSetId: number,
  options: JitBatchOptions = {},
): Promise<JitBatchResult> {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be >= 0, got ${count}`);
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new RangeError(`concurrency must be an integer in 1..${MAX_CONCURRENCY}, got ${concurrency}`);
  }
  // Random per batch, so two batches (or two replicas) never pick the same names.
  const batchId = randomBytes(4).toString('hex');
  const names = batchNames(count, options.nameFor ?? ((i) => runnerName(settings.namePrefix, batchId, i)));
  const { signal } = options;
  const outcomes = new Map<number, ItemOutcome>();
  let next = 0;
  const worker = async () => {
    while (next < count && !signal?.aborted) {
      const index = next++;
      const name = names[index] as string;
      try {
        const made = await generateRecovering(service, name, settings.workFolder, scaleSetId, signal);
        outcomes.set(index, { kind: 'ok', ...made });
      } catch (error) {
        outcomes.set(
          index,
          signal?.aborted
            ? { kind: 'cancelled', reason: signal.reason }
            : { kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) },
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, concurrency) }, worker));
  return assembleBatchResult(names, outcomes, signal?.reason);
}
