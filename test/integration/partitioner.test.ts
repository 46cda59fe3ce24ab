// runstream's partitioner against Kafka's own Java producer: for keys of every kind
// (run ids as GitHub numbers them, every length modulo 4, multi-byte UTF-8) and
// partition counts from 1 to 1000, the partition schemas/partitioner.ts picks is the
// one BuiltInPartitioner.partitionForKey picks in the kafka-clients jar the broker
// runs on (test/fixtures/java/KeyPartitions.java).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionForKey } from '../../schemas/partitioner.js';

const root = join(import.meta.dirname, '..', '..');

/** A folder of broker jars holding kafka-clients (scripts/kafka.sh jars fetches them). */
function clientJars(): string {
  const libs = join(root, '.kafka-libs');
  const versions = existsSync(libs) ? readdirSync(libs) : [];
  const preferred = [process.env.KAFKA_VERSION, ...versions].filter((v): v is string => !!v);
  const found = preferred.find(
    (v) =>
      existsSync(join(libs, v)) &&
      statSync(join(libs, v)).isDirectory() &&
      readdirSync(join(libs, v)).some((f) => /^kafka-clients-.*\.jar$/.test(f)),
  );
  if (!found) throw new Error(`no kafka-clients jar under ${libs}: run bash scripts/kafka.sh jars`);
  return join(libs, found);
}

function javaPartitions(lines: readonly string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'java',
      ['-cp', `${clientJars()}/*`, join(root, 'test', 'fixtures', 'java', 'KeyPartitions.java')],
      { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`java KeyPartitions failed: ${stderr || error.message}`));
        else resolve(stdout.trim().split('\n').map(Number));
      },
    );
    child.stdin!.end(`${lines.join('\n')}\n`);
  });
}

describe('partitionForKey', () => {
  it("puts every key where Kafka's Java producer puts it", async () => {
    const counts = [1, 2, 3, 7, 12, 50, 1000];
    const keys = [
      '',
      ...Array.from({ length: 9 }, (_, n) => 'k'.repeat(n)),
      '1',
      '11',
      '12',
      String(2 ** 53 - 1),
      ...fc.sample(fc.integer({ min: 1, max: 30_000_000_000 }).map(String), { numRuns: 1500, seed: 27 }),
      ...fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), { numRuns: 500, seed: 28 }),
    ].filter((k) => !/[\n\r]/.test(k));
    const cases = keys.flatMap((key, i) => [counts[i % counts.length]!, 12].map((n) => ({ key, n })));
    const java = await javaPartitions(cases.map(({ key, n }) => `${n}\t${key}`));
    expect(java).toHaveLength(cases.length);
    const differ = cases
      .map(({ key, n }, i) => ({ key, n, java: java[i], ours: partitionForKey(key, n) }))
      .filter((c) => c.java !== c.ours);
    expect(differ.slice(0, 5)).toEqual([]);
  }, 180_000);

  it('refuses a partition count that is not a whole number of at least 1', () => {
    expect(() => partitionForKey('1', 0)).toThrow(/at least 1/);
    expect(() => partitionForKey('1', 2.5)).toThrow(/at least 1/);
  });
});
