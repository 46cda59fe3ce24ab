// Integration tests run against a real broker: KAFKA_BROKERS when set, otherwise one
// started here from the Maven jars on free ports, and stopped by its pid afterwards.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const script = join(import.meta.dirname, '..', '..', 'scripts', 'kafka.sh');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    kafkaHomeDir: string;
    kafkaPort: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.KAFKA_BROKERS;
  if (given) {
    project.provide('kafkaBrokers', given);
    project.provide('kafkaHomeDir', '');
    project.provide('kafkaPort', 0);
    return async () => {};
  }
  const home = await mkdtemp(join(tmpdir(), 'runstream-test-kafka-'));
  const port = await freePort();
  const env = {
    ...process.env,
    KAFKA_HOME_DIR: home,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
  };
  try {
    const { stdout } = await run('bash', [script, 'start'], { env, timeout: 180_000 });
    process.stdout.write(stdout);
  } catch (error) {
    await run('bash', [script, 'stop'], { env }).catch(() => undefined);
    throw error;
  }
  project.provide('kafkaBrokers', `127.0.0.1:${port}`);
  project.provide('kafkaHomeDir', home);
  project.provide('kafkaPort', port);
  return async () => {
    await run('bash', [script, 'stop'], { env, timeout: 60_000 });
    await rm(home, { recursive: true, force: true });
  };
}
