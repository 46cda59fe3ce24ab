// api.github.com's webhook delivery log for a repository, organization or app hook:
// list it (cursor pages, newest first) over a time window and fetch deliveries in
// bulk. Bounded concurrency, ETags, rate limits and retries come from the HttpClient.
import type { GitHubAuth } from './auth.js';
import type { HttpClient } from './http.js';
import { nextLink } from './policy.js';

/** Which hook's delivery log. App hooks authenticate with the app's JWT (AppAuth). */
export type HookRef =
  | { kind: 'repo'; owner: string; repo: string; hookId: number }
  | { kind: 'org'; org: string; hookId: number }
  | { kind: 'app' };

/** One entry of the delivery log (no payload: that needs {@link GitHubRestClient.getDelivery}). */
export interface DeliverySummary {
  id: number;
  guid: string;
  /** ISO 8601. */
  delivered_at: string;
  redelivery: boolean;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
}

export interface DeliveryDetail extends DeliverySummary {
  /** The payload is parsed JSON, not the signed bytes: trust it through the API, not the HMAC. */
  request: { headers: Record<string, string>; payload: unknown };
}

export interface ListOptions {
  /** Only deliveries delivered at or after this (ms since epoch); paging stops once past it. */
  sinceMs?: number;
  /** Only deliveries delivered before this (ms since epoch). */
  untilMs?: number;
  /** 1..100 (default 100). */
  perPage?: number;
  /** Resume from a page URL saved from {@link DeliveryPage.next}. */
  startUrl?: string;
  signal?: AbortSignal;
}

export interface DeliveryPage {
  /** The page's deliveries inside the window, newest first. */
  deliveries: DeliverySummary[];
  /** The next page's URL; undefined on the last page or once the page reached past `sinceMs`. */
  next: string | undefined;
}

export interface DeliveryResult {
  id: number;
  /** Set when the fetch succeeded. */
  delivery?: DeliveryDetail;
  /** Set when it failed after retries (a GitHubApiError with URL and status). */
  error?: Error;
}

export const DEFAULT_API_URL = 'https://api.github.com';

/** `scheme://host[:port]` of an absolute URL; undefined when `url` is not one. */
export function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * Why a page URL must not be fetched with the API's credentials: it is not on the API
 * URL's origin (scheme, host and port). Undefined when it is. Names the origin only,
 * never the rest of the URL (a query could carry anything).
 */
export function foreignPage(url: string, apiUrl: string): string | undefined {
  const origin = originOf(url);
  const expected = originOf(apiUrl);
  if (origin === undefined) return 'is not an absolute URL';
  if (origin !== expected) return `is on ${origin}, not on the GitHub API's origin ${expected}`;
  return undefined;
}

/** A Link target resolved against the page that gave it; undefined when it is no URL. */
function resolveLink(link: string, base: string): string | undefined {
  try {
    return new URL(link, base).href;
  } catch {
    return undefined;
  }
}

/** A page URL off the API's origin: never requested, since the token would go with it. */
export class ForeignPageError extends Error {
  constructor(what: string, reason: string) {
    super(`${what} ${reason}: not fetched (the token is sent only to the configured API URL)`);
    this.name = 'ForeignPageError';
  }
}

export function hookPath(hook: HookRef): string {
  switch (hook.kind) {
    case 'repo':
      return `/repos/${encodeURIComponent(hook.owner)}/${encodeURIComponent(hook.repo)}/hooks/${hook.hookId}/deliveries`;
    case 'org':
      return `/orgs/${encodeURIComponent(hook.org)}/hooks/${hook.hookId}/deliveries`;
    case 'app':
      return '/app/hook/deliveries';
  }
}

/**
 * Keeps a page's deliveries inside [sinceMs, untilMs) and tells whether the page
 * reached past `sinceMs` (the log is newest first, so later pages are all older).
 */
export function windowPage(
  page: readonly DeliverySummary[],
  sinceMs: number | undefined,
  untilMs: number | undefined,
): { inWindow: DeliverySummary[]; pastSince: boolean } {
  const inWindow: DeliverySummary[] = [];
  let pastSince = false;
  for (const delivery of page) {
    const at = Date.parse(delivery.delivered_at);
    if (sinceMs !== undefined && at < sinceMs) {
      pastSince = true;
      continue;
    }
    if (untilMs !== undefined && at >= untilMs) continue;
    inWindow.push(delivery);
  }
  return { inWindow, pastSince };
}

/**
 * The REST client for the webhook delivery log.
 *
 * @example
 * const http = new HttpClient({ concurrency: 10 });
 * const client = new GitHubRestClient(http, new TokenAuth(token));
 * const hook = { kind: 'repo', owner: 'octo-org', repo: 'app', hookId: 42 } as const;
 * const ids: number[] = [];
 * for await (const d of client.listDeliveries(hook, { sinceMs: Date.now() - 3_600_000 })) ids.push(d.id);
 * const fetched = await client.getDeliveries(hook, ids); // up to 10 requests in flight
 */
export class GitHubRestClient {
  private readonly apiUrl: string;

  constructor(
    private readonly http: HttpClient,
    private readonly auth: GitHubAuth,
    apiUrl = DEFAULT_API_URL,
  ) {
    this.apiUrl = apiUrl.replace(/\/$/, '');
  }

  private async headers(hook: HookRef): Promise<Record<string, string>> {
    let authorization: string;
    if (hook.kind === 'app') {
      // App hook endpoints authenticate as the app itself (its JWT), not an installation.
      if (!this.auth.appAuthorization) {
        throw new Error('the app hook delivery log needs GitHub App authentication (AppAuth), not a token');
      }
      authorization = await this.auth.appAuthorization();
    } else {
      authorization = await this.auth.authorization();
    }
    return { authorization, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
  }

  /** Why `url` must not be fetched with this client's credentials; undefined when it may. */
  foreignPage(url: string): string | undefined {
    return foreignPage(url, this.apiUrl);
  }

  /** The first page's URL (`per_page` clamped to 1..100); later pages come from the Link header. */
  firstPageUrl(hook: HookRef, perPage = 100): string {
    const size = Math.min(100, Math.max(1, Math.floor(perPage)));
    return `${this.apiUrl}${hookPath(hook)}?per_page=${size}`;
  }

  /**
   * One page of the delivery log at `url` (the first page's, or a `next` from the
   * previous page), filtered to the window. Conditional: an unchanged page answers 304
   * and is served from the ETag cache. A page URL, or a Link header's next page, off
   * the API URL's origin is refused (ForeignPageError) before anything is sent to it.
   */
  async listPage(hook: HookRef, url: string, options: ListOptions = {}): Promise<DeliveryPage> {
    const foreign = this.foreignPage(url);
    if (foreign) throw new ForeignPageError('the delivery log page', foreign);
    const response = await this.http.request<DeliverySummary[] | undefined>(url, {
      headers: await this.headers(hook),
      conditional: true,
      signal: options.signal,
    });
    const all = Array.isArray(response.body) ? response.body : [];
    const { inWindow, pastSince } = windowPage(all, options.sinceMs, options.untilMs);
    const link = pastSince ? undefined : nextLink(response.headers.get('link'));
    // Relative links resolve against the page; an absolute one elsewhere is refused now,
    // so it is neither requested nor saved in a checkpoint.
    const next = link === undefined ? undefined : resolveLink(link, url);
    const foreignNext = link === undefined ? undefined : this.foreignPage(next ?? '');
    if (foreignNext) throw new ForeignPageError("the Link header's next page", foreignNext);
    return { deliveries: inWindow, next };
  }

  /** Every delivery summary of the hook within the window, newest first, page by page. */
  async *listDeliveries(hook: HookRef, options: ListOptions = {}): AsyncGenerator<DeliverySummary> {
    let url: string | undefined = options.startUrl ?? this.firstPageUrl(hook, options.perPage);
    while (url) {
      const page = await this.listPage(hook, url, options);
      yield* page.deliveries;
      url = page.next;
    }
  }

  /** One delivery with its request headers and payload (conditional, so a refetch costs a 304). */
  async getDelivery(hook: HookRef, id: number, signal?: AbortSignal): Promise<DeliveryDetail> {
    const response = await this.http.request<DeliveryDetail>(`${this.apiUrl}${hookPath(hook)}/${id}`, {
      headers: await this.headers(hook),
      conditional: true,
      signal,
    });
    return response.body;
  }

  /**
   * Fetches many deliveries concurrently under the HttpClient's bound. One result per
   * id, in the order given; a failure is reported per item, never fails the rest.
   */
  async getDeliveries(
    hook: HookRef,
    ids: readonly number[],
    signal?: AbortSignal,
  ): Promise<DeliveryResult[]> {
    return Promise.all(
      ids.map(async (id): Promise<DeliveryResult> => {
        try {
          return { id, delivery: await this.getDelivery(hook, id, signal) };
        } catch (error) {
          return { id, error: error instanceof Error ? error : new Error(String(error)) };
        }
      }),
    );
  }

  /** Asks GitHub to deliver `id` again (POST …/deliveries/{id}/attempts; 202). */
  async redeliver(hook: HookRef, id: number, signal?: AbortSignal): Promise<void> {
    await this.http.request(`${this.apiUrl}${hookPath(hook)}/${id}/attempts`, {
      method: 'POST',
      headers: await this.headers(hook),
      signal,
    });
  }
}
