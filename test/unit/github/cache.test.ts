// withCache against the fake: shared misses, TTL expiry, what is cached and what is
// not, invalidation by writes, not-founds and failures never cached, evictions, and
// the optional prom-client counters. Proved by counting requests at the server.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { withCache } from '../../../github/cache.js';
import { NotFoundError, RunnerNotFoundError } from '../../../github/errors.js';
import { serviceClient, startFake } from './setup.js';

const GROUPS = '/service/_apis/runtime/runnergroups/';
const AGENTS = '/service/_apis/distributedtask/pools/0/agents';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withCache', () => {
  it('shares concurrent misses, serves hits within the TTL, and expires', async () => {
    const fake = await startFake({ latencyMs: 10 });
    const cached = withCache(serviceClient(fake), { ttl: 150, max: 100 });
    const groups = await Promise.all(
      Array.from({ length: 20 }, () => cached.getRunnerGroupByName('Default')),
    );
    expect(groups.every((g) => g.id === 1)).toBe(true);
    expect(fake.count('GET', GROUPS)).toBe(1);
    expect(cached.stats()).toMatchObject({ misses: 1, hits: 19, size: 1 });

    await cached.getRunnerGroupByName('Default');
    expect(fake.count('GET', GROUPS)).toBe(1);
    await sleep(200);
    await cached.getRunnerGroupByName('Default');
    expect(fake.count('GET', GROUPS)).toBe(2);
    expect(cached.stats()).toMatchObject({ misses: 2, hits: 20, expirations: 1 });
  });

  it('caches scale sets by id and by group and name', async () => {
    const fake = await startFake();
    const cached = withCache(serviceClient(fake), { ttl: 60_000, max: 100 });
    for (let i = 0; i < 3; i++) {
      await cached.getRunnerScaleSetById(7);
      await cached.getRunnerScaleSet(1, 'scale-set-7');
    }
    expect(fake.count('GET', '/service/_apis/runtime/runnerscalesets/7')).toBe(1);
    expect(fake.count('GET', '/service/_apis/runtime/runnerscalesets?')).toBe(1);
  });

  it('caches runner info only when cacheRunnerInfo is on', async () => {
    const fake = await startFake();
    const client = serviceClient(fake);
    const { runner } = await client.generateJitRunnerConfig({ name: 'r' }, 7);
    const off = withCache(client, { ttl: 60_000, max: 100 });
    await off.getRunner(runner.id);
    await off.getRunner(runner.id);
    expect(fake.count('GET', `${AGENTS}/${runner.id}`)).toBe(2);
    const on = withCache(client, { ttl: 60_000, max: 100, cacheRunnerInfo: true });
    await on.getRunner(runner.id);
    await on.getRunner(runner.id);
    await on.getRunnerByName('r');
    await on.getRunnerByName('r');
    expect(fake.count('GET', `${AGENTS}/${runner.id}`)).toBe(3);
    expect(fake.count('GET', `${AGENTS}?agentName=r`)).toBe(1);
  });

  it("never caches a scale set's runner listing", async () => {
    const fake = await startFake();
    const client = serviceClient(fake);
    await client.generateJitRunnerConfig({ name: 'a' }, 7);
    const cached = withCache(client, { ttl: 60_000, max: 100, cacheRunnerInfo: true });
    expect((await cached.listRunners(7)).map((r) => r.name)).toEqual(['a']);
    await client.generateJitRunnerConfig({ name: 'b' }, 7);
    expect((await cached.listRunners(7)).map((r) => r.name)).toEqual(['a', 'b']);
    expect(await cached.listRunners(8)).toEqual([]);
    expect(fake.count('GET', `${AGENTS}?api-version`)).toBe(3);
  });

  it('leaves statistics fresh by default; when cached, a write on the scale set invalidates them', async () => {
    const fake = await startFake();
    const client = serviceClient(fake);
    const fresh = withCache(client, { ttl: 60_000, max: 100 });
    fake.statistics = { ...fake.statistics, totalAvailableJobs: 1 };
    expect((await fresh.getScaleSetStatistics(7)).totalAvailableJobs).toBe(1);
    fake.statistics = { ...fake.statistics, totalAvailableJobs: 2 };
    expect((await fresh.getScaleSetStatistics(7)).totalAvailableJobs).toBe(2);

    const cached = withCache(client, { ttl: 60_000, max: 100, cacheStatistics: true });
    expect((await cached.getScaleSetStatistics(7)).totalAvailableJobs).toBe(2);
    fake.statistics = { ...fake.statistics, totalAvailableJobs: 3 };
    expect((await cached.getScaleSetStatistics(7)).totalAvailableJobs).toBe(2);
    await cached.generateJitRunnerConfig({ name: 'new' }, 7);
    expect((await cached.getScaleSetStatistics(7)).totalAvailableJobs).toBe(3);
  });

  it('invalidates runner info after remove and generate', async () => {
    const fake = await startFake();
    const cached = withCache(serviceClient(fake), { ttl: 60_000, max: 100, cacheRunnerInfo: true });
    const first = await cached.generateJitRunnerConfig({ name: 'reused' }, 7);
    expect((await cached.getRunner(first.runner.id)).name).toBe('reused');
    expect((await cached.getRunnerByName('reused'))?.id).toBe(first.runner.id);
    await cached.removeRunner(first.runner.id);
    await expect(cached.getRunner(first.runner.id)).rejects.toBeInstanceOf(RunnerNotFoundError);
    expect(await cached.getRunnerByName('reused')).toBeNull();

    const second = await cached.generateJitRunnerConfig({ name: 'reused' }, 7);
    expect((await cached.getRunnerByName('reused'))?.id).toBe(second.runner.id);
    expect(fake.count('GET', `${AGENTS}?agentName=reused`)).toBe(3);
    expect(fake.count('GET', `${AGENTS}/${first.runner.id}`)).toBe(2);
  });

  it('forgets a name lookup when a generate fails (the runner may exist anyway)', async () => {
    const fake = await startFake();
    const cached = withCache(serviceClient(fake), { ttl: 60_000, max: 100, cacheRunnerInfo: true });
    const { runner } = await cached.generateJitRunnerConfig({ name: 'dup' }, 7);
    expect((await cached.getRunnerByName('dup'))?.id).toBe(runner.id);
    await expect(cached.generateJitRunnerConfig({ name: 'dup' }, 7)).rejects.toThrow(/AgentExistsException/);
    await cached.getRunnerByName('dup');
    expect(fake.count('GET', `${AGENTS}?agentName=dup`)).toBe(2);
  });

  it('never caches a not-found, and drops a failed request', async () => {
    const fake = await startFake();
    const cached = withCache(serviceClient(fake), { ttl: 60_000, max: 100, cacheRunnerInfo: true });
    await expect(cached.getRunnerGroupByName('missing')).rejects.toBeInstanceOf(NotFoundError);
    await expect(cached.getRunnerGroupByName('missing')).rejects.toBeInstanceOf(NotFoundError);
    expect(fake.count('GET', `${GROUPS}?groupName=missing`)).toBe(2);
    expect(await cached.getRunnerScaleSet(1, 'missing')).toBeNull();
    expect(await cached.getRunnerScaleSet(1, 'missing')).toBeNull();
    expect(fake.count('GET', '/service/_apis/runtime/runnerscalesets?')).toBe(2);
    expect(await cached.getRunnerByName('ghost')).toBeNull();
    expect(await cached.getRunnerByName('ghost')).toBeNull();
    await expect(cached.getRunner(4040)).rejects.toBeInstanceOf(RunnerNotFoundError);
    await expect(cached.getRunner(4040)).rejects.toBeInstanceOf(RunnerNotFoundError);
    expect(fake.count('GET', `${AGENTS}?agentName=ghost`)).toBe(2);
    expect(fake.count('GET', `${AGENTS}/4040`)).toBe(2);

    fake.inject(`${GROUPS}?groupName=Default`, { status: 400, body: { message: 'transient' } });
    await expect(cached.getRunnerGroupByName('Default')).rejects.toThrow(/transient/);
    expect((await cached.getRunnerGroupByName('Default')).id).toBe(1);
    await cached.getRunnerGroupByName('Default');
    expect(fake.count('GET', `${GROUPS}?groupName=Default`)).toBe(2);
    expect(cached.stats().size).toBe(1);
  });

  it('counts LRU evictions, and exports counters when given a registry', async () => {
    const fake = await startFake();
    for (const id of [8, 9, 10]) fake.addScaleSet({ id, name: `s${id}`, runnerGroupId: 1 });
    const registry = new Registry();
    const cached = withCache(serviceClient(fake), { ttl: 60_000, max: 2, registry });
    for (const id of [7, 8, 9, 10]) await cached.getRunnerScaleSetById(id);
    await cached.getRunnerScaleSetById(10);
    expect(cached.stats()).toMatchObject({ evictions: 2, misses: 4, hits: 1, size: 2 });
    const text = await registry.metrics();
    expect(text).toContain('runstream_github_cache_misses_total{kind="scale_set"} 4');
    expect(text).toContain('runstream_github_cache_hits_total{kind="scale_set"} 1');
    expect(text).toContain('runstream_github_cache_evictions_total{kind="scale_set"} 2');
    // A second cache on the same registry adds to the same series instead of failing.
    const second = withCache(serviceClient(fake), { ttl: 60_000, max: 2, registry });
    await second.getRunnerScaleSetById(7);
    expect(await registry.metrics()).toContain('runstream_github_cache_misses_total{kind="scale_set"} 5');
  });

  it('batches through the cache so name lookups after the batch are fresh', async () => {
    const fake = await startFake();
    const cached = withCache(serviceClient(fake), { ttl: 60_000, max: 100, cacheRunnerInfo: true });
    const result = await cached.batchGenerateJitConfigs(5, { namePrefix: 'b' }, 7, {
      nameFor: (i) => `b-${i}`,
    });
    expect(result.succeeded).toBe(5);
    expect((await cached.getRunnerByName('b-3'))?.name).toBe('b-3');
  });
});
