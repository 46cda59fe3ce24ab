// api.github.com's webhook delivery log: list (cursor pages, newest first) and fetch
// deliveries of a repository, organization or app hook, with bounded concurrency,
// ETags and rate limits handled by the HTTP layer.
import { AppAuth, type GitHubAuth } from './auth.js';
import type { HttpClient } from './http.js';
import { nextLink } from './policy.js';

export type HookRef =
  | { kind: 'repo'; owner: string; repo: string; hookId: number }
  | { kind: 'org'; org: string; hookId: number }
  | { kind: 'app' };

export interface DeliverySummary {
  id: number;
  guid: string;
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
  request: { headers: Record<string, string>; payload: unknown };
}

export interface ListOptions {
  /** Stop at deliveries older than this (ms); the log is newest first. */
  sinceMs?: number;
  /** Skip deliveries at or after this (ms). */
  untilMs?: number;
  perPage?: number;
  /** Resume from a cursor URL saved from a previous page. */
  startUrl?: string;
  signal?: AbortSignal;
}

export interface DeliveryPage {
  deliveries: DeliverySummary[];
  /** The next page's URL; undefined on the last page or once past `sinceMs`. */
  next: string | undefined;
}

export function hookPath(hook: HookRef): string {
  switch (hook.kind) {
    case 'repo':
      return `/repos/${hook.owner}/${hook.repo}/hooks/${hook.hookId}/deliveries`;
    case 'org':
      return `/orgs/${hook.org}/hooks/${hook.hookId}/deliveries`;
    case 'app':
      return '/app/hook/deliveries';
  }
}

export class GitHubRestClient {
  constructor(
    private readonly http: HttpClient,
    private readonly auth: GitHubAuth,
    private readonly apiUrl = 'https://api.github.com',
  ) {}

  private async headers(hook: HookRef): Promise<Record<string, string>> {
    // App hook endpoints authenticate as the app itself (its JWT), not an installation.
    const authorization =
      hook.kind === 'app' && this.auth instanceof AppAuth
        ? `Bearer ${this.auth.jwt()}`
        : await this.auth.authorization();
    return { authorization, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
  }

  firstPageUrl(hook: HookRef, perPage = 100): string {
    return `${this.apiUrl}${hookPath(hook)}?per_page=${Math.min(100, Math.max(1, perPage))}`;
  }

  /** One page of the delivery log, filtered to the window. */
  async listPage(hook: HookRef, url: string, options: ListOptions = {}): Promise<DeliveryPage> {
    const response = await this.http.request<DeliverySummary[]>(url, {
      headers: await this.headers(hook),
      conditional: true,
      signal: options.signal,
    });
    const all = response.body ?? [];
    const inWindow = all.filter((d) => {
      const at = Date.parse(d.delivered_at);
      return (
        (options.sinceMs === undefined || at >= options.sinceMs) &&
        (options.untilMs === undefined || at < options.untilMs)
      );
    });
    const oldest = all.length > 0 ? Date.parse(all[all.length - 1]!.delivered_at) : undefined;
    const pastSince = options.sinceMs !== undefined && oldest !== undefined && oldest < options.sinceMs;
    return { deliveries: inWindow, next: pastSince ? undefined : nextLink(response.headers.get('link')) };
  }

  /** Every delivery summary of the hook within the window, newest first. */
  async *listDeliveries(hook: HookRef, options: ListOptions = {}): AsyncGenerator<DeliverySummary> {
    let url: string | undefined = options.startUrl ?? this.firstPageUrl(hook, options.perPage);
    while (url) {
      const page = await this.listPage(hook, url, options);
      yield* page.deliveries;
      url = page.next;
    }
  }

  async getDelivery(hook: HookRef, id: number, signal?: AbortSignal): Promise<DeliveryDetail> {
    const response = await this.http.request<DeliveryDetail>(`${this.apiUrl}${hookPath(hook)}/${id}`, {
      headers: await this.headers(hook),
      conditional: true,
      signal,
    });
    return response.body;
  }

  /** Fetches many deliveries concurrently (the HTTP client's bound applies); errors per item. */
  async getDeliveries(
    hook: HookRef,
    ids: readonly number[],
    signal?: AbortSignal,
  ): Promise<Array<{ id: number; delivery?: DeliveryDetail; error?: Error }>> {
    return Promise.all(
      ids.map(async (id) => {
        try {
          return { id, delivery: await this.getDelivery(hook, id, signal) };
        } catch (error) {
          return { id, error: error as Error };
        }
      }),
    );
  }
}
