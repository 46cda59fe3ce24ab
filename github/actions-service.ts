// The Actions service as runner scale sets use it: the registration handshake for an
// admin token (refreshed once for all concurrent callers), scale sets, runner groups,
// runners and just-in-time runner configs. No lock around calls: concurrency is the
// HTTP layer's bound, not one request at a time.
import type { GitHubAuth } from './auth.js';
import { SharedToken } from './auth.js';
import { NotFoundError, RunnerExistsError } from './errors.js';
import type { HttpClient } from './http.js';

const API_VERSION = 'api-version=6.0-preview';

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
  statistics?: ScaleSetStatistics;
  [extra: string]: unknown;
}

export interface RunnerGroup {
  id: number;
  name: string;
}

export interface RunnerReference {
  id: number;
  name: string;
  runnerScaleSetId: number;
}

export interface JitRunnerConfig {
  runner: RunnerReference;
  encodedJITConfig: string;
}

export interface JitSettings {
  name: string;
  workFolder?: string;
}

/** The calls withCache wraps; implemented by ActionsServiceClient. */
export interface ActionsService {
  getRunnerScaleSet(runnerGroupId: number, name: string): Promise<RunnerScaleSet | null>;
  getRunnerScaleSetById(id: number): Promise<RunnerScaleSet>;
  getRunnerGroupByName(name: string): Promise<RunnerGroup>;
  generateJitRunnerConfig(
    settings: JitSettings,
    scaleSetId: number,
    signal?: AbortSignal,
  ): Promise<JitRunnerConfig>;
  getRunner(id: number): Promise<RunnerReference>;
  getRunnerByName(name: string): Promise<RunnerReference | null>;
  removeRunner(id: number): Promise<void>;
  getScaleSetStatistics(scaleSetId: number): Promise<ScaleSetStatistics>;
}

export interface ActionsServiceOptions {
  http: HttpClient;
  auth: GitHubAuth;
  /** https://api.github.com, or a GHES API URL. */
  apiUrl: string;
  /** The org, enterprise or repo URL runners register to, e.g. https://github.com/octo-org. */
  githubConfigUrl: string;
}

interface AdminToken {
  serviceUrl: string;
  token: string;
  expiresAt: number;
}

/** The `exp` of a JWT, in ms; undefined when it is not a readable JWT. */
export function jwtExpiry(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function registrationTokenPath(configUrl: string): string {
  const path = new URL(configUrl).pathname.split('/').filter(Boolean);
  if (path[0] === 'enterprises' && path[1])
    return `/enterprises/${path[1]}/actions/runners/registration-token`;
  if (path.length === 1) return `/orgs/${path[0]}/actions/runners/registration-token`;
  if (path.length === 2) return `/repos/${path[0]}/${path[1]}/actions/runners/registration-token`;
  throw new Error(`cannot tell org, repo or enterprise from ${configUrl}`);
}

export class ActionsServiceClient implements ActionsService {
  private readonly admin: SharedToken<AdminToken>;

  constructor(private readonly options: ActionsServiceOptions) {
    this.admin = new SharedToken(() => this.register());
  }

  /** How many admin-token handshakes ran (all concurrent callers share one). */
  get tokenRefreshes(): number {
    return this.admin.refreshes;
  }

  private async register(): Promise<AdminToken> {
    const { http, auth, apiUrl, githubConfigUrl } = this.options;
    const registration = await http.request<{ token: string; expires_at: string }>(
      `${apiUrl}${registrationTokenPath(githubConfigUrl)}`,
      { method: 'POST', headers: { authorization: await auth.authorization() } },
    );
    const admin = await http.request<{ url: string; token: string }>(
      `${apiUrl}/actions/runner-registration`,
      {
        method: 'POST',
        headers: { authorization: `RemoteAuth ${registration.body.token}` },
        body: { url: githubConfigUrl, runner_event: 'register' },
      },
    );
    return {
      serviceUrl: admin.body.url.replace(/\/$/, ''),
      token: admin.body.token,
      expiresAt: jwtExpiry(admin.body.token) ?? Date.now() + 10 * 60_000,
    };
  }

  private async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const admin = await this.admin.get();
    const separator = path.includes('?') ? '&' : '?';
    const response = await this.options.http.request<T>(
      `${admin.serviceUrl}${path}${separator}${API_VERSION}`,
      {
        method,
        headers: { authorization: `Bearer ${admin.token}` },
        body,
        signal,
      },
    );
    return response.body;
  }

  async getRunnerScaleSet(runnerGroupId: number, name: string): Promise<RunnerScaleSet | null> {
    const list = await this.call<{ count: number; value: RunnerScaleSet[] }>(
      'GET',
      `/_apis/runtime/runnerscalesets?runnerGroupId=${runnerGroupId}&name=${encodeURIComponent(name)}`,
    );
    return list.value?.[0] ?? null;
  }

  getRunnerScaleSetById(id: number): Promise<RunnerScaleSet> {
    return this.call('GET', `/_apis/runtime/runnerscalesets/${id}`);
  }

  async getRunnerGroupByName(name: string): Promise<RunnerGroup> {
    const list = await this.call<{ count: number; value: RunnerGroup[] }>(
      'GET',
      `/_apis/runtime/runnergroups/?groupName=${encodeURIComponent(name)}`,
    );
    const group = list.value?.[0];
    if (!group) throw new NotFoundError(404, 'GET', 'runnergroups', `no runner group named ${name}`);
    return group;
  }

  generateJitRunnerConfig(
    settings: JitSettings,
    scaleSetId: number,
    signal?: AbortSignal,
  ): Promise<JitRunnerConfig> {
    return this.call(
      'POST',
      `/_apis/runtime/runnerscalesets/${scaleSetId}/generatejitconfig`,
      { name: settings.name, workFolder: settings.workFolder ?? '_work' },
      signal,
    );
  }

  getRunner(id: number): Promise<RunnerReference> {
    return this.call('GET', `/_apis/distributedtask/pools/0/agents/${id}`);
  }

  async getRunnerByName(name: string): Promise<RunnerReference | null> {
    const list = await this.call<{ count: number; value: RunnerReference[] }>(
      'GET',
      `/_apis/distributedtask/pools/0/agents?agentName=${encodeURIComponent(name)}`,
    );
    return list.value?.[0] ?? null;
  }

  async removeRunner(id: number): Promise<void> {
    await this.call('DELETE', `/_apis/distributedtask/pools/0/agents/${id}`);
  }

  async getScaleSetStatistics(scaleSetId: number): Promise<ScaleSetStatistics> {
    const scaleSet = await this.getRunnerScaleSetById(scaleSetId);
    if (!scaleSet.statistics) throw new Error(`scale set ${scaleSetId} reported no statistics`);
    return scaleSet.statistics;
  }
}

export type JitResult =
  | { index: number; name: string; ok: true; config: JitRunnerConfig }
  | { index: number; name: string; ok: false; error: Error };

export interface BatchOptions {
  /** POSTs in flight at once; the HTTP client's bound applies too. */
  concurrency?: number;
  signal?: AbortSignal;
  /** Unique runner names; default `<namePrefix>-<random>-<index>`. */
  nameFor?: (index: number) => string;
}

/**
 * Generates `count` JIT configs with up to `concurrency` POSTs in flight. Every item
 * is reported: successes and per-item errors, never all-or-nothing. A runner-exists
 * answer (a retried POST that had succeeded) is recovered by removing the runner when
 * it belongs to this scale set and generating again. Cancelled items report the abort.
 */
export async function batchGenerateJitConfigs(
  service: ActionsService,
  count: number,
  settings: { namePrefix: string; workFolder?: string },
  scaleSetId: number,
  options: BatchOptions = {},
): Promise<JitResult[]> {
  const batchId = Math.random().toString(36).slice(2, 8);
  const nameFor = options.nameFor ?? ((i: number) => `${settings.namePrefix}-${batchId}-${i}`);
  const results: JitResult[] = new Array(count);
  let next = 0;
  const generate = async (name: string): Promise<JitRunnerConfig> => {
    try {
      return await service.generateJitRunnerConfig(
        { name, workFolder: settings.workFolder },
        scaleSetId,
        options.signal,
      );
    } catch (error) {
      if (!(error instanceof RunnerExistsError)) throw error;
      const existing = await service.getRunnerByName(name);
      if (!existing || existing.runnerScaleSetId !== scaleSetId) throw error;
      await service.removeRunner(existing.id);
      return service.generateJitRunnerConfig(
        { name, workFolder: settings.workFolder },
        scaleSetId,
        options.signal,
      );
    }
  };
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const name = nameFor(index);
      if (options.signal?.aborted) {
        results[index] = {
          index,
          name,
          ok: false,
          error: new Error('cancelled', { cause: options.signal.reason }),
        };
        continue;
      }
      try {
        results[index] = { index, name, ok: true, config: await generate(name) };
      } catch (error) {
        results[index] = { index, name, ok: false, error: error as Error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(count, options.concurrency ?? 10)) }, worker));
  return results;
}
