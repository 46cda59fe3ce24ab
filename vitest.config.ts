import { defineConfig } from 'vitest/config';
import type { Vitest } from 'vitest/node';

/**
 * Snapshots as in CI everywhere: a missing snapshot fails instead of being written (vitest
 * writes new ones unless CI is set), so a renamed or versioned snapshot file cannot pass by
 * creating itself. Only `-u` (or UPDATE_SNAPSHOT) writes snapshots.
 */
const snapshotsAsInCi = {
  name: 'runstream:snapshots-as-in-ci',
  configureVitest({ vitest }: { vitest: Vitest }) {
    if (vitest.config.snapshotOptions.updateSnapshot !== 'new') return;
    vitest.config.snapshotOptions.updateSnapshot = 'none';
    vitest.snapshot.options.updateSnapshot = 'none';
  },
};

// Two projects: unit tests hit the pure core and local adapters in microseconds;
// integration tests run against a real Kafka broker (KAFKA_BROKERS, or one that
// test/integration/global-setup.ts starts from jars and stops by its pid).
export default defineConfig({
  test: {
    // Integration files share one broker and two cores; run files one at a time.
    fileParallelism: false,
    projects: [
      {
        plugins: [snapshotsAsInCi],
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        plugins: [snapshotsAsInCi],
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        plugins: [snapshotsAsInCi],
        // The secured broker of its own (test/support/secure-broker.ts), started and
        // stopped by the file: TLS, SASL, mTLS, OAUTHBEARER, ACLs enforced.
        test: {
          name: 'secure',
          include: ['test/secure/**/*.test.ts'],
          testTimeout: 5 * 60_000,
          hookTimeout: 180_000,
        },
      },
      {
        plugins: [snapshotsAsInCi],
        // The image, docker compose and the stand-in images on a container engine
        // (test/containers/global-setup.ts): skipped with a line saying so where none
        // answers, a failure then when CI=true.
        test: {
          name: 'containers',
          include: ['test/containers/**/*.test.ts'],
          globalSetup: ['test/containers/global-setup.ts'],
          testTimeout: 10 * 60_000,
          hookTimeout: 10 * 60_000,
        },
      },
      {
        plugins: [snapshotsAsInCi],
        // A three-broker cluster of its own (test/support/cluster.ts) per run.
        test: {
          name: 'fault',
          include: ['test/fault/**/*.test.ts'],
          testTimeout: 20 * 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
