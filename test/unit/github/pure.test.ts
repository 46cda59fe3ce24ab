// The pure core of the GitHub clients: retry and rate-limit decisions, Link parsing,
// cache keys, batch result assembly, delivery windows, URLs and error typing.
import { describe, expect, it } from 'vitest';
import {
  completeStatistics,
  registrationTokenPath,
  serviceCallUrl,
} from '../../../github/actions-service.js';
import { jwtExpiry, needsRefresh } from '../../../github/auth.js';
import { cacheKeys, kindOf } from '../../../github/cache.js';
import {
  errorFromResponse,
  GitHubApiError,
  NotFoundError,
  RunnerExistsError,
  RunnerNotFoundError,
  redactUrl,
} from '../../../github/errors.js';
import { assembleBatchResult, batchNames, type ItemOutcome, runnerName } from '../../../github/jit-batch.js';
import {
  backoffMs,
  conditionalCacheKey,
  DEFAULT_RETRY_POLICY,
  decideNetworkRetry,
  decideRetry,
  nextLink,
  primaryLimitWaitMs,
  type RetryPolicy,
  retryAfterMs,
} from '../../../github/policy.js';
import { type DeliverySummary, windowPage } from '../../../github/rest.js';

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] ?? null });
const policy: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  secondaryMinimumMs: 60_000,
  resetSlackMs: 1000,
  maxWaitMs: 3_600_000,
};
const facts = (status: number, h: Record<string, string> = {}, bodyText = '', attempt = 0, now = 0) => ({
  status,
  headers: headers(h),
  bodyText,
  attempt,
  now,
});

describe('retry decisions', () => {
  it('backs off exponentially on 5xx for this request only, and never retries 501', () => {
    expect(decideRetry(facts(503), policy)).toEqual({
      retry: true,
      waitMs: 100,
      pauseAll: false,
      reason: 'server error 503',
    });
    expect(decideRetry(facts(500, {}, '', 2), policy)).toMatchObject({ waitMs: 400 });
    expect(decideRetry(facts(501), policy)).toEqual({ retry: false });
    expect(decideRetry(facts(400), policy)).toEqual({ retry: false });
    expect(decideRetry(facts(404), policy)).toEqual({ retry: false });
    expect(decideRetry(facts(503, {}, '', 3), policy).retry).toBe(false);
  });

  it('jitters only the upper half and caps the backoff', () => {
    expect(backoffMs(0, policy, 0)).toBe(50);
    expect(backoffMs(0, policy, 1)).toBe(100);
    expect(backoffMs(10, policy, 1)).toBe(1000);
    expect(decideRetry({ ...facts(502), random: 0 }, policy)).toMatchObject({ waitMs: 50 });
  });

  it('honours Retry-After (seconds or a date) and pauses every request with it', () => {
    expect(decideRetry(facts(429, { 'retry-after': '7' }), policy)).toMatchObject({
      retry: true,
      waitMs: 7000,
      pauseAll: true,
    });
    expect(decideRetry(facts(503, { 'retry-after': '2' }), policy)).toMatchObject({
      waitMs: 2000,
      pauseAll: true,
    });
    const now = Date.parse('2026-11-01T00:00:00Z');
    expect(retryAfterMs('Sun, 01 Nov 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });

  it('waits for the primary limit reset when remaining is 0', () => {
    const limited = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '100' };
    expect(decideRetry(facts(403, limited, '', 0, 40_000), policy)).toMatchObject({
      retry: true,
      waitMs: 61_000,
      pauseAll: true,
      reason: 'primary rate limit',
    });
    // Also from a successful response: nothing more may start before the reset.
    expect(primaryLimitWaitMs(headers(limited), 99_500, policy)).toBe(1500);
    expect(
      primaryLimitWaitMs(headers({ 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '100' }), 0, policy),
    ).toBe(0);
    expect(primaryLimitWaitMs(headers({}), 0, policy)).toBe(0);
  });

  it('backs off at least the secondary minimum, growing, unless retry-after says otherwise', () => {
    const secondary = 'You have exceeded a secondary rate limit. Please wait a few minutes.';
    expect(decideRetry(facts(403, {}, secondary), policy)).toMatchObject({ waitMs: 60_000, pauseAll: true });
    expect(decideRetry(facts(403, {}, secondary, 1), policy)).toMatchObject({ waitMs: 120_000 });
    expect(decideRetry(facts(429), policy)).toMatchObject({ waitMs: 60_000, reason: 'secondary rate limit' });
    expect(decideRetry(facts(403, { 'retry-after': '5' }, secondary), policy)).toMatchObject({
      waitMs: 5000,
    });
    // A plain 403 is a permission problem: retrying cannot help.
    expect(decideRetry(facts(403, {}, 'Resource not accessible by integration'), policy)).toEqual({
      retry: false,
    });
  });

  it('gives up instead of sleeping past maxWaitMs', () => {
    const decision = decideRetry(facts(429, { 'retry-after': '7200' }), policy);
    expect(decision.retry).toBe(false);
    expect(decision.reason).toMatch(/too long/);
  });

  it('retries network failures with backoff until the budget is spent', () => {
    expect(decideNetworkRetry(1, policy)).toMatchObject({ retry: true, waitMs: 200, pauseAll: false });
    expect(decideNetworkRetry(3, policy).retry).toBe(false);
    expect(DEFAULT_RETRY_POLICY.secondaryMinimumMs).toBe(60_000);
  });
});

describe('Link header and conditional cache keys', () => {
  it('finds rel="next" among other relations', () => {
    const link =
      '<https://api.github.com/x?per_page=100&cursor=v1_2>; rel="next", <https://api.github.com/x?cursor=v1_9>; rel="last"';
    expect(nextLink(link)).toBe('https://api.github.com/x?per_page=100&cursor=v1_2');
    expect(nextLink('<https://x/a?cursor=1>; rel="prev"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
    expect(nextLink('')).toBeUndefined();
  });

  it('keys ETags per token without keeping the token', () => {
    const a = conditionalCacheKey('https://x/1', 'Bearer token-a');
    expect(a).not.toContain('token-a');
    expect(conditionalCacheKey('https://x/1', 'Bearer token-a')).toBe(a);
    expect(conditionalCacheKey('https://x/1', 'Bearer token-b')).not.toBe(a);
    expect(conditionalCacheKey('https://x/2', 'Bearer token-a')).not.toBe(a);
  });
});

describe('batch result assembly', () => {
  const config = { runner: { id: 1, name: 'a', runnerScaleSetId: 7 }, encodedJITConfig: 'e30=' };

  it('reports every item: ok, recovered, failed, cancelled after start and never started', () => {
    const outcomes = new Map<number, ItemOutcome>([
      [0, { kind: 'ok', config, recovered: false }],
      [1, { kind: 'ok', config, recovered: true }],
      [2, { kind: 'failed', error: new Error('bad name') }],
      [3, { kind: 'cancelled', reason: 'scale-down' }],
    ]);
    const result = assembleBatchResult(['a', 'b', 'c', 'd', 'e'], outcomes, 'scale-down');
    expect(result).toMatchObject({ succeeded: 2, failed: 1, cancelled: 2, recovered: 1 });
    expect(result.items.map((i) => [i.index, i.name, i.status])).toEqual([
      [0, 'a', 'ok'],
      [1, 'b', 'ok'],
      [2, 'c', 'failed'],
      [3, 'd', 'cancelled'],
      [4, 'e', 'cancelled'],
    ]);
    expect(result.items[3]).toMatchObject({ started: true });
    expect(result.items[4]).toMatchObject({ started: false, reason: 'scale-down' });
  });

  it('names runners uniquely and refuses a repeating name', () => {
    expect(runnerName('linux', 'ab12cd34', 3)).toBe('linux-ab12cd34-3');
    expect(batchNames(3, (i) => `r-${i}`)).toEqual(['r-0', 'r-1', 'r-2']);
    expect(() => batchNames(3, () => 'same')).toThrow(/repeats/);
  });
});

describe('cache keys', () => {
  it('never collide across kinds or through separators in names', () => {
    const keys = [
      cacheKeys.scaleSetByName(1, 'a'),
      cacheKeys.scaleSetByName(1, 'a","b'),
      cacheKeys.scaleSetById(1),
      cacheKeys.runnerGroup('a'),
      cacheKeys.runner(1),
      cacheKeys.runnerByName('1'),
      cacheKeys.statistics(1),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.map(kindOf)).toEqual([
      'scale_set',
      'scale_set',
      'scale_set',
      'runner_group',
      'runner',
      'runner',
      'statistics',
    ]);
  });
});

describe('delivery windows', () => {
  const at = (minute: number) =>
    ({
      id: minute,
      delivered_at: new Date(Date.UTC(2026, 10, 1, 0, minute)).toISOString(),
    }) as DeliverySummary;
  const page = [at(9), at(8), at(7), at(6)]; // newest first
  const ms = (minute: number) => Date.UTC(2026, 10, 1, 0, minute);

  it('keeps [since, until) and tells when the page reached past since', () => {
    expect(windowPage(page, ms(7), ms(9))).toEqual({ inWindow: [at(8), at(7)], pastSince: true });
    expect(windowPage(page, ms(6), undefined)).toEqual({ inWindow: page, pastSince: false });
    expect(windowPage(page, undefined, undefined).pastSince).toBe(false);
  });
});

describe('Actions service URLs and statistics', () => {
  it('finds the registration-token endpoint for org, repo and enterprise', () => {
    expect(registrationTokenPath('https://github.com/octo-org')).toBe(
      '/orgs/octo-org/actions/runners/registration-token',
    );
    expect(registrationTokenPath('https://github.com/octo-org/app/')).toBe(
      '/repos/octo-org/app/actions/runners/registration-token',
    );
    expect(registrationTokenPath('https://ghes.example/enterprises/acme')).toBe(
      '/enterprises/acme/actions/runners/registration-token',
    );
    expect(() => registrationTokenPath('https://github.com/')).toThrow(/cannot tell/);
  });

  it('adds the api-version and encodes query values', () => {
    expect(
      serviceCallUrl('https://svc/tenant/', '/_apis/runtime/runnergroups/', { groupName: 'a b&c' }),
    ).toBe('https://svc/tenant/_apis/runtime/runnergroups/?groupName=a+b%26c&api-version=6.0-preview');
  });

  it('reads missing statistics as 0', () => {
    expect(completeStatistics({ totalBusyRunners: 2 })).toEqual({
      totalAvailableJobs: 0,
      totalAcquiredJobs: 0,
      totalAssignedJobs: 0,
      totalRunningJobs: 0,
      totalRegisteredRunners: 0,
      totalBusyRunners: 2,
      totalIdleRunners: 0,
    });
  });

  it('refreshes a credential inside the margin, and reads JWT expiry', () => {
    expect(needsRefresh(100_000, 30_000, 60_000)).toBe(false);
    expect(needsRefresh(100_000, 40_000, 60_000)).toBe(true);
    expect(needsRefresh(undefined, 0, 60_000)).toBe(true);
    const jwt = `e30.${Buffer.from(JSON.stringify({ exp: 1234 })).toString('base64url')}.sig`;
    expect(jwtExpiry(jwt)).toBe(1_234_000);
    expect(jwtExpiry('not-a-jwt')).toBeUndefined();
  });
});

describe('typed errors', () => {
  it('maps the service error bodies to classes with URL, status and typeName', () => {
    const exists = errorFromResponse(
      409,
      'POST',
      'https://svc/x',
      JSON.stringify({
        typeName: 'GitHub.DistributedTask.WebApi.AgentExistsException, Sdk',
        message: 'taken',
      }),
    );
    expect(exists).toBeInstanceOf(RunnerExistsError);
    expect(exists.message).toBe(
      'POST https://svc/x answered 409 GitHub.DistributedTask.WebApi.AgentExistsException, Sdk: taken',
    );
    const gone = errorFromResponse(
      404,
      'GET',
      'https://svc/y',
      '{"typeName":"AgentNotFoundException","message":"no"}',
    );
    expect(gone).toBeInstanceOf(RunnerNotFoundError);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect(errorFromResponse(404, 'GET', 'https://x', '{"message":"Not Found"}')).toBeInstanceOf(
      NotFoundError,
    );
    const plain = errorFromResponse(502, 'GET', 'https://x', '<html>bad gateway</html>');
    expect(plain).toBeInstanceOf(GitHubApiError);
    expect(plain).not.toBeInstanceOf(NotFoundError);
    expect(plain).toMatchObject({ status: 502, detail: '<html>bad gateway</html>' });
  });

  it('never shows credentials embedded in a URL', () => {
    expect(redactUrl('https://user:pass@ghes.example/api/v3/x')).toBe('https://ghes.example/api/v3/x');
    expect(new GitHubApiError(500, 'GET', 'https://user:pass@h/x', 'boom').message).not.toContain('pass');
  });
});
