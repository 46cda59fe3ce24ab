// withCache: an LRU with a TTL per entry in front of the Actions service. It stores
// promises, so concurrent misses share one request; a failed request is dropped, and
// a not-found is never cached. Writes invalidate what they change.
import { LRUCache } from 'lru-cache';
import type {
  ActionsService,
  JitRunnerConfig,
  JitSettings,
  RunnerGroup,
  RunnerReference,
  RunnerScaleSet,
  ScaleSetStatistics,
} from './actions-service.js';

export interface CacheOptions {
  ttl: number;
  max: number;
  /** Runners rarely change between calls in a scale-up burst; on by choice. */
  cacheRunnerInfo?: boolean;
  /** Off by default: scaling decisions need fresh numbers. */
  cacheStatistics?: boolean;
}

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
}

export class CachedActionsService implements ActionsService {
  private readonly cache: LRUCache<string, Promise<unknown>>;
  readonly stats: CacheStats = { hits: 0, misses: 0, evictions: 0 };

  constructor(
    private readonly inner: ActionsService,
    private readonly options: CacheOptions,
  ) {
    this.cache = new LRUCache<string, Promise<unknown>>({
      max: options.max,
      ttl: options.ttl,
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.stats.evictions += 1;
      },
    });
  }

  private cached<T>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const hit = this.cache.get(key) as Promise<T | null> | undefined;
    if (hit) {
      this.stats.hits += 1;
      return hit;
    }
    this.stats.misses += 1;
    const pending = load().then(
      (value) => {
        // Not-found answers are not remembered: the thing may appear any moment.
        if (value === null && this.cache.get(key) === pending) this.cache.delete(key);
        return value;
      },
      (error: unknown) => {
        if (this.cache.get(key) === pending) this.cache.delete(key);
        throw error;
      },
    );
    this.cache.set(key, pending);
    return pending;
  }

  private async required<T>(key: string, load: () => Promise<T>): Promise<T> {
    return (await this.cached<T>(key, load)) as T;
  }

  getRunnerScaleSet(runnerGroupId: number, name: string): Promise<RunnerScaleSet | null> {
    return this.cached(`scaleset:${runnerGroupId}:${name}`, () =>
      this.inner.getRunnerScaleSet(runnerGroupId, name),
    );
  }

  getRunnerScaleSetById(id: number): Promise<RunnerScaleSet> {
    return this.required(`scaleset:${id}`, () => this.inner.getRunnerScaleSetById(id));
  }

  getRunnerGroupByName(name: string): Promise<RunnerGroup> {
    return this.required(`group:${name}`, () => this.inner.getRunnerGroupByName(name));
  }

  async generateJitRunnerConfig(
    settings: JitSettings,
    scaleSetId: number,
    signal?: AbortSignal,
  ): Promise<JitRunnerConfig> {
    const config = await this.inner.generateJitRunnerConfig(settings, scaleSetId, signal);
    this.cache.delete(`runner-name:${settings.name}`);
    this.cache.delete(`stats:${scaleSetId}`);
    return config;
  }

  getRunner(id: number): Promise<RunnerReference> {
    if (!this.options.cacheRunnerInfo) return this.inner.getRunner(id);
    return this.required(`runner:${id}`, () => this.inner.getRunner(id));
  }

  getRunnerByName(name: string): Promise<RunnerReference | null> {
    if (!this.options.cacheRunnerInfo) return this.inner.getRunnerByName(name);
    return this.cached(`runner-name:${name}`, () => this.inner.getRunnerByName(name));
  }

  async removeRunner(id: number): Promise<void> {
    await this.inner.removeRunner(id);
    const known = this.cache.get(`runner:${id}`) as Promise<RunnerReference> | undefined;
    this.cache.delete(`runner:${id}`);
    const runner = await known?.catch(() => undefined);
    if (runner) {
      this.cache.delete(`runner-name:${runner.name}`);
      this.cache.delete(`stats:${runner.runnerScaleSetId}`);
    } else {
      // Which name it had is unknown: drop every name lookup rather than serve a ghost.
      for (const key of [...this.cache.keys()]) if (key.startsWith('runner-name:')) this.cache.delete(key);
    }
  }

  getScaleSetStatistics(scaleSetId: number): Promise<ScaleSetStatistics> {
    if (!this.options.cacheStatistics) return this.inner.getScaleSetStatistics(scaleSetId);
    return this.required(`stats:${scaleSetId}`, () => this.inner.getScaleSetStatistics(scaleSetId));
  }
}

export function withCache(service: ActionsService, options: CacheOptions): CachedActionsService {
  return new CachedActionsService(service, options);
}
