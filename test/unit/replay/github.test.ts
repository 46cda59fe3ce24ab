// `replay --github` resumes from a checkpoint file; the file is input like any other:
// a next page off the configured API's origin is refused before anything is fetched
// (the token goes with every request), with one line naming the file and the origin.
//
// `replay --github` and the GUID rule: a log entry whose guid is not a GUID is reported
// by its log id, neither fetched nor published; the rest of the page is.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GitHubReplayCheckpoint } from '../../../replay/github.js';
import { replayFromGitHub } from '../../../replay/github.js';
import type { KeyedDelivery } from '../../../schemas/delivery.js';
import { REPO_HOOK, restClient, startFake, TOKEN } from '../github/setup.js';

describe('replay --github checkpoint', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runstream-checkpoint-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Replays from a checkpoint whose next page `next` makes from the API's URL. */
  async function resume(next: (apiUrl: string) => unknown) {
    const api = await startFake({ deliveries: 20 });
    const nextPageUrl = next(api.url);
    const checkpointPath = join(dir, 'checkpoint.json');
    const checkpoint = {
      hook: REPO_HOOK,
      sinceMs: null,
      untilMs: null,
      nextPageUrl,
      counts: { sent: 0, skipped: 0, invalid: 0 },
    } satisfies Omit<GitHubReplayCheckpoint, 'nextPageUrl'> & { nextPageUrl: unknown };
    await writeFile(checkpointPath, JSON.stringify(checkpoint));
    const published: unknown[] = [];
    const run = replayFromGitHub({
      client: restClient(api),
      hook: REPO_HOOK,
      publisher: {
        publish: async (batch) => {
          published.push(...batch);
          return [];
        },
      },
      checkpointPath,
      report: () => undefined,
    });
    return { run, api, published, checkpointPath };
  }

  it('refuses a next page on another origin: nothing fetched there or from the API, nothing published', async () => {
    const elsewhere = await startFake({ deliveries: 20 });
    const foreign = `${elsewhere.url}/repos/octo-org/octo-repo/hooks/4242/deliveries?per_page=100&cursor=10`;
    const { run, api, published, checkpointPath } = await resume(() => foreign);
    const error = await run.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toBe(
      `checkpoint ${checkpointPath}: its next page is on ${elsewhere.url}, not on the GitHub API's origin ${api.url}; nothing was fetched (the token is sent only to the configured API URL): check RUNSTREAM_GITHUB_API_URL, or remove the checkpoint to start over`,
    );
    expect(error?.message).not.toContain(TOKEN);
    expect(error?.message).not.toContain('cursor=10');
    expect(elsewhere.requests).toHaveLength(0);
    expect(api.requests).toHaveLength(0);
    expect(published).toEqual([]);
  });

  it('refuses a next page that is not a URL string', async () => {
    for (const bad of [42, 'deliveries?cursor=10']) {
      const { run, api, published, checkpointPath } = await resume(() => bad);
      await expect(run).rejects.toThrow(`checkpoint ${checkpointPath}: `);
      expect(api.requests).toHaveLength(0);
      expect(published).toEqual([]);
    }
  });

  it('resumes from a next page on the API origin', async () => {
    const { run, api, published } = await resume(
      (url) => `${url}/repos/octo-org/octo-repo/hooks/4242/deliveries?per_page=10&cursor=10`,
    );
    // The log's 10 newest are behind the checkpoint: only the rest is read.
    const rest = api.log.slice(10);
    const workflow = rest.filter((d) => d.event !== 'push');
    expect(await run).toEqual({ sent: workflow.length, skipped: rest.length - workflow.length, invalid: 0 });
    expect(api.requests[0]?.path).toBe(
      '/repos/octo-org/octo-repo/hooks/4242/deliveries?per_page=10&cursor=10',
    );
    expect(published.map((d) => (d as { delivery: { id: string } }).delivery.id).sort()).toEqual(
      workflow.map((d) => d.guid).sort(),
    );
  });
});

describe('replay --github', () => {
  it('reports a logged delivery whose guid is not a GUID and publishes nothing of it', async () => {
    const fake = await startFake({ deliveries: 30 });
    const workflow = fake.log.filter((d) => d.event !== 'push');
    const forged = workflow[4]!;
    forged.guid = 'retired:job:399444496';
    const upper = workflow[7]!;
    upper.guid = upper.guid.toUpperCase();
    const published: KeyedDelivery[] = [];
    const reports: string[] = [];
    const counts = await replayFromGitHub({
      client: restClient(fake),
      hook: REPO_HOOK,
      publisher: {
        publish: async (batch) => {
          published.push(...batch);
          return [];
        },
      },
      report: (m) => reports.push(m),
    });
    expect(counts).toEqual({ sent: workflow.length - 1, skipped: 3, invalid: 1 });
    expect(reports).toEqual([
      `delivery ${forged.id}: delivery id "retired:job:399444496" is not a GUID (X-GitHub-Delivery is 8-4-4-4-12 hex digits, like 72d3162e-cc78-11e3-81ab-4c9367dc0958)`,
    ]);
    expect(fake.requests.filter((r) => r.path.endsWith(`/deliveries/${forged.id}`))).toEqual([]);
    expect(published.map((p) => p.delivery.id).sort()).toEqual(
      workflow
        .filter((d) => d !== forged)
        .map((d) => d.guid.toLowerCase())
        .sort(),
    );
  });
});
