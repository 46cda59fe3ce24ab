// The KAFKA_SSL* / KAFKA_SASL* settings: each mistake is one ConfigError naming its
// variable, secrets never show in an error, a log object or JSON, and every client gets
// a fresh `sasl` object (kafkajs keeps its login state on it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../platform/config.js';
import { kafkaClientSecurity } from '../../../platform/kafka/security.js';
import { readKafkaSecurity } from '../../../platform/kafka-security.js';

const dir = mkdtempSync(join(tmpdir(), 'runstream-kafka-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const PASSWORD = 'pa55-word-that-must-not-leak';
const caPem = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
const passwordFile = file('password', `${PASSWORD}\n`);

function failure(env: Record<string, string>): ConfigError {
  try {
    readKafkaSecurity(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('no ConfigError');
}

describe('Kafka security settings', () => {
  it('plaintext by default: no ssl and no sasl option at all', () => {
    const security = readKafkaSecurity({});
    expect(security.tls).toBeUndefined();
    expect(security.sasl).toBeUndefined();
    expect(kafkaClientSecurity(security)).toEqual({});
  });

  it('a CA file implies TLS; certificate checks stay on unless turned off, which warns', () => {
    const tls = readKafkaSecurity({ KAFKA_SSL_CA_FILE: caPem });
    expect(kafkaClientSecurity(tls).ssl).toEqual({
      rejectUnauthorized: true,
      ca: [expect.stringContaining('BEGIN')],
    });
    expect(tls.warnings).toEqual([]);
    const unchecked = readKafkaSecurity({ KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' });
    expect(unchecked.warnings).toEqual([expect.stringContaining('NOT verified')]);
  });

  it.each([
    [{ KAFKA_SSL_CA_FILE: join(dir, 'absent.pem') }, 'KAFKA_SSL_CA_FILE', 'ENOENT'],
    [{ KAFKA_SSL_CA_FILE: passwordFile }, 'KAFKA_SSL_CA_FILE', 'holds no PEM certificate'],
    [{ KAFKA_SSL: 'false', KAFKA_SSL_CA_FILE: caPem }, 'KAFKA_SSL', 'KAFKA_SSL_CA_FILE is set'],
    [{ KAFKA_SSL: 'maybe' }, 'KAFKA_SSL', 'expected true or false'],
    [{ KAFKA_SSL_CERT_FILE: caPem }, 'KAFKA_SSL_KEY_FILE', 'needs both'],
    [{ KAFKA_SASL_MECHANISM: 'gssapi' }, 'KAFKA_SASL_MECHANISM', 'expected plain, scram-sha-256'],
    [{ KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_MECHANISM', 'required when KAFKA_SASL_USERNAME'],
    [
      { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: PASSWORD },
      'KAFKA_SASL_USERNAME',
      'required',
    ],
    [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }, 'KAFKA_SASL_PASSWORD', 'required'],
    [
      {
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: PASSWORD,
        KAFKA_SASL_PASSWORD_FILE: passwordFile,
      },
      'KAFKA_SASL_PASSWORD',
      'keep one',
    ],
    [{ KAFKA_SASL_MECHANISM: 'oauthbearer' }, 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE', 'needs a token file'],
    [
      {
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'http://idp.example.com/token',
      },
      'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
      'must be https',
    ],
    [
      {
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_OAUTHBEARER_TOKEN_URL: 'https://idp.example.com/token',
      },
      'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
      'required',
    ],
  ])('%j fails naming %s', (env, variable, problem) => {
    const error = failure(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(problem);
    expect(error.message).not.toContain(PASSWORD);
  });

  it('a password file loses its trailing newline; the password shows nowhere but in the SASL option', () => {
    const security = readKafkaSecurity({
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'runstream-ingest',
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
    });
    expect(security.identity).toBe('User:runstream-ingest (SCRAM-SHA-512)');
    expect(JSON.stringify(security)).not.toContain(PASSWORD);
    expect(inspect(security, { depth: 10 })).not.toContain(PASSWORD);
    expect(`${security.sasl && 'password' in security.sasl ? security.sasl.password : ''}`).toBe(
      '[redacted]',
    );
    const first = kafkaClientSecurity(security).sasl;
    const second = kafkaClientSecurity(security).sasl;
    expect(first).toEqual({ mechanism: 'scram-sha-512', username: 'runstream-ingest', password: PASSWORD });
    expect(first).not.toBe(second);
  });

  it('PLAIN without TLS warns that the password crosses the network in clear', () => {
    const security = readKafkaSecurity({
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: PASSWORD,
    });
    expect(security.warnings).toEqual([expect.stringContaining('in clear')]);
  });
});
