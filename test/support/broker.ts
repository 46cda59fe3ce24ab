// A real Kafka broker from the jars (scripts/kafka.sh) in a temporary directory on
// free ports, owned by whoever starts it and stopped by the script, by its pid.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const KAFKA_SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'kafka.sh');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface JarBroker {
  brokers: string[];
  home: string;
  port: number;
  /** The environment scripts/kafka.sh needs to address this broker. */
  env: NodeJS.ProcessEnv;
  /** Starts it again after stop() (same data, same ports). */
  start(): Promise<void>;
  /** Stops it by its pid; keeps the data. */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/**
 * A port found free may be taken by another process before the broker binds it (other
 * suites start brokers on this machine too); such a start is tried again on new ports.
 */
export async function startJarBroker(prefix = 'runstream-kafka-'): Promise<JarBroker> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePorts(prefix);
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '');
      if (attempt >= 3 || !stderr.includes('Address already in use')) throw error;
    }
  }
}

async function startOnFreePorts(prefix: string): Promise<JarBroker> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  const port = await freePort();
  const env = {
    ...process.env,
    KAFKA_HOME_DIR: home,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
  };
  const broker: JarBroker = {
    brokers: [`127.0.0.1:${port}`],
    home,
    port,
    env,
    async start() {
      const { stdout } = await run('bash', [KAFKA_SCRIPT, 'start'], { env, timeout: 180_000 });
      process.stdout.write(stdout);
    },
    async stop() {
      await run('bash', [KAFKA_SCRIPT, 'stop'], { env, timeout: 60_000 });
    },
    async destroy() {
      await broker.stop().catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
  try {
    await broker.start();
  } catch (error) {
    await broker.destroy();
    throw error;
  }
  return broker;
}
