// The secured jar broker (scripts/kafka.sh start --secure) in a temporary directory on
// free ports: SASL_SSL (SCRAM, PLAIN), mTLS and OAUTHBEARER listeners, ACLs enforced.
// Stopped by the script, by its pid. Gives each test principal the environment a
// runstream process needs to connect as it over each listener.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, KAFKA_SCRIPT } from './broker.js';

const run = promisify(execFile);

export type Transport = 'scram' | 'mtls' | 'oauth';

export interface SecureBroker {
  home: string;
  caFile: string;
  /** Bootstrap address of each listener. */
  address: Record<Transport, string>;
  password(user: string): Promise<string>;
  /** The runstream environment to connect as `user` over a listener (OAuth: a token file). */
  envFor(transport: Transport, user: string, tokenFile?: string): Record<string, string>;
  destroy(): Promise<void>;
}

/** An unsigned JWT, as Kafka's unsecured OAUTHBEARER validator accepts (`sub` is the principal). */
export function unsignedJwt(sub: string, expiresInSeconds: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none' })}.${part({ sub, iat: now - 60, exp: now + expiresInSeconds })}.`;
}

export async function startSecureBroker(users: readonly string[]): Promise<SecureBroker> {
  const home = await mkdtemp(join(tmpdir(), 'runstream-secure-kafka-'));
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    KAFKA_HOME_DIR: home,
    KAFKA_SECURE_PORTS: ports.join(','),
    KAFKA_SECURE_USERS: ['admin', ...users].join(' '),
  };
  const dir = join(home, 'secure');
  const caFile = join(dir, 'tls', 'ca.crt');
  const address = {
    scram: `127.0.0.1:${ports[0]}`,
    mtls: `127.0.0.1:${ports[1]}`,
    oauth: `127.0.0.1:${ports[2]}`,
  };
  const broker: SecureBroker = {
    home,
    caFile,
    address,
    password: async (user) => (await readFile(join(dir, 'credentials', `${user}.password`), 'utf8')).trim(),
    envFor(transport, user, tokenFile) {
      const common = { KAFKA_BROKERS: address[transport], KAFKA_SSL_CA_FILE: caFile };
      if (transport === 'scram') {
        return {
          ...common,
          KAFKA_SASL_MECHANISM: 'scram-sha-512',
          KAFKA_SASL_USERNAME: user,
          KAFKA_SASL_PASSWORD_FILE: join(dir, 'credentials', `${user}.password`),
        };
      }
      if (transport === 'mtls') {
        return {
          ...common,
          KAFKA_SSL_CERT_FILE: join(dir, 'tls', `${user}.crt`),
          KAFKA_SSL_KEY_FILE: join(dir, 'tls', `${user}.key`),
        };
      }
      if (!tokenFile) throw new Error('oauth needs a token file');
      return { ...common, KAFKA_SASL_MECHANISM: 'oauthbearer', KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: tokenFile };
    },
    async destroy() {
      await run('bash', [KAFKA_SCRIPT, 'stop', '--secure'], { env, timeout: 60_000 }).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
  try {
    await run('bash', [KAFKA_SCRIPT, 'start', '--secure'], { env, timeout: 180_000 });
  } catch (error) {
    await broker.destroy();
    throw error;
  }
  return broker;
}
