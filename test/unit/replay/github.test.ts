// `replay --github` and the GUID rule: a log entry whose guid is not a GUID is reported
// by its log id, neither fetched nor published; the rest of the page is.
import { describe, expect, it } from 'vitest';
import { replayFromGitHub } from '../../../replay/github.js';
import type { KeyedDelivery } from '../../../schemas/delivery.js';
import { REPO_HOOK, restClient, startFake } from '../github/setup.js';

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
