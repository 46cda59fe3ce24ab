// Pure decisions of the HTTP layer: when to retry, how long to wait, whether the wait
// applies to every request of the client (rate limits) or only to this one (5xx).

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** GitHub: back off at least a minute on a secondary rate limit without retry-after. */
  secondaryMinimumMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  secondaryMinimumMs: 60_000,
};

export type Headers = { get(name: string): string | null };

export type RetryDecision =
  | { retry: false }
  | {
      retry: true;
      waitMs: number;
      /** True when the wait must hold back every request (a rate limit), not just this one. */
      pauseAll: boolean;
      reason: string;
    };

function retryAfterMs(headers: Headers, now: number): number | undefined {
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function exponential(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
}

/**
 * What to do after a response (`status`, with its headers and body text) on attempt
 * `attempt` (0 = first try).
 */
export function decideRetry(
  status: number,
  headers: Headers,
  bodyText: string,
  attempt: number,
  now: number,
  policy: RetryPolicy,
): RetryDecision {
  if (attempt >= policy.maxRetries) return { retry: false };
  const after = retryAfterMs(headers, now);
  const remaining = headers.get('x-ratelimit-remaining');
  const reset = Number(headers.get('x-ratelimit-reset'));
  if (status === 429 || status === 403) {
    if (remaining === '0' && Number.isFinite(reset)) {
      return {
        retry: true,
        waitMs: Math.max(0, reset * 1000 - now) + 1000,
        pauseAll: true,
        reason: 'primary rate limit',
      };
    }
    if (after !== undefined) return { retry: true, waitMs: after, pauseAll: true, reason: 'retry-after' };
    if (status === 429 || /secondary rate limit/i.test(bodyText)) {
      return {
        retry: true,
        waitMs: policy.secondaryMinimumMs,
        pauseAll: true,
        reason: 'secondary rate limit',
      };
    }
    return { retry: false };
  }
  if (status >= 500 && status !== 501) {
    return {
      retry: true,
      waitMs: after ?? exponential(attempt, policy),
      pauseAll: false,
      reason: `server error ${status}`,
    };
  }
  return { retry: false };
}

/** The `rel="next"` URL of a Link header, if any. */
export function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part.trim());
    if (match) return match[1];
  }
  return undefined;
}
