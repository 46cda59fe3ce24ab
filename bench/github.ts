// GitHub client benchmark, one run against one fake GitHub on loopback:
//  - 200 JIT runner configs at 50 ms simulated latency, one POST at a time (what the
//    scaleset Go client's single lock amounts to) versus batchGenerateJitConfigs with
//    10 in flight over kept-alive connections;
//  - 1,000 runner-info lookups over 50 runners through withCache within the TTL,
//    100 at a time in a shuffled order, counting the HTTP requests that reached the server.
// `npx tsx bench/github.ts` prints the figures; bench/run.ts can call runGithubBench().
import { pathToFileURL } from 'node:url';
import { seededRandom } from '../demo/stream.js';
import { ActionsServiceClient } from '../github/actions-service.js';
import { TokenAuth } from '../github/auth.js';
import { withCache } from '../github/cache.js';
import { HttpClient } from '../github/http.js';
import { FakeGitHub } from '../test/support/fake-github.js';

const JIT_CONFIGS = 200;
const LATENCY_MS = 50;
const CONCURRENCY = 10;
const RUNNERS = 50;
const LOOKUPS = 1_000;
const SCALE_SET = 7;

export async function runGithubBench(): Promise<Record<string, number | string>> {
  const fake = await new FakeGitHub({ latencyMs: LATENCY_MS }).start();
  try {
    const client = new ActionsServiceClient({
      http: new HttpClient({ concurrency: CONCURRENCY }),
      auth: new TokenAuth('bench-token'),
      apiUrl: fake.url,
      githubConfigUrl: 'https://github.com/octo-org',
    });
    await client.getRunnerScaleSetById(SCALE_SET); // the handshake is not what is measured

    fake.resetRecords();
    let started = performance.now();
    let sequentialOk = 0;
    for (let i = 0; i < JIT_CONFIGS; i++) {
      await client.generateJitRunnerConfig({ name: `bench-seq-${i}` }, SCALE_SET);
      sequentialOk += 1;
    }
    const sequentialMs = performance.now() - started;
    const sequentialMaxInFlight = fake.maxInFlight;

    fake.resetRecords();
    const connectionsBefore = fake.connections;
    started = performance.now();
    const batch = await client.batchGenerateJitConfigs(
      JIT_CONFIGS,
      { namePrefix: 'bench-batch' },
      SCALE_SET,
      {
        concurrency: CONCURRENCY,
      },
    );
    const batchedMs = performance.now() - started;
    const batchedMaxInFlight = fake.maxInFlight;
    const batchedPosts = fake.requests.length;

    // 50 runners to look up (made without latency: their creation is not measured).
    fake.latencyMs = 0;
    const ids: number[] = [];
    for (let i = 0; i < RUNNERS; i++) {
      ids.push((await client.generateJitRunnerConfig({ name: `bench-lookup-${i}` }, SCALE_SET)).runner.id);
    }
    fake.latencyMs = LATENCY_MS;
    const cached = withCache(client, { ttl: 60_000, max: 1_000, cacheRunnerInfo: true });
    const random = seededRandom(42);
    const order = Array.from({ length: LOOKUPS }, (_, i) => ids[i % RUNNERS] as number).sort(
      () => random() - 0.5,
    );
    fake.resetRecords();
    started = performance.now();
    for (let i = 0; i < LOOKUPS; i += 100) {
      await Promise.all(order.slice(i, i + 100).map((id) => cached.getRunner(id)));
    }
    const lookupMs = performance.now() - started;
    const stats = cached.stats();

    return {
      jit_configs: JIT_CONFIGS,
      simulated_latency_ms: LATENCY_MS,
      jit_sequential_ms: Math.round(sequentialMs),
      jit_sequential_max_in_flight: sequentialMaxInFlight,
      jit_batched_c10_ms: Math.round(batchedMs),
      jit_batched_max_in_flight: batchedMaxInFlight,
      jit_batched_http_requests: batchedPosts,
      jit_batched_new_connections: fake.connections - connectionsBefore,
      jit_speedup: Number((sequentialMs / batchedMs).toFixed(1)),
      jit_ok: `${sequentialOk}/${JIT_CONFIGS} sequential, ${batch.succeeded}/${JIT_CONFIGS} batched`,
      lookups: LOOKUPS,
      lookup_runners: RUNNERS,
      lookup_http_requests: fake.requests.length,
      lookup_cache_hits: stats.hits,
      lookup_cache_misses: stats.misses,
      lookup_ms: Math.round(lookupMs),
    };
  } finally {
    await fake.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await runGithubBench();
  console.table(figures);
  console.log(JSON.stringify(figures));
}
