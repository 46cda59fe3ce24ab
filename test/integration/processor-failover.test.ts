// Two processor processes share the partitions; one is SIGKILLed at a random moment
// mid-stream; the survivor takes over. The committed state must equal what the pure
// core computes from the input: nothing lost, nothing counted twice. The moment is drawn
// from a seed, printed with it (RUNSTREAM_TEST_SEED=<seed> draws the same moments again).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateStream, seededRandom } from '../../demo/stream.js';
import { brokers, createTestTopics, testKafka } from '../support/kafka.js';
import { plumbingKafka } from '../support/kafkajs.js';
import { publishDeliveries, waitForGroup } from '../support/publish.js';
import { comparable, expectedState, foldChangelogs } from '../support/state.js';

const root = join(import.meta.dirname, '..', '..');
const seed = Number(process.env.RUNSTREAM_TEST_SEED ?? Date.now() % 1_000_000);
if (!Number.isSafeInteger(seed)) throw new Error(`RUNSTREAM_TEST_SEED must be an integer, got ${seed}`);

function startProcessorProcess(prefix: string, stateDir: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli', 'run.ts'), 'processor'], {
    cwd: root,
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers().join(','),
      RUNSTREAM_TOPIC_PREFIX: prefix,
      RUNSTREAM_STATE_DIR: stateDir,
      RUNSTREAM_PROCESSOR_PORT: '0',
      RUNSTREAM_HOST: '127.0.0.1',
      RUNSTREAM_PROCESSOR_SESSION_TIMEOUT: '6s',
      // Small transactions, so a kill lands between, during and after many of them.
      RUNSTREAM_MAX_RECORDS_PER_TRANSACTION: '15',
      RUNSTREAM_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  return child;
}

/** Both processors joined and own partitions, so the kill hits a working owner. */
async function waitForMembers(groupId: string, members: number, timeoutMs = 60_000): Promise<void> {
  // A group's state is broker plumbing the port does not offer.
  const admin = plumbingKafka({ brokers: brokers(), clientId: 'failover-test' }).admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { groups } = await admin.describeGroups([groupId]);
      const group = groups[0];
      if (group?.state === 'Stable' && group.members.length === members) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`group ${groupId} did not reach ${members} stable members`);
  } finally {
    await admin.disconnect();
  }
}

describe('processor failover under SIGKILL', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve(undefined);
          }, 15_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
      }
    }
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  for (const iteration of [1, 2, 3]) {
    it(`loses nothing and counts nothing twice (kill #${iteration})`, async () => {
      const topics = await createTestTopics(4);
      const kafka = testKafka();
      const a = await mkdtemp(join(tmpdir(), 'runstream-a-'));
      const b = await mkdtemp(join(tmpdir(), 'runstream-b-'));
      dirs.push(a, b);
      const processes = [startProcessorProcess(topics.prefix, a), startProcessorProcess(topics.prefix, b)];
      children.push(...processes);

      await waitForMembers(`${topics.prefix}processor`, 2);

      const stream = generateStream({
        seed: 100 + iteration,
        runs: 60,
        firstRunId: 8_000_000_000 + iteration * 1000,
      });
      const waves = 6;
      const killAfterWave = iteration % waves;
      // Its own draw per kill, so one kill reruns alone (-t) with the same moment.
      const killDelayMs = Math.floor(seededRandom(seed * 10 + iteration)() * 1500);
      const victim = processes[iteration % 2]!;
      console.log(
        `kill #${iteration}: processor ${(iteration % 2) + 1} SIGKILLed ${killDelayMs} ms after wave ${killAfterWave + 1} of ${waves} (RUNSTREAM_TEST_SEED=${seed})`,
      );
      for (let w = 0; w < waves; w++) {
        const slice = stream.slice(
          Math.floor((w * stream.length) / waves),
          Math.floor(((w + 1) * stream.length) / waves),
        );
        await publishDeliveries(kafka, topics.names.deliveries, slice, 25);
        if (w === killAfterWave) {
          await new Promise((r) => setTimeout(r, killDelayMs));
          expect(victim.exitCode).toBeNull();
          victim.kill('SIGKILL');
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      await waitForGroup(kafka, `${topics.prefix}processor`, topics.names.deliveries, 120_000);
      expect(victim.signalCode).toBe('SIGKILL');
      expect(comparable(await foldChangelogs(topics.names))).toEqual(comparable(expectedState(stream)));
    });
  }
});
