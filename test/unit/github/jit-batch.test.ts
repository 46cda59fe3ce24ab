// batchGenerateJitConfigs against the fake: the concurrency bound, kept-alive
// connections, per-item results, the whole-batch pause on Retry-After, runner-exists
// recovery and cancellation. Proved by counting and timing requests at the server.
import { describe, expect, it } from 'vitest';
import { GitHubApiError, RunnerExistsError } from '../../../github/errors.js';
import { generatePosts, http, serviceClient, startFake } from './setup.js';

describe('batchGenerateJitConfigs', () => {
  it('never exceeds the bound, and really runs concurrently', async () => {
    const fake = await startFake({ latencyMs: 20 });
    // The HTTP client's bound (10) is below the batch's (25): the tighter one holds.
    const client = serviceClient(fake, http({ concurrency: 10 }));
    const wide = await client.batchGenerateJitConfigs(60, { namePrefix: 'wide' }, 7, { concurrency: 25 });
    expect(wide.succeeded).toBe(60);
    expect(fake.maxInFlight).toBeLessThanOrEqual(10);
    expect(fake.maxInFlight).toBeGreaterThan(1);

    // The batch's bound (4) is below the HTTP client's.
    fake.resetRecords();
    const narrow = await client.batchGenerateJitConfigs(30, { namePrefix: 'narrow' }, 7, { concurrency: 4 });
    expect(narrow.succeeded).toBe(30);
    expect(fake.maxInFlight).toBeLessThanOrEqual(4);
    expect(fake.maxInFlight).toBeGreaterThan(1);

    const names = [...wide.items, ...narrow.items].map((i) => i.name);
    expect(new Set(names).size).toBe(90);
    expect(fake.runners.size).toBe(90);
    expect(wide.items.map((i) => i.index)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('reuses kept-alive connections', async () => {
    const fake = await startFake({ latencyMs: 5 });
    const client = serviceClient(fake, http({ concurrency: 10 }));
    await client.batchGenerateJitConfigs(200, { namePrefix: 'ka' }, 7, { concurrency: 10 });
    expect(generatePosts(fake)).toHaveLength(200);
    // Without keep-alive there would be one connection per request. fetch may open a
    // spare socket when a slot passes on before the finished one is marked idle, so the
    // pool stays under two per slot (plus the handshake's).
    expect(fake.connections).toBeLessThanOrEqual(2 * 10 + 2);
  });

  it('reports partial failure per item', async () => {
    const fake = await startFake();
    const client = serviceClient(fake);
    const failing = new Set(['p-2', 'p-5', 'p-9']);
    for (const name of failing) {
      fake.inject((r) => r.body?.includes(`"name":"${name}"`) === true, {
        status: 400,
        body: { message: `invalid runner name ${name}` },
      });
    }
    const result = await client.batchGenerateJitConfigs(10, { namePrefix: 'p' }, 7, {
      concurrency: 5,
      nameFor: (i) => `p-${i}`,
    });
    expect(result).toMatchObject({ succeeded: 7, failed: 3, cancelled: 0 });
    expect(result.items).toHaveLength(10);
    for (const item of result.items) {
      if (failing.has(item.name)) {
        expect(item.status).toBe('failed');
        const error = item.status === 'failed' ? item.error : undefined;
        expect(error).toBeInstanceOf(GitHubApiError);
        expect(error?.message).toContain(`invalid runner name ${item.name}`);
        expect(error?.message).toContain('/generatejitconfig');
      } else {
        expect(item.status === 'ok' && item.config.runner.name).toBe(item.name);
      }
    }
    expect(fake.runners.size).toBe(7);
  });

  it('pauses the whole batch on Retry-After: no request starts during the pause', async () => {
    const fake = await startFake({ latencyMs: 20 });
    const client = serviceClient(fake);
    await client.getRunnerScaleSetById(7); // handshake out of the way
    fake.inject((r) => r.body?.includes('"name":"ra-2"') === true, {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { message: 'too many requests' },
    });
    const started = Date.now();
    const result = await client.batchGenerateJitConfigs(16, { namePrefix: 'ra' }, 7, {
      concurrency: 4,
      nameFor: (i) => `ra-${i}`,
    });
    expect(result.succeeded).toBe(16);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const posts = generatePosts(fake);
    expect(posts).toHaveLength(17);
    const limited = posts.find((r) => r.status === 429)!;
    const answeredAt = limited.endedAt!;
    const retried = posts.find((r) => r.seq > limited.seq && r.body === limited.body)!;
    expect(retried.at - answeredAt).toBeGreaterThanOrEqual(950);
    // Only POSTs already on the wire when the 429 came back (at most 3 of 4) may land
    // during the pause, and none well into it; without the pause the other three
    // workers would have sent the remaining 13 by then.
    const duringPause = posts.filter((r) => r.at > answeredAt && r.at < answeredAt + 950);
    expect(duringPause.length).toBeLessThanOrEqual(3);
    expect(duringPause.filter((r) => r.at > answeredAt + 200)).toEqual([]);
  });

  it('recovers a runner that exists after a retried POST', async () => {
    const fake = await startFake();
    const client = serviceClient(fake);
    fake.loseNextGenerateResponses = 1; // created, but the answer is a 502: the retry sees "exists"
    const result = await client.batchGenerateJitConfigs(1, { namePrefix: 'x' }, 7, {
      nameFor: () => 'lost-1',
    });
    const item = result.items[0];
    expect(item?.status).toBe('ok');
    expect(item?.status === 'ok' && item.recovered).toBe(true);
    expect(result.recovered).toBe(1);
    expect(generatePosts(fake).map((r) => r.status)).toEqual([502, 409, 200]);
    expect(fake.count('GET', '/service/_apis/distributedtask/pools/0/agents?agentName=lost-1')).toBe(1);
    expect(fake.count('DELETE', '/service/_apis/distributedtask/pools/0/agents/1')).toBe(1);
    const survivors = [...fake.runners.values()].filter((r) => r.name === 'lost-1');
    expect(survivors).toHaveLength(1);
    expect(item?.status === 'ok' && item.config.runner.id).toBe(survivors[0]?.id);
  });

  it('leaves a runner of another scale set alone and reports the conflict', async () => {
    const fake = await startFake();
    fake.addScaleSet({ id: 8, name: 'other', runnerGroupId: 1 });
    const client = serviceClient(fake);
    const foreign = await client.generateJitRunnerConfig({ name: 'shared-name' }, 8);
    const result = await client.batchGenerateJitConfigs(1, { namePrefix: 'x' }, 7, {
      nameFor: () => 'shared-name',
    });
    expect(result.failed).toBe(1);
    expect(result.items[0]?.status === 'failed' && result.items[0].error).toBeInstanceOf(RunnerExistsError);
    expect(fake.runners.get(foreign.runner.id)).toBeDefined();
    expect(fake.count('DELETE', '/service/')).toBe(0);
  });

  it('cancels through an AbortSignal: the rest is reported cancelled and never sent', async () => {
    const fake = await startFake({ latencyMs: 30 });
    const client = serviceClient(fake);
    await client.getRunnerScaleSetById(7);
    const controller = new AbortController();
    let abortedAt = 0;
    const timer = setTimeout(() => {
      abortedAt = Date.now();
      controller.abort(new Error('scale-down'));
    }, 150);
    try {
      const result = await client.batchGenerateJitConfigs(100, { namePrefix: 'c' }, 7, {
        concurrency: 2,
        signal: controller.signal,
      });
      expect(result.items).toHaveLength(100);
      expect(result.succeeded).toBeGreaterThan(0);
      expect(result.succeeded + result.failed + result.cancelled).toBe(100);
      expect(result.failed).toBe(0);
      expect(result.cancelled).toBeGreaterThan(80);
      const startedCancelled = result.items.filter((i) => i.status === 'cancelled' && i.started);
      expect(startedCancelled.length).toBeLessThanOrEqual(2);
      // A started item may have been aborted before or after its POST reached the server.
      expect(generatePosts(fake).length).toBeGreaterThanOrEqual(result.succeeded);
      expect(generatePosts(fake).length).toBeLessThanOrEqual(result.succeeded + startedCancelled.length);
      const notStarted = result.items.find((i) => i.status === 'cancelled' && !i.started);
      expect(notStarted?.status === 'cancelled' && (notStarted.reason as Error).message).toBe('scale-down');
      // A POST already written to the socket may still land (client and server share this
      // event loop); nothing may be sent after the abort.
      await new Promise((r) => setTimeout(r, 100));
      expect(generatePosts(fake).filter((r) => r.at > abortedAt + 30)).toEqual([]);
    } finally {
      clearTimeout(timer);
    }
  });

  it('sends nothing when the signal is already aborted', async () => {
    const fake = await startFake();
    const result = await serviceClient(fake).batchGenerateJitConfigs(5, { namePrefix: 'n' }, 7, {
      signal: AbortSignal.abort(new Error('stop')),
    });
    expect(result).toMatchObject({ succeeded: 0, cancelled: 5 });
    expect(fake.requests).toHaveLength(0);
  });
});
