// The Actions service client against the fake: the registration handshake shared by
// concurrent callers, admin-token refresh, every call, typed errors, retries, and the
// scale-set statistics poll. Proved by counting requests at the fake server.
import { describe, expect, it } from 'vitest';
import {
  GitHubApiError,
  NotFoundError,
  RunnerExistsError,
  RunnerNotFoundError,
} from '../../../github/errors.js';
import { pollScaleSetStatistics } from '../../../github/scale-set-stats.js';
import { http, serviceClient, startFake, TOKEN } from './setup.js';

const handshakes = (fake: Awaited<ReturnType<typeof startFake>>) => ({
  registrationTokens: fake.count('POST', '/orgs/octo-org/actions/runners/registration-token'),
  registrations: fake.count('POST', '/actions/runner-registration'),
});

describe('admin token', () => {
  it('50 concurrent callers trigger exactly one handshake', async () => {
    const fake = await startFake({ latencyMs: 20 });
    const client = serviceClient(fake);
    const scaleSets = await Promise.all(Array.from({ length: 50 }, () => client.getRunnerScaleSetById(7)));
    expect(scaleSets.every((s) => s.name === 'scale-set-7')).toBe(true);
    expect(handshakes(fake)).toEqual({ registrationTokens: 1, registrations: 1 });
    expect(client.tokenRefreshes).toBe(1);
    expect(fake.count('GET', '/service/_apis/runtime/runnerscalesets/7')).toBe(50);
    // The handshake: the token for the registration token, RemoteAuth for the admin token.
    const [tokenRequest, registration] = fake.requests;
    expect(tokenRequest?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(registration?.headers.authorization).toMatch(/^RemoteAuth registration-token-\d+$/);
    expect(JSON.parse(registration?.body ?? '{}')).toEqual({
      url: 'https://github.com/octo-org',
      runner_event: 'register',
    });
  });

  it('is reused while it has more than 60 s left and refreshed when it has less', async () => {
    const longLived = await startFake({ adminTokenTtlSeconds: 3600 });
    const a = serviceClient(longLived);
    await a.getRunnerScaleSetById(7);
    await a.getRunnerScaleSetById(7);
    expect(handshakes(longLived).registrations).toBe(1);

    const shortLived = await startFake({ adminTokenTtlSeconds: 59 });
    const b = serviceClient(shortLived);
    await b.getRunnerScaleSetById(7);
    await b.getRunnerScaleSetById(7);
    expect(handshakes(shortLived).registrations).toBe(2);
  });

  it('a revoked token (401) is refreshed once for all concurrent callers', async () => {
    const fake = await startFake({ latencyMs: 10 });
    const client = serviceClient(fake);
    await client.getRunnerScaleSetById(7);
    fake.revokeAdminTokens();
    await Promise.all(Array.from({ length: 20 }, () => client.getRunnerScaleSetById(7)));
    expect(handshakes(fake).registrations).toBe(2);
    expect(fake.requests.filter((r) => r.status === 401)).toHaveLength(20);
  });
});

describe('service calls', () => {
  it('reads scale sets, groups and runners, and writes runners', async () => {
    const fake = await startFake();
    fake.runnerGroups.set('linux', { id: 3, name: 'linux' });
    fake.addScaleSet({ id: 8, name: 'arm64', runnerGroupId: 3 });
    const client = serviceClient(fake);

    expect(await client.getRunnerGroupByName('linux')).toEqual({ id: 3, name: 'linux' });
    expect(await client.getRunnerScaleSet(3, 'arm64')).toMatchObject({ id: 8, runnerGroupName: 'linux' });
    expect(await client.getRunnerScaleSet(3, 'nope')).toBeNull();
    expect(await client.getRunnerScaleSetById(8)).toMatchObject({ name: 'arm64' });

    const config = await client.generateJitRunnerConfig({ name: 'r-1' }, 8);
    expect(config.runner).toEqual({ id: 1, name: 'r-1', runnerScaleSetId: 8 });
    expect(Buffer.from(config.encodedJITConfig, 'base64').toString()).toBe('jit:r-1');
    expect(JSON.parse(generateBody(fake))).toEqual({ name: 'r-1', workFolder: '_work' });
    expect(await client.getRunner(1)).toEqual(config.runner);
    expect(await client.getRunnerByName('r-1')).toEqual(config.runner);
    expect(await client.getRunnerByName('r-2')).toBeNull();
    await client.removeRunner(1);
    expect(fake.runners.size).toBe(0);
    // Every service call carries the api-version and the admin token.
    const service = fake.requests.filter((r) => r.path.startsWith('/service/'));
    expect(service.every((r) => r.path.includes('api-version=6.0-preview'))).toBe(true);
    expect(service.every((r) => r.headers.authorization?.startsWith('Bearer '))).toBe(true);
  });

  it('answers the service error bodies with typed errors carrying URL, status and typeName', async () => {
    const fake = await startFake();
    const client = serviceClient(fake);
    await client.generateJitRunnerConfig({ name: 'taken' }, 7);
    const exists = await client.generateJitRunnerConfig({ name: 'taken' }, 7).catch((e: unknown) => e);
    expect(exists).toBeInstanceOf(RunnerExistsError);
    expect(exists).toMatchObject({
      status: 409,
      method: 'POST',
      typeName: expect.stringContaining('AgentExistsException'),
    });
    expect((exists as Error).message).toContain(
      `${fake.url}/service/_apis/runtime/runnerscalesets/7/generatejitconfig`,
    );

    const missing = await client.getRunner(404).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(RunnerNotFoundError);
    expect((missing as GitHubApiError).typeName).toContain('AgentNotFoundException');
    await expect(client.removeRunner(404)).rejects.toBeInstanceOf(RunnerNotFoundError);
    await expect(client.getRunnerScaleSetById(99)).rejects.toBeInstanceOf(NotFoundError);
    const group = await client.getRunnerGroupByName('missing').catch((e: unknown) => e);
    expect(group).toBeInstanceOf(NotFoundError);
    expect((group as Error).message).toContain('groupName=missing');
    // Tokens travel in headers; no error ever shows one.
    for (const error of [exists, missing, group]) {
      expect(String(error)).not.toContain(TOKEN);
      expect(String(error)).not.toMatch(/registration-token-|eyJ/);
    }
  });

  it('retries 5xx and 429 with backoff honouring Retry-After, but not 501 or 4xx', async () => {
    const fake = await startFake();
    const client = serviceClient(fake);
    await client.getRunnerScaleSetById(7);
    const byId = '/service/_apis/runtime/runnerscalesets/7';

    fake.inject(byId, { status: 503 }, 2);
    await client.getRunnerScaleSetById(7);
    expect(fake.count('GET', byId)).toBe(1 + 3);

    fake.inject(byId, { status: 429, headers: { 'retry-after': '0.3' } });
    const started = Date.now();
    await client.getRunnerScaleSetById(7);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(fake.count('GET', byId)).toBe(4 + 2);

    fake.inject(byId, { status: 501 });
    await expect(client.getRunnerScaleSetById(7)).rejects.toMatchObject({ status: 501 });
    fake.inject(byId, { status: 400, body: { message: 'bad request' } });
    await expect(client.getRunnerScaleSetById(7)).rejects.toThrow(/answered 400: bad request/);
    expect(fake.count('GET', byId)).toBe(6 + 2);

    fake.inject(byId, { status: 502 }, 10);
    const exhausted = await serviceClient(fake, http({ retry: { maxRetries: 2 } }))
      .getRunnerScaleSetById(7)
      .catch((e: unknown) => e);
    expect(exhausted).toMatchObject({ status: 502 });
  });

  it('reports network failures with context after retrying', async () => {
    const fake = await startFake();
    const url = fake.url;
    await fake.stop();
    const client = serviceClient({ url } as typeof fake, http({ retry: { maxRetries: 2 } }));
    const error = await client.getRunnerScaleSetById(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitHubApiError);
    expect(error).toMatchObject({ status: 0, name: 'GitHubNetworkError' });
    expect((error as Error).message).toContain(
      `POST ${url}/orgs/octo-org/actions/runners/registration-token failed`,
    );
  });
});

describe('pollScaleSetStatistics', () => {
  it('returns the seven statistics per scale set, fresh each poll, and reports failures per scale set', async () => {
    const fake = await startFake();
    fake.addScaleSet({
      id: 8,
      name: 'gpu',
      runnerGroupId: 1,
      statistics: {
        totalAvailableJobs: 5,
        totalAcquiredJobs: 4,
        totalAssignedJobs: 3,
        totalRunningJobs: 2,
        totalRegisteredRunners: 9,
        totalBusyRunners: 2,
        totalIdleRunners: 7,
      },
    });
    const client = serviceClient(fake);
    const polls = await pollScaleSetStatistics(client, [7, 8, 99]);
    expect(polls.map((p) => [p.id, p.ok])).toEqual([
      [7, true],
      [8, true],
      [99, false],
    ]);
    expect(polls[1]).toEqual({
      id: 8,
      ok: true,
      sample: {
        id: 8,
        scaleSet: 'gpu',
        runnerGroup: 'Default',
        statistics: {
          totalAvailableJobs: 5,
          totalAcquiredJobs: 4,
          totalAssignedJobs: 3,
          totalRunningJobs: 2,
          totalRegisteredRunners: 9,
          totalBusyRunners: 2,
          totalIdleRunners: 7,
        },
      },
    });
    expect(polls[2]?.ok === false && polls[2].error).toBeInstanceOf(NotFoundError);
    fake.statistics = { ...fake.statistics, totalRunningJobs: 11 };
    const again = await pollScaleSetStatistics(client, [7]);
    expect(again[0]?.ok && again[0].sample.statistics.totalRunningJobs).toBe(11);
  });
});

function generateBody(fake: Awaited<ReturnType<typeof startFake>>): string {
  return fake.requests.find((r) => r.path.includes('/generatejitconfig'))?.body ?? '';
}
