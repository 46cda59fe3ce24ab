// GitHub client benchmark against the fake GitHub on loopback: JIT configs sequential
// (the Go client's one-lock behaviour) versus batched, and cached runner lookups.
import { ActionsServiceClient, batchGenerateJitConfigs } from '../github/actions-service.js';
import { TokenAuth } from '../github/auth.js';
import { withCache } from '../github/cache.js';
import { HttpClient } from '../github/http.js';
import { FakeGitHub } from '../test/support/fake-github.js';
import type { Figures } from './types.js';

function client(fake: FakeGitHub, concurrency: number): ActionsServiceClient {
  return new ActionsServiceClient({
    http: new HttpClient({ concurrency }),
    auth: new TokenAuth('bench'),
    apiUrl: fake.url,
    githubConfigUrl: 'https://github.com/octo-org',
  });
}

async function timeJit(concurrency: number): Promise<{ ms: number; ok: number; maxInFlight: number }> {
  const fake = await new FakeGitHub({ latencyMs: 50 }).start();
  try {
    const service = client(fake, concurrency);
    await service.getRunnerScaleSetById(7); // the handshake is not what is measured
    fake.maxInFlight = 0;
    const started = performance.now();
    const results = await batchGenerateJitConfigs(service, 200, { namePrefix: `bench-${concurrency}` }, 7, {
      concurrency,
    });
    return {
      ms: performance.now() - started,
      ok: results.filter((r) => r.ok).length,
      maxInFlight: fake.maxInFlight,
    };
  } finally {
    await fake.stop();
  }
}

export async function runGithubBench(): Promise<Figures> {
  const sequential = await timeJit(1);
  const batched = await timeJit(10);

  const fake = await new FakeGitHub({ latencyMs: 5 }).start();
  let lookups: Figures;
  try {
    const service = client(fake, 10);
    const ids: number[] = [];
    for (let i = 0; i < 50; i++)
      ids.push((await service.generateJitRunnerConfig({ name: `runner-${i}` }, 7)).runner.id);
    const cached = withCache(service, { ttl: 60_000, max: 1000, cacheRunnerInfo: true });
    const before = fake.count('GET', '/service/_apis/distributedtask/pools/0/agents/');
    const started = performance.now();
    for (let wave = 0; wave < 20; wave++) await Promise.all(ids.map((id) => cached.getRunner(id)));
    lookups = {
      lookups: 1000,
      lookup_http_requests: fake.count('GET', '/service/_apis/distributedtask/pools/0/agents/') - before,
      lookup_ms: Math.round(performance.now() - started),
      cache_hits: cached.stats.hits,
      cache_misses: cached.stats.misses,
    };
  } finally {
    await fake.stop();
  }
  return {
    jit_configs: 200,
    simulated_latency_ms: 50,
    jit_sequential_ms: Math.round(sequential.ms),
    jit_batched_c10_ms: Math.round(batched.ms),
    jit_speedup: Number((sequential.ms / batched.ms).toFixed(2)),
    jit_batched_max_in_flight: batched.maxInFlight,
    jit_all_ok: sequential.ok === 200 && batched.ok === 200 ? 'yes' : `no (${sequential.ok}, ${batched.ok})`,
    ...lookups,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await runGithubBench();
  console.table(figures);
  console.log(JSON.stringify(figures));
}
