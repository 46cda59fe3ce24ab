// The delivery-log REST client against the fake: cursor pagination, the time window,
// ETags and 304s, bounded batched fetches, primary and secondary rate limits, and
// retries. Proved by counting requests (and bytes) at the fake server.
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../github/errors.js';
import { HttpClient } from '../../../github/http.js';
import { type DeliverySummary, ForeignPageError } from '../../../github/rest.js';
import { http, REPO_HOOK, restClient, startFake } from './setup.js';

const LIST = '/repos/octo-org/octo-repo/hooks/4242/deliveries?';
const listRequests = (fake: Awaited<ReturnType<typeof startFake>>) =>
  fake.requests.filter((r) => r.path.startsWith(LIST));

async function collect(iterable: AsyncIterable<DeliverySummary>): Promise<DeliverySummary[]> {
  const out: DeliverySummary[] = [];
  for await (const d of iterable) out.push(d);
  return out;
}

describe('delivery log listing', () => {
  it('pages with the Link cursor: 250 deliveries at per_page 100 are 3 requests, newest first', async () => {
    const fake = await startFake({ deliveries: 250 });
    const all = await collect(restClient(fake).listDeliveries(REPO_HOOK, { perPage: 100 }));
    expect(all).toHaveLength(250);
    expect(new Set(all.map((d) => d.id)).size).toBe(250);
    expect(all.map((d) => d.id)).toEqual(fake.log.map((d) => d.id));
    const times = all.map((d) => Date.parse(d.delivered_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(listRequests(fake).map((r) => r.path)).toEqual([
      `${LIST}per_page=100`,
      `${LIST}per_page=100&cursor=100`,
      `${LIST}per_page=100&cursor=200`,
    ]);
  });

  it('stops paging once past since, and leaves out deliveries at or after until', async () => {
    const fake = await startFake({ deliveries: 250 });
    const log = fake.log; // newest first, a minute apart
    const since = log[49]!.deliveredAt;
    const until = log[9]!.deliveredAt;
    const window = await collect(
      restClient(fake).listDeliveries(REPO_HOOK, { perPage: 20, sinceMs: since, untilMs: until }),
    );
    expect(window.map((d) => d.id)).toEqual(log.slice(10, 50).map((d) => d.id));
    // Pages 0-19, 20-39, 40-59: the third reaches past since, so there is no fourth.
    expect(listRequests(fake)).toHaveLength(3);
  });

  it('resumes from a saved next-page URL', async () => {
    const fake = await startFake({ deliveries: 30 });
    const client = restClient(fake);
    const first = await client.listPage(REPO_HOOK, client.firstPageUrl(REPO_HOOK, 10));
    expect(first.next).toBe(`${fake.url}${LIST}per_page=10&cursor=10`);
    const rest = await collect(client.listDeliveries(REPO_HOOK, { startUrl: first.next }));
    expect([...first.deliveries, ...rest].map((d) => d.id)).toEqual(fake.log.map((d) => d.id));
    expect(client.firstPageUrl(REPO_HOOK, 500)).toMatch(/per_page=100$/);
  });

  it('reads org hooks too', async () => {
    const fake = await startFake({ deliveries: 3 });
    const hook = { kind: 'org', org: 'octo-org', hookId: 7 } as const;
    expect(await collect(restClient(fake).listDeliveries(hook))).toHaveLength(3);
    expect(fake.count('GET', '/orgs/octo-org/hooks/7/deliveries?per_page=100')).toBe(1);
  });
});

describe('conditional requests', () => {
  it('a 304 does not re-download: the body comes from the cache', async () => {
    const fake = await startFake({ deliveries: 5 });
    const httpClient = http();
    const client = restClient(fake, httpClient);
    const id = fake.log[0]!.id;
    const first = await client.getDelivery(REPO_HOOK, id);
    expect(first.request.headers['X-GitHub-Delivery']).toBe(fake.log[0]!.guid);
    const second = await client.getDelivery(REPO_HOOK, id);
    expect(second).toEqual(first);
    const gets = fake.requests.filter((r) => r.path.endsWith(`/deliveries/${id}`));
    expect(gets.map((r) => r.status)).toEqual([200, 304]);
    expect(gets[0]!.headers['if-none-match']).toBeUndefined();
    expect(gets[1]!.headers['if-none-match']).toBe(`"delivery-${id}"`);
    expect(gets[0]!.bytes).toBeGreaterThan(1000);
    expect(gets[1]!.bytes).toBe(0);
    expect(httpClient.stats.notModified).toBe(1);
  });

  it('sends a weak list ETag exactly as received, and keys ETags per token', async () => {
    const fake = await startFake({ deliveries: 5 });
    const httpClient = http();
    const client = restClient(fake, httpClient);
    const url = client.firstPageUrl(REPO_HOOK);
    const first = await client.listPage(REPO_HOOK, url);
    const again = await client.listPage(REPO_HOOK, url);
    expect(again).toEqual(first);
    const [a, b] = listRequests(fake);
    expect(b?.headers['if-none-match']).toMatch(/^W\/"page-/);
    expect(b?.status).toBe(304);
    expect(a?.status).toBe(200);
    // Another token shares the HttpClient but not the ETags (GitHub's ETags are per token).
    await restClient(fake, httpClient, 'another-token').listPage(REPO_HOOK, url);
    expect(listRequests(fake)[2]?.headers['if-none-match']).toBeUndefined();
  });
});

describe('batched fetches', () => {
  it('fetches many deliveries under the bound, concurrently, in the order asked', async () => {
    const fake = await startFake({ deliveries: 60, latencyMs: 15 });
    const ids = fake.log.map((d) => d.id);
    const results = await restClient(fake, http({ concurrency: 8 })).getDeliveries(REPO_HOOK, ids);
    expect(results.map((r) => r.id)).toEqual(ids);
    expect(results.every((r) => r.delivery?.id === r.id)).toBe(true);
    expect(fake.maxInFlight).toBeLessThanOrEqual(8);
    expect(fake.maxInFlight).toBeGreaterThan(1);
  });

  it('defaults to 10 in flight and refuses more than 100', async () => {
    const fake = await startFake({ deliveries: 40, latencyMs: 15 });
    const client = restClient(fake, new HttpClient());
    await client.getDeliveries(
      REPO_HOOK,
      fake.log.map((d) => d.id),
    );
    expect(fake.maxInFlight).toBe(10);
    expect(() => new HttpClient({ concurrency: 101 })).toThrow(RangeError);
    expect(() => new HttpClient({ concurrency: 0 })).toThrow(RangeError);
  });

  it('reports a failure per item and retries 5xx', async () => {
    const fake = await startFake({ deliveries: 10 });
    const target = fake.log[3]!.id;
    fake.inject(`${LIST.slice(0, -1)}/${target}`, { status: 502 }, 2);
    const results = await restClient(fake).getDeliveries(REPO_HOOK, [...fake.log.map((d) => d.id), 42]);
    expect(results.filter((r) => r.delivery)).toHaveLength(10);
    expect(fake.count('GET', `${LIST.slice(0, -1)}/${target}`)).toBe(3);
    const missing = results.at(-1);
    expect(missing?.id).toBe(42);
    expect(missing?.error).toBeInstanceOf(NotFoundError);
    expect(missing?.error?.message).toContain('/deliveries/42 answered 404');
  });
});

describe('rate limits', () => {
  it('waits for the primary reset once remaining reaches 0, without provoking a 403', async () => {
    const fake = await startFake({ deliveries: 10 });
    const resetAtMs = Date.now() + 800;
    fake.rateLimit = { limit: 100, remaining: 3, resetAtMs };
    const ids = fake.log.slice(0, 6).map((d) => d.id);
    const client = restClient(fake, http({ concurrency: 1 }));
    const results = await client.getDeliveries(REPO_HOOK, ids);
    expect(results.every((r) => r.delivery)).toBe(true);
    const gets = fake.requests.filter((r) => r.path.includes('/deliveries/'));
    expect(gets.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(gets[3]!.at).toBeGreaterThanOrEqual(resetAtMs);
    expect(gets[2]!.at).toBeLessThan(resetAtMs);
  });

  it('retries a 403 with remaining 0 after the reset', async () => {
    const fake = await startFake({ deliveries: 2 });
    const resetAtMs = Date.now() + 500;
    fake.rateLimit = { limit: 100, remaining: 0, resetAtMs };
    await restClient(fake).getDelivery(REPO_HOOK, fake.log[0]!.id);
    expect(fake.requests.map((r) => r.status)).toEqual([403, 200]);
    expect(fake.requests[1]!.at).toBeGreaterThanOrEqual(resetAtMs);
  });

  it('backs off at least the configured minimum on a secondary limit, pausing every request', async () => {
    const fake = await startFake({ deliveries: 20, latencyMs: 10 });
    const ids = fake.log.map((d) => d.id);
    fake.inject(`${LIST.slice(0, -1)}/${ids[2]}`, {
      status: 403,
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      },
    });
    const results = await restClient(fake, http({ concurrency: 4 })).getDeliveries(REPO_HOOK, ids);
    expect(results.every((r) => r.delivery)).toBe(true);
    const limited = fake.requests.find((r) => r.status === 403)!;
    const answeredAt = limited.endedAt!;
    const retried = fake.requests.filter((r) => r.path === limited.path);
    expect(retried).toHaveLength(2);
    expect(retried[1]!.at - answeredAt).toBeGreaterThanOrEqual(295);
    // Only requests already on the wire (at most 3 of 4) land during the pause; without
    // it the other three slots would fetch the remaining 17 deliveries meanwhile.
    const during = fake.requests.filter((r) => r.at > answeredAt && r.at < answeredAt + 295);
    expect(during.length).toBeLessThanOrEqual(3);
    expect(during.filter((r) => r.at > answeredAt + 100)).toEqual([]);
  });

  it('does not retry a permission 403', async () => {
    const fake = await startFake({ deliveries: 2 });
    fake.inject(LIST.slice(0, -1), {
      status: 403,
      body: { message: 'Resource not accessible by integration' },
    });
    await expect(restClient(fake).getDelivery(REPO_HOOK, fake.log[0]!.id)).rejects.toMatchObject({
      status: 403,
    });
    expect(fake.requests).toHaveLength(1);
  });
});

describe('pages off the API origin', () => {
  it("refuses a Link header's next page on another origin: it is neither requested nor returned", async () => {
    const api = await startFake({ deliveries: 30 });
    const elsewhere = await startFake({ deliveries: 30 });
    const client = restClient(api);
    api.inject(LIST, {
      status: 200,
      headers: { link: `<${elsewhere.url}${LIST}per_page=10&cursor=10>; rel="next"` },
      body: [],
    });
    const listing = collect(client.listDeliveries(REPO_HOOK, { perPage: 10 }));
    await expect(listing).rejects.toBeInstanceOf(ForeignPageError);
    await expect(listing).rejects.toThrow(
      `the Link header's next page is on ${elsewhere.url}, not on the GitHub API's origin ${api.url}: not fetched`,
    );
    expect(elsewhere.requests).toHaveLength(0);
    expect(listRequests(api)).toHaveLength(1);
    // Same host, another port or scheme, or another name for it: another origin.
    const port = Number(new URL(api.url).port);
    for (const other of [
      `http://127.0.0.1:${port + 1}`,
      `https://127.0.0.1:${port}`,
      `http://localhost:${port}`,
    ]) {
      api.inject(LIST, {
        status: 200,
        headers: { link: `<${other}${LIST}cursor=10>; rel="next"` },
        body: [],
      });
      await expect(client.listPage(REPO_HOOK, client.firstPageUrl(REPO_HOOK, 10)), other).rejects.toThrow(
        ForeignPageError,
      );
    }
    // A relative link resolves against the page, on the same origin.
    api.inject(LIST, {
      status: 200,
      headers: { link: `<${LIST}per_page=10&cursor=10>; rel="next"` },
      body: [],
    });
    const page = await client.listPage(REPO_HOOK, client.firstPageUrl(REPO_HOOK, 10));
    expect(page.next).toBe(`${api.url}${LIST}per_page=10&cursor=10`);
  });

  it('refuses a start URL on another origin before sending anything', async () => {
    const api = await startFake({ deliveries: 30 });
    const elsewhere = await startFake({ deliveries: 30 });
    const client = restClient(api);
    const startUrl = `${elsewhere.url}${LIST}per_page=10&cursor=10`;
    await expect(collect(client.listDeliveries(REPO_HOOK, { startUrl }))).rejects.toThrow(ForeignPageError);
    await expect(client.listPage(REPO_HOOK, 'not a url')).rejects.toThrow(/is not an absolute URL/);
    expect(elsewhere.requests).toHaveLength(0);
    expect(api.requests).toHaveLength(0);
  });
});
