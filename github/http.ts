// The one HTTP path of the GitHub clients: bounded concurrency (never above GitHub's
// 100 concurrent requests), kept-alive connections (Node's fetch pools them), a pause
// shared by every request when a rate limit answers, retries with backoff, and
// conditional GETs that serve a 304 from the cached body.
import { LRUCache } from 'lru-cache';
import { errorFromResponse } from './errors.js';
import { DEFAULT_RETRY_POLICY, decideRetry, type RetryPolicy } from './policy.js';

export interface HttpClientOptions {
  /** Requests in flight at once (1..100). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  /** How many ETag'd GET responses to remember for conditional requests. */
  etagCacheSize?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
  /** Send If-None-Match with the ETag of a previous 200 and serve a 304 from it. */
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
  requests: number;
  retries: number;
  notModified: number;
  pausedMs: number;
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
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

export class HttpClient {
  private readonly concurrency: number;
  private readonly policy: RetryPolicy;
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** No request starts before this time (a rate limit paused the whole client). */
  private pausedUntil = 0;
  private readonly etags: LRUCache<string, { etag: string; body: unknown }>;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly stats: HttpStats = { requests: 0, retries: 0, notModified: 0, pausedMs: 0 };

  constructor(private readonly options: HttpClientOptions = {}) {
    this.concurrency = Math.min(100, Math.max(1, options.concurrency ?? 10));
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.etags = new LRUCache({ max: options.etagCacheSize ?? 1000 });
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? abortableSleep;
  }

  private async acquire(signal?: AbortSignal): Promise<void> {
    if (this.active < this.concurrency) {
      this.active += 1;
      return;
    }
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

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.active -= 1;
  }

  /** Waits out a pause set by any request of this client. */
  private async waitForPause(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.pausedUntil - Date.now();
      if (wait <= 0) return;
      this.stats.pausedMs += wait;
      await this.sleep(wait, signal);
    }
  }

  async request<T>(url: string, options: RequestOptions = {}): Promise<HttpResponse<T>> {
    const method = options.method ?? 'GET';
    const cached = options.conditional ? this.etags.get(url) : undefined;
    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      await this.waitForPause(options.signal);
      await this.acquire(options.signal);
      let response: Response;
      let text: string;
      try {
        // A pause may have started while this request waited for a slot.
        await this.waitForPause(options.signal);
        this.stats.requests += 1;
        const headers: Record<string, string> = {
          accept: 'application/json',
          'user-agent': this.options.userAgent ?? 'runstream',
          ...options.headers,
        };
        if (cached) headers['if-none-match'] = cached.etag;
        if (options.body !== undefined) headers['content-type'] = 'application/json';
        response = await this.fetchImpl(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: options.signal,
        });
        text = await response.text();
      } finally {
        this.release();
      }
      if (response.status === 304 && cached) {
        this.stats.notModified += 1;
        return { status: 304, headers: response.headers, body: cached.body as T, fromCache: true };
      }
      if (response.ok) {
        const body = (text === '' ? undefined : JSON.parse(text)) as T;
        const etag = response.headers.get('etag');
        if (options.conditional && etag) this.etags.set(url, { etag, body });
        return { status: response.status, headers: response.headers, body, fromCache: false };
      }
      const decision = decideRetry(response.status, response.headers, text, attempt, Date.now(), this.policy);
      if (!decision.retry) throw errorFromResponse(response.status, method, url, text);
      this.stats.retries += 1;
      if (decision.pauseAll) this.pausedUntil = Math.max(this.pausedUntil, Date.now() + decision.waitMs);
      else await this.sleep(decision.waitMs, options.signal);
    }
  }

  /** Requests in flight right now (tests and metrics). */
  get inFlight(): number {
    return this.active;
  }
}
