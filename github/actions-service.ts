// The Actions service as runner scale sets use it: the registration handshake for an
// admin token (one refresh in flight, shared by every concurrent caller), scale sets,
// runner groups, runners and just-in-time runner configs. There is no lock around
// calls (the scaleset Go client serialises everything): concurrency is bounded by the
// HTTP client, not one request at a time.
import { type GitHubAuth, jwtExpiry, SharedToken } from './auth.js';
import { GitHubApiError, NotFoundError } from './errors.js';
import type { HttpClient } from './http.js';
import {
  batchGenerateJitConfigs,
  type JitBatchOptions,
  type JitBatchResult,
  type JitBatchSettings,
} from './jit-batch.js';

export const SERVICE_API_VERSION = '6.0-preview';

/** Refresh the admin token when it expires within this (docs/github-facts.md). */
export const ADMIN_TOKEN_MARGIN_MS = 60_000;

export interface ScaleSetStatistics {
  totalAvailableJobs: number;
  totalAcquiredJobs: number;
  totalAssignedJobs: number;
  totalRunningJobs: number;
  totalRegisteredRunners: number;
  totalBusyRunners: number;
  totalIdleRunners: number;
}

export interface RunnerScaleSet {
  id: number;
  name: string;
  runnerGroupId: number;
  runnerGroupName?: string;
  /** As of the moment it was fetched; use getScaleSetStatistics for fresh numbers. */
  statistics?: Partial<ScaleSetStatistics>;
  [extra: string]: unknown;
}

export interface RunnerGroup {
  id: number;
  name: string;
  [extra: string]: unknown;
}

export interface RunnerReference {
  id: number;
  name: string;
  runnerScaleSetId: number;
  [extra: string]: unknown;
}

export interface JitRunnerConfig {
  runner: RunnerReference;
  /** Base64 runner configuration, handed to the runner with --jitconfig. */
  encodedJITConfig: string;
}

export interface JitSettings {
  /** Unique runner name. */
  name: string;
  /** Default `_work`. */
  workFolder?: string;
}

/** The service calls; implemented by ActionsServiceClient and wrapped by withCache. */
export interface ActionsService {
  /** A scale set by runner group and name; null when there is none. */
  getRunnerScaleSet(runnerGroupId: number, name: string): Promise<RunnerScaleSet | null>;
  /** A scale set by id; NotFoundError when there is none. */
  getRunnerScaleSetById(id: number): Promise<RunnerScaleSet>;
  /** NotFoundError when there is no group of that name. */
  getRunnerGroupByName(name: string): Promise<RunnerGroup>;
  /** One just-in-time runner; RunnerExistsError when the name is taken. */
  generateJitRunnerConfig(
    settings: JitSettings,
    scaleSetId: number,
    signal?: AbortSignal,
  ): Promise<JitRunnerConfig>;
  /** RunnerNotFoundError when it is gone. */
  getRunner(id: number): Promise<RunnerReference>;
  /** null when no runner has that name. */
  getRunnerByName(name: string): Promise<RunnerReference | null>;
  /** The runners registered to a scale set now. */
  listRunners(scaleSetId: number): Promise<RunnerReference[]>;
  removeRunner(id: number): Promise<void>;
  /** The scale set's seven statistics, fetched now. */
  getScaleSetStatistics(scaleSetId: number): Promise<ScaleSetStatistics>;
}

export interface ActionsServiceOptions {
  http: HttpClient;
  /** A token or a GitHub App installation (used for the registration token only). */
  auth: GitHubAuth;
  /** https://api.github.com, or https://HOST/api/v3 on GHES. */
  apiUrl: string;
  /** The org, enterprise or repo URL runners register to, e.g. https://github.com/octo-org. */
  githubConfigUrl: string;
  now?: () => number;
}

interface AdminToken {
  serviceUrl: string;
  token: string;
  expiresAt: number;
}

/** The registration-token endpoint for an org, repo or enterprise config URL. */
export function registrationTokenPath(configUrl: string): string {
  const path = new URL(configUrl).pathname.split('/').filter(Boolean).map(encodeURIComponent);
  if (path[0] === 'enterprises' && path.length === 2)
    return `/enterprises/${path[1]}/actions/runners/registration-token`;
  if (path.length === 1) return `/orgs/${path[0]}/actions/runners/registration-token`;
  if (path.length === 2) return `/repos/${path[0]}/${path[1]}/actions/runners/registration-token`;
  throw new Error(`cannot tell an org, repository or enterprise from ${configUrl}`);
}

/** A service URL with the api-version every call carries. */
export function serviceCallUrl(
  serviceUrl: string,
  path: string,
  query: Record<string, string | number> = {},
): string {
  const url = new URL(`${serviceUrl.replace(/\/$/, '')}${path}`);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
  url.searchParams.set('api-version', SERVICE_API_VERSION);
  return url.toString();
}

const SCALE_SETS = '/_apis/runtime/runnerscalesets';
const RUNNER_GROUPS = '/_apis/runtime/runnergroups/';
const AGENTS = '/_apis/distributedtask/pools/0/agents';

export class ActionsServiceClient implements ActionsService {
  private readonly admin: SharedToken<AdminToken>;
  private readonly now: () => number;

  constructor(private readonly options: ActionsServiceOptions) {
    this.now = options.now ?? Date.now;
    this.admin = new SharedToken(() => this.register(), ADMIN_TOKEN_MARGIN_MS, this.now);
  }

  /** Admin-token handshakes so far (all concurrent callers share one). */
  get tokenRefreshes(): number {
    return this.admin.refreshes;
  }

  /** PAT/installation token -> registration token -> (RemoteAuth) service URL + admin JWT. */
  private async register(): Promise<AdminToken> {
    const { http, auth, githubConfigUrl } = this.options;
    const apiUrl = this.options.apiUrl.replace(/\/$/, '');
    const registration = await http.request<{ token?: unknown }>(
      `${apiUrl}${registrationTokenPath(githubConfigUrl)}`,
      { method: 'POST', headers: { authorization: await auth.authorization() } },
    );
    if (typeof registration.body?.token !== 'string') {
      throw new Error(`registration token for ${githubConfigUrl}: the answer has no token`);
    }
    const url = `${apiUrl}/actions/runner-registration`;
    const admin = await http.request<{ url?: unknown; token?: unknown }>(url, {
      method: 'POST',
      headers: { authorization: `RemoteAuth ${registration.body.token}` },
      body: { url: githubConfigUrl, runner_event: 'register' },
    });
    const { url: serviceUrl, token } = admin.body ?? {};
    if (typeof serviceUrl !== 'string' || typeof token !== 'string') {
      throw new Error(`POST ${url}: the answer has no service url or token`);
    }
    return {
      serviceUrl: serviceUrl.replace(/\/$/, ''),
      token,
      // An unreadable expiry: assume a short life, so the next refresh comes early rather than late.
      expiresAt: jwtExpiry(token) ?? this.now() + 10 * 60_000,
    };
  }

  private async call<T>(
    method: string,
    path: string,
    query: Record<string, string | number> = {},
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const admin = await this.admin.get();
      try {
        const response = await this.options.http.request<T>(serviceCallUrl(admin.serviceUrl, path, query), {
          method,
          headers: { authorization: `Bearer ${admin.token}` },
          body,
          signal,
        });
        return response.body;
      } catch (error) {
        // Revoked or expired early: one fresh handshake, shared with other callers, then once more.
        if (attempt === 0 && error instanceof GitHubApiError && error.status === 401) {
          this.admin.invalidate(admin);
          continue;
        }
        throw error;
      }
    }
  }

  async getRunnerScaleSet(runnerGroupId: number, name: string): Promise<RunnerScaleSet | null> {
    const list = await this.call<{ count: number; value?: RunnerScaleSet[] }>('GET', SCALE_SETS, {
      runnerGroupId,
      name,
    });
    return list?.value?.[0] ?? null;
  }

  async getRunnerScaleSetById(id: number): Promise<RunnerScaleSet> {
    const scaleSet = await this.call<RunnerScaleSet | undefined>('GET', `${SCALE_SETS}/${id}`);
    // An empty answer means the same as a 404 to callers: there is no such scale set.
    if (!scaleSet) throw new NotFoundError(404, 'GET', `${SCALE_SETS}/${id}`, `no runner scale set ${id}`);
    return scaleSet;
  }

  async getRunnerGroupByName(name: string): Promise<RunnerGroup> {
    const list = await this.call<{ count: number; value?: RunnerGroup[] }>('GET', RUNNER_GROUPS, {
      groupName: name,
    });
    const group = list?.value?.[0];
    if (!group) {
      throw new NotFoundError(
        404,
        'GET',
        `${RUNNER_GROUPS}?groupName=${name}`,
        `no runner group named ${name}`,
      );
    }
    return group;
  }

  generateJitRunnerConfig(
    settings: JitSettings,
    scaleSetId: number,
    signal?: AbortSignal,
  ): Promise<JitRunnerConfig> {
    return this.call(
      'POST',
      `${SCALE_SETS}/${scaleSetId}/generatejitconfig`,
      {},
      { name: settings.name, workFolder: settings.workFolder ?? '_work' },
      signal,
    );
  }

  getRunner(id: number): Promise<RunnerReference> {
    return this.call('GET', `${AGENTS}/${id}`);
  }

  async getRunnerByName(name: string): Promise<RunnerReference | null> {
    const list = await this.call<{ count: number; value?: RunnerReference[] }>('GET', AGENTS, {
      agentName: name,
    });
    return list?.value?.[0] ?? null;
  }

  async listRunners(scaleSetId: number): Promise<RunnerReference[]> {
    // The pool lists every runner of the config URL; a scale set's are those that name it.
    const list = await this.call<{ count: number; value?: RunnerReference[] }>('GET', AGENTS);
    return (list?.value ?? []).filter((runner) => runner.runnerScaleSetId === scaleSetId);
  }

  async removeRunner(id: number): Promise<void> {
    await this.call('DELETE', `${AGENTS}/${id}`);
  }

  async getScaleSetStatistics(scaleSetId: number): Promise<ScaleSetStatistics> {
    return completeStatistics((await this.getRunnerScaleSetById(scaleSetId)).statistics);
  }

  /** {@link batchGenerateJitConfigs} over this client. */
  batchGenerateJitConfigs(
    count: number,
    settings: JitBatchSettings,
    scaleSetId: number,
    options?: JitBatchOptions,
  ): Promise<JitBatchResult> {
    return batchGenerateJitConfigs(this, count, settings, scaleSetId, options);
  }
}

/** The service leaves zero counters out of its JSON: a missing one is 0. */
export function completeStatistics(raw: Partial<ScaleSetStatistics> | undefined): ScaleSetStatistics {
  const n = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  return {
    totalAvailableJobs: n(raw?.totalAvailableJobs),
    totalAcquiredJobs: n(raw?.totalAcquiredJobs),
    totalAssignedJobs: n(raw?.totalAssignedJobs),
    totalRunningJobs: n(raw?.totalRunningJobs),
    totalRegisteredRunners: n(raw?.totalRegisteredRunners),
    totalBusyRunners: n(raw?.totalBusyRunners),
    totalIdleRunners: n(raw?.totalIdleRunners),
  };
}
