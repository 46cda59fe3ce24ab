// The GitHub clients against a fake GitHub on loopback; behaviour is proved by
// counting the requests the fake server saw.
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ActionsServiceClient, batchGenerateJitConfigs } from '../../../github/actions-service.js';
import { appJwt, TokenAuth } from '../../../github/auth.js';
import { withCache } from '../../../github/cache.js';
import { NotFoundError, RunnerExistsError } from '../../../github/errors.js';
import { HttpClient } from '../../../github/http.js';
import { decideRetry, nextLink } from '../../../github/policy.js';
import { GitHubRestClient } from '../../../github/rest.js';
import { FakeGitHub } from '../../support/fake-github.js';

const fakes: FakeGitHub[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.stop();
});

async function fake(options: ConstructorParameters<typeof FakeGitHub>[0] = {}): Promise<FakeGitHub> {
  const f = await new FakeGitHub(options).start();
  fakes.push(f);
  return f;
}

function service(f: FakeGitHub, concurrency = 10) {
  const http = new HttpClient({ concurrency, retry: { baseDelayMs: 10, secondaryMinimumMs: 50 } });
  return new ActionsServiceClient({
    http,
    auth: new TokenAuth('t0ken'),
    apiUrl: f.url,
    githubConfigUrl: 'https://github.com/octo-org',
  });
}

describe('Actions service client', () => {
  it('shares one admin-token handshake among 50 concurrent callers', async () => {
    const f = await fake({ latencyMs: 20 });
    const client = service(f);
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.getRunnerScaleSetById(i + 1)));
    expect(f.count('POST', '/orgs/octo-org/actions/runners/registration-token')).toBe(1);
    expect(f.count('POST', '/actions/runner-registration')).toBe(1);
    expect(client.tokenRefreshes).toBe(1);
    expect(f.count('GET', '/service/_apis/runtime/runnerscalesets/')).toBe(50);
  });

  it('refreshes the admin token when it expires within 60 s', async () => {
    const f = await fake({ adminTokenTtlSeconds: 30 });
    const client = service(f);
    await client.getRunnerScaleSetById(1);
    await client.getRunnerScaleSetById(2);
    expect(f.count('POST', '/actions/runner-registration')).toBe(2);
  });

  it('never exceeds the concurrency bound, and does run concurrently', async () => {
    const f = await fake({ latencyMs: 30 });
    const client = service(f, 10);
    const results = await batchGenerateJitConfigs(client, 60, { namePrefix: 'r' }, 7, { concurrency: 25 });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(new Set(results.map((r) => r.name)).size).toBe(60);
    expect(f.maxInFlight).toBeLessThanOrEqual(10);
    expect(f.maxInFlight).toBeGreaterThan(1);
  });

  it('reports partial failure per item', async () => {
    const f = await fake();
    const client = service(f);
    f.inject(
      (r) => r.method === 'POST' && r.path.includes('generatejitconfig'),
      { status: 400, body: { message: 'bad name' } },
      3,
    );
    const results = await batchGenerateJitConfigs(client, 10, { namePrefix: 'p' }, 7, { concurrency: 1 });
    expect(results.filter((r) => !r.ok)).toHaveLength(3);
    expect(results.filter((r) => r.ok)).toHaveLength(7);
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const failed = results.find((r) => !r.ok);
    expect(failed?.ok === false && failed.error.message).toContain('bad name');
  });

  it('pauses the whole batch on Retry-After: no request starts during the pause', async () => {
    const f = await fake({ latencyMs: 5 });
    const client = service(f);
    await client.getRunnerScaleSetById(1); // handshake done
    f.inject(
      (r) => r.path.includes('generatejitconfig'),
      { status: 429, headers: { 'retry-after': '1' } },
      1,
    );
    const results = await batchGenerateJitConfigs(client, 8, { namePrefix: 'ra' }, 7, { concurrency: 4 });
    expect(results.every((r) => r.ok)).toBe(true);
    const posts = f.requests.filter((r) => r.path.includes('generatejitconfig'));
    const limited = posts[0]!;
    // Requests already in flight when the 429 came back may finish; nothing new starts for ~1 s.
    const startedDuringPause = posts.filter((r) => r.at > limited.at + 50 && r.at < limited.at + 950);
    expect(startedDuringPause).toEqual([]);
    expect(posts.length).toBe(9);
  });

  it('recovers a runner that exists after a retried POST', async () => {
    const f = await fake();
    const client = service(f);
    f.loseNextGenerateResponses = 1;
    const results = await batchGenerateJitConfigs(client, 1, { namePrefix: 'lost' }, 7, {
      nameFor: () => 'lost-1',
    });
    expect(results[0]?.ok).toBe(true);
    expect(f.count('DELETE', '/service/_apis/distributedtask/pools/0/agents/')).toBe(1);
    expect([...f.runners.values()].filter((r) => r.name === 'lost-1')).toHaveLength(1);
    // A runner of another scale set is not removed.
    f.runners.set(999, { id: 999, name: 'foreign', runnerScaleSetId: 1 });
    const foreign = await batchGenerateJitConfigs(client, 1, { namePrefix: 'x' }, 7, {
      nameFor: () => 'foreign',
    });
    expect(foreign[0]?.ok === false && foreign[0].error).toBeInstanceOf(RunnerExistsError);
    expect(f.runners.has(999)).toBe(true);
  });

  it('cancels the rest of a batch through an AbortSignal', async () => {
    const f = await fake({ latencyMs: 20 });
    const controller = new AbortController();
    const client = service(f);
    setTimeout(() => controller.abort(new Error('scale-down')), 100);
    const results = await batchGenerateJitConfigs(client, 100, { namePrefix: 'c' }, 7, {
      concurrency: 2,
      signal: controller.signal,
    });
    const cancelled = results.filter((r) => !r.ok);
    expect(cancelled.length).toBeGreaterThan(50);
    expect(results.filter((r) => r.ok).length).toBeGreaterThan(0);
    expect(results).toHaveLength(100);
  });
});

describe('withCache', () => {
  it('serves hits within the TTL, shares concurrent misses, and expires', async () => {
    const f = await fake({ latencyMs: 10 });
    const cached = withCache(service(f), { ttl: 200, max: 100, cacheRunnerInfo: true });
    await Promise.all(Array.from({ length: 20 }, () => cached.getRunnerGroupByName('Default')));
    expect(f.count('GET', '/service/_apis/runtime/runnergroups/')).toBe(1);
    expect(cached.stats).toMatchObject({ misses: 1, hits: 19 });
    await new Promise((r) => setTimeout(r, 250));
    await cached.getRunnerGroupByName('Default');
    expect(f.count('GET', '/service/_apis/runtime/runnergroups/')).toBe(2);
  });

  it('invalidates after a write, never caches a not-found, and leaves statistics fresh by default', async () => {
    const f = await fake();
    const cached = withCache(service(f), { ttl: 60_000, max: 100, cacheRunnerInfo: true });
    expect(await cached.getRunnerByName('new-runner')).toBeNull();
    expect(await cached.getRunnerByName('new-runner')).toBeNull();
    expect(f.count('GET', '/service/_apis/distributedtask/pools/0/agents?agentName=new-runner')).toBe(2);
    const config = await cached.generateJitRunnerConfig({ name: 'new-runner' }, 7);
    expect((await cached.getRunnerByName('new-runner'))?.id).toBe(config.runner.id);
    expect((await cached.getRunner(config.runner.id)).name).toBe('new-runner');
    await cached.removeRunner(config.runner.id);
    await expect(cached.getRunner(config.runner.id)).rejects.toThrow(/AgentNotFoundException/);
    await expect(cached.getRunnerGroupByName('missing')).rejects.toBeInstanceOf(NotFoundError);
    await expect(cached.getRunnerGroupByName('missing')).rejects.toBeInstanceOf(NotFoundError);
    expect(f.count('GET', '/service/_apis/runtime/runnergroups/?groupName=missing')).toBe(2);
    await cached.getScaleSetStatistics(7);
    await cached.getScaleSetStatistics(7);
    expect(f.count('GET', '/service/_apis/runtime/runnerscalesets/7')).toBe(2);
  });

  it('counts evictions', async () => {
    const f = await fake();
    const cached = withCache(service(f), { ttl: 60_000, max: 2 });
    for (const id of [1, 2, 3, 4]) await cached.getRunnerScaleSetById(id);
    expect(cached.stats.evictions).toBe(2);
  });
});

describe('REST client: the webhook delivery log', () => {
  function rest(f: FakeGitHub) {
    return new GitHubRestClient(
      new HttpClient({ concurrency: 8, retry: { baseDelayMs: 10 } }),
      new TokenAuth('t'),
      f.url,
    );
  }
  const hook = { kind: 'repo', owner: 'octo-org', repo: 'octo-repo', hookId: 4242 } as const;

  it('pages with the Link cursor and stops past `since`', async () => {
    const f = await fake({ deliveries: 250 });
    const all = [];
    for await (const d of rest(f).listDeliveries(hook, { perPage: 100 })) all.push(d);
    expect(all).toHaveLength(250);
    expect(f.count('GET', '/repos/octo-org/octo-repo/hooks/4242/deliveries?')).toBe(3);
    const since = Date.parse(all[49]!.delivered_at);
    const recent = [];
    for await (const d of rest(f).listDeliveries(hook, { perPage: 20, sinceMs: since })) recent.push(d);
    expect(recent).toHaveLength(50);
    expect(f.count('GET', '/repos/octo-org/octo-repo/hooks/4242/deliveries?')).toBe(3 + 3);
  });

  it('serves a 304 from the cache without re-downloading', async () => {
    const f = await fake({ deliveries: 5 });
    const client = rest(f);
    const id = f.log[0]!.id;
    const first = await client.getDelivery(hook, id);
    const second = await client.getDelivery(hook, id);
    expect(second).toEqual(first);
    const gets = f.requests.filter((r) => r.path.endsWith(`/deliveries/${id}`));
    expect(gets).toHaveLength(2);
    expect(gets[1]!.headers['if-none-match']).toBe(`"delivery-${id}"`);
  });

  it('retries 5xx with backoff and fetches many deliveries under the bound', async () => {
    const f = await fake({ deliveries: 40, latencyMs: 10 });
    f.inject((r) => r.path.includes('/deliveries/'), { status: 502 }, 2);
    const results = await rest(f).getDeliveries(
      hook,
      f.log.map((d) => d.id),
    );
    expect(results.every((r) => r.delivery)).toBe(true);
    expect(f.maxInFlight).toBeLessThanOrEqual(8);
  });
});

describe('pure policy and auth', () => {
  const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] ?? null });
  it('decides retries per GitHub rate-limit rules', () => {
    const p = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000, secondaryMinimumMs: 60_000 };
    expect(decideRetry(503, headers({}), '', 0, 0, p)).toMatchObject({
      retry: true,
      waitMs: 100,
      pauseAll: false,
    });
    expect(decideRetry(501, headers({}), '', 0, 0, p)).toEqual({ retry: false });
    expect(decideRetry(429, headers({ 'retry-after': '7' }), '', 0, 0, p)).toMatchObject({
      waitMs: 7000,
      pauseAll: true,
    });
    expect(
      decideRetry(
        403,
        headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '100' }),
        '',
        0,
        40_000,
        p,
      ),
    ).toMatchObject({
      waitMs: 61_000,
      pauseAll: true,
    });
    expect(decideRetry(403, headers({}), 'You have exceeded a secondary rate limit', 0, 0, p)).toMatchObject({
      waitMs: 60_000,
    });
    expect(decideRetry(403, headers({}), 'Resource not accessible', 0, 0, p)).toEqual({ retry: false });
    expect(decideRetry(503, headers({}), '', 3, 0, p)).toEqual({ retry: false });
    expect(nextLink('<https://x/a?cursor=2>; rel="next", <https://x/a?cursor=9>; rel="last"')).toBe(
      'https://x/a?cursor=2',
    );
    expect(nextLink(null)).toBeUndefined();
  });

  it('signs the app JWT with RS256 so the public key verifies it', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwt = appJwt(
      '12345',
      privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      1_700_000_000_000,
    );
    const [header, payload, signature] = jwt.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({
      iat: 1_699_999_940,
      exp: 1_700_000_540,
      iss: '12345',
    });
    expect(
      createVerify('RSA-SHA256')
        .update(`${header}.${payload}`)
        .verify(publicKey, Buffer.from(signature, 'base64url')),
    ).toBe(true);
  });
});
