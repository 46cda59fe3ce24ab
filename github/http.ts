// The one HTTP path of the GitHub clients, a thin shell around the decisions in
// policy.ts: bounded concurrency (never above GitHub's 100 concurrent requests),
// kept-alive connections (Node's fetch pools them per origin), a pause shared by
// every request of the client when a rate limit or Retry-After answers, backoff
// retries, and conditional GETs that serve a 304 from the remembered body.
import { LRUCache } from 'lru-cache';
import type { Logger } from '../platform/log.js';
import { errorFromResponse, GitHubApiError, GitHubNetworkError } from './errors.js';
import {
  conditionalCacheKey,
  DEFAULT_RETRY_POLICY,
  decideNetworkRetry,
  decideRetry,
  primaryLimitWaitMs,
  type RetryDecision,
  type RetryPolicy,
} from './policy.js';

/** GitHub allows at most 100 concurrent requests per token. */
export const MAX_CONCURRENCY = 100;

export interface HttpClientOptions {
  /** Requests in flight at once, 1..100 (default 10). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  /** Bytes of ETag'd GET bodies remembered for conditional requests (default 64 MiB). */
  etagCacheMaxBytes?: number;
  /** Retries are logged at warn (method, URL, status, wait; never headers). */
  logger?: Logger;
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  random?: () => number;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
  /**
   * GET only: send If-None-Match with the ETag of an earlier 200 (exactly as received)
   * and serve a 304 from that response's body. 304s do not count against the limit.
   */
  conditional?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  body: T;
  /** True when a 304 was answered and the body came from the ETag cache. */
  fromCache: boolean;
}

export interface HttpStats {
  /** Requests sent (each retry counts). */
  requests: number;
  retries: number;
  /** 304s served from the ETag cache. */
  notModified: number;
  /** Times a rate limit or Retry-After paused the whole client. */
  pauses: number;
}

interface Remembered {
  etag: string;
  body: unknown;
  size: number;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type Attempt = { response: Response; text: string } | { networkError: Error };

export class HttpClient {
  readonly concurrency: number;
  private readonly policy: RetryPolicy;
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** No request starts before this time: a rate limit paused the whole client. */
  private pausedUntil = 0;
  private readonly etags: LRUCache<string, Remembered>;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  readonly stats: HttpStats = { requests: 0, retries: 0, notModified: 0, pauses: 0 };

  constructor(private readonly options: HttpClientOptions = {}) {
    const concurrency = options.concurrency ?? 10;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      throw new RangeError(`concurrency must be an integer in 1..${MAX_CONCURRENCY}, got ${concurrency}`);
    }
    this.concurrency = concurrency;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.etags = new LRUCache({
      maxSize: options.etagCacheMaxBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (entry) => entry.size,
    });
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.active;
  }

  /** The time (ms since epoch) before which no request starts; 0 or past when not paused. */
  get pausedUntilMs(): number {
    return this.pausedUntil;
  }

  /** Sends a request, retrying and pausing per policy.ts; throws a GitHubApiError. */
  async request<T>(url: string, options: RequestOptions = {}): Promise<HttpResponse<T>> {
    const method = options.method ?? 'GET';
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.options.userAgent ?? 'runstream',
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const etagKey =
      options.conditional && method === 'GET' ? conditionalCacheKey(url, headers.authorization) : undefined;

    for (let attempt = 0; ; attempt++) {
      const remembered = etagKey === undefined ? undefined : this.etags.get(etagKey);
      options.signal?.throwIfAborted();
      await this.waitForPause(options.signal);
      await this.acquire(options.signal);
      let decision: RetryDecision & { retry: true };
      try {
        // A pause may have begun while this request waited for a slot.
        await this.waitForPause(options.signal);
        this.stats.requests += 1;
        const result = await this.exchange(url, method, headers, body, remembered, options.signal);
        if ('networkError' in result) {
          const network = decideNetworkRetry(attempt, this.policy, this.random());
          if (!network.retry) {
            throw new GitHubNetworkError(0, method, url, result.networkError.message, undefined, {
              cause: result.networkError,
            });
          }
          decision = network;
        } else {
          const { response, text } = result;
          this.pauseFor(primaryLimitWaitMs(response.headers, this.now(), this.policy));
          if (response.status === 304 && remembered) {
            this.stats.notModified += 1;
            return { status: 304, headers: response.headers, body: remembered.body as T, fromCache: true };
          }
          if (response.ok) {
            const parsed = this.parse<T>(response.status, method, url, text);
            const etag = response.headers.get('etag');
            if (etagKey !== undefined && etag) {
              this.etags.set(etagKey, { etag, body: parsed, size: Math.max(1, text.length) });
            }
            return { status: response.status, headers: response.headers, body: parsed, fromCache: false };
          }
          const verdict = decideRetry(
            {
              status: response.status,
              headers: response.headers,
              bodyText: text,
              attempt,
              now: this.now(),
              random: this.random(),
            },
            this.policy,
          );
          if (!verdict.retry) throw errorFromResponse(response.status, method, url, text);
          decision = verdict;
        }
        // Set before the slot is released, so no queued request slips out ahead of the pause.
        if (decision.pauseAll) this.pauseFor(decision.waitMs);
      } finally {
        this.release();
      }
      this.stats.retries += 1;
      this.options.logger?.warn(
        { method, url, attempt, waitMs: decision.waitMs, reason: decision.reason },
        'GitHub request will be retried',
      );
      if (!decision.pauseAll) await this.sleep(decision.waitMs, options.signal);
    }
  }

  /** One request and its body; a network failure is returned, an abort thrown. */
  private async exchange(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    remembered: Remembered | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    try {
      const sent = remembered ? { ...headers, 'if-none-match': remembered.etag } : headers;
      const response = await this.fetchImpl(url, { method, headers: sent, body, signal });
      return { response, text: await response.text() };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return { networkError: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  private parse<T>(status: number, method: string, url: string, text: string): T {
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new GitHubApiError(status, method, url, `response is not JSON: ${text.slice(0, 100)}`);
    }
  }

  private pauseFor(ms: number): void {
    if (ms <= 0) return;
    const until = this.now() + ms;
    if (until > this.pausedUntil) {
      this.pausedUntil = until;
      this.stats.pauses += 1;
    }
  }

  private async waitForPause(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.pausedUntil - this.now();
      if (wait <= 0) return;
      await this.sleep(wait, signal);
    }
  }

  private async acquire(signal?: AbortSignal): Promise<void> {
    if (this.active < this.concurrency) {
      this.active += 1;
      return;
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = this.queue.indexOf(grant);
        if (index >= 0) this.queue.splice(index, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(grant);
    });
  }

  /** Hands the slot straight to the next waiter, so the count never dips and overshoots. */
  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active -= 1;
  }
}
