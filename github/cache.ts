// withCache: an LRU with a TTL per entry in front of the Actions service. It stores
// promises, so concurrent misses share one request; a rejected promise is dropped,
// and a not-found (null, or a NotFoundError) is never remembered: the thing may appear
// any moment. Writes invalidate what they change.
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type {
  ActionsService,
  JitRunnerConfig,
  JitSettings,
  RunnerGroup,
  RunnerReference,
  RunnerScaleSet,
  ScaleSetStatistics,
} from './actions-service.js';
import {
  batchGenerateJitConfigs,
  type JitBatchOptions,
  type JitBatchResult,
  type JitBatchSettings,
} from './jit-batch.js';

export interface CacheOptions {
  /** Lifetime of every entry, ms, counted from when its answer arrived. */
  ttl: number;
  /** Entries kept at most; the least recently used goes first. */
  max: number;
  /** Cache getRunner/getRunnerByName (default off). */
  cacheRunnerInfo?: boolean;
  /** Cache getScaleSetStatistics (default off: scaling decisions need fresh numbers). */
  cacheStatistics?: boolean;
  /** When given, hits, misses and evictions are also counted here (by kind). */
  registry?: Registry;
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries pushed out by the `max` bound. */
  evictions: number;
  /** Entries found past their TTL. */
  expirations: number;
  /** Entries held now. */
  size: number;
}

export type CacheKind = 'scale_set' | 'runner_group' | 'runner' | 'statistics';

/** Cache keys; JSON-quoted parts so a name containing the separator cannot collide. */
export const cacheKeys = {
  scaleSetByName: (runnerGroupId: number, name: string) =>
    `scale_set:name:${JSON.stringify([runnerGroupId, name])}`,
  scaleSetById: (id: number) => `scale_set:id:${id}`,
  runnerGroup: (name: string) => `runner_group:${JSON.stringify(name)}`,
  runner: (id: number) => `runner:id:${id}`,
  runnerByName: (name: string) => `runner:name:${JSON.stringify(name)}`,
  statistics: (scaleSetId: number) => `statistics:${scaleSetId}`,
} as const;

export function kindOf(key: string): CacheKind {
  return key.slice(0, key.indexOf(':')) as CacheKind;
}

interface PromCounters {
  hits: Counter<'kind'>;
  misses: Counter<'kind'>;
  evictions: Counter<'kind'>;
}

function counter(registry: Registry, name: string, help: string): Counter<'kind'> {
  // Two caches on one registry share the series (distinguished by kind only).
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<'kind'>;
  return new Counter({ name, help, labelNames: ['kind'], registers: [registry] });
}

export class CachedActionsService implements ActionsService {
  private readonly cache: LRUCache<string, Promise<unknown>>;
  private readonly counts = { hits: 0, misses: 0, evictions: 0, expirations: 0 };
  private readonly prom: PromCounters | undefined;

  constructor(
    private readonly inner: ActionsService,
    private readonly options: CacheOptions,
  ) {
    if (!(options.ttl > 0) || !(options.max >= 1)) {
      throw new RangeError(
        `withCache: ttl and max must be positive, got ttl=${options.ttl} max=${options.max}`,
      );
    }
    this.cache = new LRUCache<string, Promise<unknown>>({
      max: options.max,
      ttl: options.ttl,
      dispose: (_value, key, reason) => {
        if (reason === 'evict') {
          this.counts.evictions += 1;
          this.prom?.evictions.inc({ kind: kindOf(key) });
        } else if (reason === 'expire') this.counts.expirations += 1;
      },
    });
    const { registry } = options;
    this.prom = registry && {
      hits: counter(registry, 'runstream_github_cache_hits_total', 'GitHub API cache hits'),
      misses: counter(registry, 'runstream_github_cache_misses_total', 'GitHub API cache misses'),
      evictions: counter(
        registry,
        'runstream_github_cache_evictions_total',
        'GitHub API cache LRU evictions',
      ),
    };
  }

  /** Hit, miss and eviction counts since creation, and the current size. */
  stats(): CacheStats {
    return { ...this.counts, size: this.cache.size };
  }

  /** Forgets everything (e.g. after the caller changed things behind the cache's back). */
  clear(): void {
    this.cache.clear();
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const kind = kindOf(key);
    const hit = this.cache.get(key) as Promise<T> | undefined;
    if (hit) {
      this.counts.hits += 1;
      this.prom?.hits.inc({ kind });
      return hit;
    }
    this.counts.misses += 1;
    this.prom?.misses.inc({ kind });
    const pending: Promise<T> = load().then(
      (value) => {
        // Only this promise is touched, never a newer one that replaced it.
        if (this.cache.peek(key) === pending) {
          // A not-found (null) is not remembered; an answer lives `ttl` from its arrival.
          if (value === null) this.cache.delete(key);
          else this.cache.set(key, pending);
        }
        return value;
      },
      (error: unknown) => {
        if (this.cache.peek(key) === pending) this.cache.delete(key);
        throw error;
      },
    );
    // ttl 0: a request in flight never expires, so a slow one is still shared by every caller.
    this.cache.set(key, pending, { ttl: 0 });
    return pending;
  }

  private invalidate(...keys: string[]): void {
    for (const key of keys) this.cache.delete(key);
  }

  private invalidateWhere(prefix: string): void {
    for (const key of [...this.cache.keys()]) if (key.startsWith(prefix)) this.cache.delete(key);
  }

  getRunnerScaleSet(runnerGroupId: number, name: string): Promise<RunnerScaleSet | null> {
    return this.cached(cacheKeys.scaleSetByName(runnerGroupId, name), () =>
      this.inner.getRunnerScaleSet(runnerGroupId, name),
    );
  }

  getRunnerScaleSetById(id: number): Promise<RunnerScaleSet> {
    return this.cached(cacheKeys.scaleSetById(id), () => this.inner.getRunnerScaleSetById(id));
  }

  getRunnerGroupByName(name: string): Promise<RunnerGroup> {
    return this.cached(cacheKeys.runnerGroup(name), () => this.inner.getRunnerGroupByName(name));
  }

  async generateJitRunnerConfig(
    settings: JitSettings,
    scaleSetId: number,
    signal?: AbortSignal,
  ): Promise<JitRunnerConfig> {
    try {
      return await this.inner.generateJitRunnerConfig(settings, scaleSetId, signal);
    } finally {
      // Even a failed POST may have created the runner (a lost response), so both go.
      this.invalidate(cacheKeys.runnerByName(settings.name), cacheKeys.statistics(scaleSetId));
    }
  }

  getRunner(id: number): Promise<RunnerReference> {
    if (!this.options.cacheRunnerInfo) return this.inner.getRunner(id);
    return this.cached(cacheKeys.runner(id), () => this.inner.getRunner(id));
  }

  getRunnerByName(name: string): Promise<RunnerReference | null> {
    if (!this.options.cacheRunnerInfo) return this.inner.getRunnerByName(name);
    return this.cached(cacheKeys.runnerByName(name), () => this.inner.getRunnerByName(name));
  }

  /** Never cached: a listing is asked for to see the runners as they are now. */
  listRunners(scaleSetId: number): Promise<RunnerReference[]> {
    return this.inner.listRunners(scaleSetId);
  }

  async removeRunner(id: number): Promise<void> {
    const known = this.cache.peek(cacheKeys.runner(id)) as Promise<RunnerReference> | undefined;
    try {
      await this.inner.removeRunner(id);
    } finally {
      this.invalidate(cacheKeys.runner(id));
      const runner = await known?.catch(() => undefined);
      if (runner) {
        this.invalidate(cacheKeys.runnerByName(runner.name), cacheKeys.statistics(runner.runnerScaleSetId));
      } else {
        // Its name and scale set are unknown: drop every name lookup and statistic rather than serve a ghost.
        this.invalidateWhere('runner:name:');
        this.invalidateWhere('statistics:');
      }
    }
  }

  getScaleSetStatistics(scaleSetId: number): Promise<ScaleSetStatistics> {
    if (!this.options.cacheStatistics) return this.inner.getScaleSetStatistics(scaleSetId);
    return this.cached(cacheKeys.statistics(scaleSetId), () => this.inner.getScaleSetStatistics(scaleSetId));
  }

  /** {@link batchGenerateJitConfigs} through this cache (so its writes invalidate). */
  batchGenerateJitConfigs(
    count: number,
    settings: JitBatchSettings,
    scaleSetId: number,
    options?: JitBatchOptions,
  ): Promise<JitBatchResult> {
    return batchGenerateJitConfigs(this, count, settings, scaleSetId, options);
  }
}

/**
 * Wraps an Actions service with an LRU/TTL cache of promises.
 *
 * @example
 * const service = withCache(new ActionsServiceClient({ http, auth, apiUrl, githubConfigUrl }), {
 *   ttl: 60_000, max: 1_000, cacheRunnerInfo: true,
 * });
 * service.stats(); // { hits, misses, evictions, expirations, size }
 */
export function withCache(service: ActionsService, options: CacheOptions): CachedActionsService {
  return new CachedActionsService(service, options);
}
