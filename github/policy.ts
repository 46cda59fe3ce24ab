// Pure decisions of the HTTP layer (no I/O, no clock, no randomness of their own):
// when to retry, how long to wait, whether the wait holds back every request of the
// client (rate limits, Retry-After) or only this one (a 5xx), how to read GitHub's
// rate-limit and Link headers, and how conditional-request cache keys are built.
import { createHash } from 'node:crypto';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff for a 5xx or a network error; doubles per attempt. */
  baseDelayMs: number;
  /** Cap of the exponential backoff. */
  maxDelayMs: number;
  /** GitHub: back off at least a minute on a secondary rate limit without retry-after. */
  secondaryMinimumMs: number;
  /** Added to a primary rate-limit reset: GitHub's clock and ours disagree a little. */
  resetSlackMs: number;
  /** A rate-limit wait longer than this fails the request instead of sleeping. */
  maxWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  secondaryMinimumMs: 60_000,
  resetSlackMs: 1_000,
  // The primary limit resets at most an hour ahead.
  maxWaitMs: 3_600_000 + 60_000,
};

/** What the decisions read of response headers (fetch's Headers fits). */
export interface HeaderReader {
  get(name: string): string | null;
}

export interface ResponseFacts {
  status: number;
  headers: HeaderReader;
  bodyText: string;
  /** 0 for the first try. */
  attempt: number;
  now: number;
  /** In [0, 1): spreads backoffs so concurrent retries do not march in step. 1 = no jitter. */
  random?: number;
}

export type RetryDecision =
  | { retry: false; reason?: string }
  | {
      retry: true;
      waitMs: number;
      /** True when the wait must hold back every request of the client, not just this one. */
      pauseAll: boolean;
      reason: string;
    };

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with "equal jitter": half fixed, half spread by `random`. */
export function backoffMs(attempt: number, policy: RetryPolicy, random = 1): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(full / 2 + (full / 2) * Math.min(1, Math.max(0, random)));
}

/**
 * How long the primary rate limit holds every request back, judged from any response:
 * `x-ratelimit-remaining: 0` means nothing may start before `x-ratelimit-reset`.
 * 0 when requests may go on.
 */
export function primaryLimitWaitMs(headers: HeaderReader, now: number, policy: RetryPolicy): number {
  if (headers.get('x-ratelimit-remaining')?.trim() !== '0') return 0;
  const reset = Number(headers.get('x-ratelimit-reset'));
  if (!Number.isFinite(reset) || reset <= 0) return 0;
  return Math.max(0, reset * 1000 - now) + policy.resetSlackMs;
}

const SECONDARY_MESSAGE = /secondary rate limit|abuse detection/i;

function wait(waitMs: number, pauseAll: boolean, reason: string, policy: RetryPolicy): RetryDecision {
  if (waitMs > policy.maxWaitMs)
    return { retry: false, reason: `${reason}: wait of ${waitMs} ms is too long` };
  return { retry: true, waitMs, pauseAll, reason };
}

/** What to do after a failed response (anything but 2xx and a served 304). */
export function decideRetry(facts: ResponseFacts, policy: RetryPolicy): RetryDecision {
  const { status, headers, bodyText, attempt, now } = facts;
  if (attempt >= policy.maxRetries) return { retry: false, reason: `gave up after ${attempt + 1} attempts` };
  const after = retryAfterMs(headers.get('retry-after'), now);
  if (status === 403 || status === 429) {
    const primary = primaryLimitWaitMs(headers, now, policy);
    if (primary > 0) return wait(primary, true, 'primary rate limit', policy);
    if (after !== undefined) return wait(after, true, 'retry-after', policy);
    if (status === 429 || SECONDARY_MESSAGE.test(bodyText)) {
      // At least the minimum, growing while the limit persists (GitHub's guidance).
      return wait(policy.secondaryMinimumMs * 2 ** attempt, true, 'secondary rate limit', policy);
    }
    return { retry: false };
  }
  if (status >= 500 && status !== 501) {
    // A server that names its own Retry-After is telling every caller, not just this one.
    if (after !== undefined) return wait(after, true, `server error ${status} with retry-after`, policy);
    return wait(backoffMs(attempt, policy, facts.random), false, `server error ${status}`, policy);
  }
  return { retry: false };
}

/** After a network failure (no response at all). */
export function decideNetworkRetry(attempt: number, policy: RetryPolicy, random = 1): RetryDecision {
  if (attempt >= policy.maxRetries) return { retry: false, reason: `gave up after ${attempt + 1} attempts` };
  return {
    retry: true,
    waitMs: backoffMs(attempt, policy, random),
    pauseAll: false,
    reason: 'network error',
  };
}

/** The `rel="next"` URL of a Link header, if any. */
export function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?([^";]+)"?/.exec(part.trim());
    if (match?.[2]?.split(/\s+/).includes('next')) return match[1];
  }
  return undefined;
}

/**
 * The conditional-request cache key: GitHub's ETags are per token, so the key holds a
 * fingerprint of the Authorization header (a hash, so the token itself is never kept).
 */
export function conditionalCacheKey(url: string, authorization: string | undefined): string {
  const who = authorization
    ? createHash('sha256').update(authorization).digest('base64url').slice(0, 16)
    : 'anonymous';
  return `${who} ${url}`;
}
