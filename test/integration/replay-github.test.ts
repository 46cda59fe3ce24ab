// Replay from GitHub's delivery log (a fake GitHub on loopback) into a real broker:
// every workflow delivery published once, and an interrupted replay resumes from its
// checkpoint without requesting anything twice beyond the page in flight.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenAuth } from '../../github/auth.js';
import { HttpClient } from '../../github/http.js';
import { GitHubRestClient } from '../../github/rest.js';
import { DeliveryPublisher } from '../../ingest/publisher.js';
import { replayFromGitHub } from '../../replay/github.js';
import { codecs } from '../../schemas/codecs.js';
import { FakeGitHub } from '../support/fake-github.js';
import { createTestTopics, readTopic, testKafka, testLogger } from '../support/kafka.js';

describe('replay --github', () => {
  let fake: FakeGitHub | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await fake?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('publishes 1,000 logged deliveries across pages once, resuming an interrupted run from its checkpoint', async () => {
    fake = await new FakeGitHub({ deliveries: 1000, latencyMs: 2 }).start();
    dir = await mkdtemp(join(tmpdir(), 'runstream-ghreplay-'));
    const topics = await createTestTopics(3);
    const hook = { kind: 'repo', owner: 'octo-org', repo: 'octo-repo', hookId: 4242 } as const;
    const client = new GitHubRestClient(new HttpClient({ concurrency: 10 }), new TokenAuth('t'), fake.url);
    const publisher = new DeliveryPublisher({
      kafka: testKafka(),
      topic: topics.names.deliveries,
      logger: testLogger,
    });
    const checkpointPath = join(dir, 'checkpoint.json');
    const reports: string[] = [];
    try {
      // First run: interrupted while the sixth page is in flight.
      const controller = new AbortController();
      let pages = 0;
      const listRequests = () => fake!.requests.filter((r) => r.path.includes('/deliveries?')).length;
      const stopOnSixthPage = setInterval(() => {
        if (listRequests() >= 6) controller.abort(new Error('interrupted'));
      }, 1);
      await expect(
        replayFromGitHub({
          client,
          hook,
          publisher,
          checkpointPath,
          report: (m) => reports.push(m),
          signal: controller.signal,
          onPage: () => {
            pages += 1;
          },
        }),
      ).rejects.toThrow();
      clearInterval(stopOnSixthPage);
      expect(pages).toBe(5);

      // Second run: resumes from the checkpoint.
      const counts = await replayFromGitHub({
        client,
        hook,
        publisher,
        checkpointPath,
        report: (m) => reports.push(m),
      });
      expect(reports).toEqual([]);
      expect(counts).toEqual({ sent: 900, skipped: 100, invalid: 0 });
    } finally {
      await publisher.close();
    }

    const records = await readTopic(topics.names.deliveries);
    const ids = records.map((r) => codecs.delivery.decode(r.message.value!).id);
    expect(ids).toHaveLength(900);
    expect(new Set(ids).size).toBe(900);
    const expectedIds = fake.log.filter((d) => d.event !== 'push').map((d) => d.guid);
    expect(new Set(ids)).toEqual(new Set(expectedIds));
    const sample = codecs.delivery.decode(records[0]!.message.value!);
    expect(sample.source).toBe('replay');

    // Nothing requested twice, except the list page and deliveries of the page in flight.
    const counted = new Map<string, number>();
    for (const r of fake.requests) counted.set(r.path, (counted.get(r.path) ?? 0) + 1);
    const twice = [...counted].filter(([, n]) => n > 1).map(([path]) => path);
    const listTwice = twice.filter((p) => p.includes('/deliveries?'));
    expect(listTwice).toHaveLength(1);
    expect(twice.length).toBeLessThanOrEqual(1 + 100);
    expect([...counted.values()].every((n) => n <= 2)).toBe(true);
    // Pushes are never fetched: listing says what they are.
    const pushIds = new Set(fake.log.filter((d) => d.event === 'push').map((d) => d.id));
    expect(fake.requests.some((r) => pushIds.has(Number(r.path.split('/').pop())))).toBe(false);
  });
});
