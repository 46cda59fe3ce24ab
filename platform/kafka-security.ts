// TLS and SASL to the brokers (DESIGN.md "Interfaces"): the one place that reads the
// KAFKA_SSL* and KAFKA_SASL* variables, checks them at start (one line naming the
// variable) and builds kafkajs' `ssl` and `sasl` options from them. Secrets stay in
// Secret values; files are read once at start, except an OAuth token file, which is
// re-read on every login.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { ConfigError, type Env, readBool, readString } from './config.js';
import { clientCredentialsProvider, type TokenProvider, tokenFileProvider } from './kafka-oauth.js';
import type { Logger } from './log.js';
import { Secret } from './secret.js';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaTls {
  /** PEM bundle of CAs to trust; Node's system CAs when absent. */
  ca: string | undefined;
  cert: string | undefined;
  key: Secret | undefined;
  rejectUnauthorized: boolean;
}

export type KafkaSasl =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: Secret }
  | { mechanism: 'oauthbearer'; source: string; token: TokenProvider };

export interface KafkaSecurity {
  tls: KafkaTls | undefined;
  sasl: KafkaSasl | undefined;
  /** Who the cluster sees, as far as the client knows, for error lines: `User:name (SCRAM-SHA-512)`. */
  identity: string;
  /** Said once per process at start: settings that weaken security. */
  warnings: string[];
}

function readFileOf(env: Env, name: string): string | undefined {
  const path = env[name]?.trim();
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      name,
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

function pem(env: Env, name: string, marker: RegExp, what: string): string | undefined {
  const text = readFileOf(env, name);
  if (text !== undefined && !marker.test(text)) {
    throw new ConfigError(name, `${env[name]?.trim()} holds no PEM ${what}`);
  }
  return text;
}

function readTls(env: Env): KafkaTls | undefined {
  const ca = pem(env, 'KAFKA_SSL_CA_FILE', /-----BEGIN CERTIFICATE-----/, 'certificate');
  const cert = pem(env, 'KAFKA_SSL_CERT_FILE', /-----BEGIN CERTIFICATE-----/, 'certificate');
  const key = pem(env, 'KAFKA_SSL_KEY_FILE', /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key');
  const implied = ca !== undefined || cert !== undefined || key !== undefined;
  const enabled = readBool(env, 'KAFKA_SSL', implied);
  if (!enabled) {
    if (implied) {
      const file = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'].find((n) =>
        env[n]?.trim(),
      );
      throw new ConfigError('KAFKA_SSL', `false, but ${file} is set: drop one of them`);
    }
    if (env.KAFKA_SSL_REJECT_UNAUTHORIZED?.trim()) {
      throw new ConfigError('KAFKA_SSL_REJECT_UNAUTHORIZED', 'set, but TLS is off (KAFKA_SSL)');
    }
    return undefined;
  }
  if ((cert === undefined) !== (key === undefined)) {
    const missing = cert === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE';
    throw new ConfigError(missing, 'mutual TLS needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE');
  }
  return {
    ca,
    cert,
    key: key === undefined ? undefined : new Secret(key),
    rejectUnauthorized: readBool(env, 'KAFKA_SSL_REJECT_UNAUTHORIZED', true),
  };
}

function readPassword(env: Env): Secret {
  const inline = env.KAFKA_SASL_PASSWORD;
  const file = readFileOf(env, 'KAFKA_SASL_PASSWORD_FILE');
  if (inline !== undefined && inline !== '' && file !== undefined) {
    throw new ConfigError('KAFKA_SASL_PASSWORD', 'set together with KAFKA_SASL_PASSWORD_FILE: keep one');
  }
  // A file's trailing newline is not part of the password (echo, kubectl create secret).
  const password = file !== undefined ? file.replace(/\r?\n$/, '') : inline;
  if (password === undefined || password === '') {
    throw new ConfigError(
      'KAFKA_SASL_PASSWORD',
      `required by KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM?.trim()} (or KAFKA_SASL_PASSWORD_FILE)`,
    );
  }
  return new Secret(password);
}

const OAUTH_URL_VARIABLES = [
  'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
  'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
  'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE',
  'KAFKA_SASL_OAUTHBEARER_SCOPE',
];

function readTokenUrl(env: Env): URL {
  const raw = readString(env, 'KAFKA_SASL_OAUTHBEARER_TOKEN_URL', '');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('KAFKA_SASL_OAUTHBEARER_TOKEN_URL', `not a URL: ${JSON.stringify(raw)}`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new ConfigError(
      'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
      'must be https (the client secret travels with every request); http only on loopback',
    );
  }
  return url;
}

function readOauth(env: Env): KafkaSasl {
  const tokenFile = env.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE?.trim();
  const urlSet = OAUTH_URL_VARIABLES.filter((n) => env[n]?.trim());
  if (tokenFile) {
    if (urlSet.length > 0) {
      throw new ConfigError(
        urlSet[0]!,
        'set together with KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: use one source',
      );
    }
    readFileOf(env, 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE'); // readable now, re-read on every login
    return {
      mechanism: 'oauthbearer',
      source: `token file ${tokenFile}`,
      token: tokenFileProvider(tokenFile),
    };
  }
  if (urlSet.length === 0) {
    throw new ConfigError(
      'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
      'KAFKA_SASL_MECHANISM=oauthbearer needs a token file or KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
    );
  }
  const url = readTokenUrl(env);
  const clientId = readString(env, 'KAFKA_SASL_OAUTHBEARER_CLIENT_ID', '');
  if (clientId === '') throw new ConfigError('KAFKA_SASL_OAUTHBEARER_CLIENT_ID', 'required with a token URL');
  const secret = readFileOf(env, 'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE')?.replace(/\r?\n$/, '');
  if (!secret) {
    throw new ConfigError(
      'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE',
      'required with a token URL (a non-empty file)',
    );
  }
  const scope = readString(env, 'KAFKA_SASL_OAUTHBEARER_SCOPE', '') || undefined;
  return {
    mechanism: 'oauthbearer',
    source: `client ${clientId} at ${url.origin}${url.pathname}`,
    token: clientCredentialsProvider({
      tokenUrl: url.href,
      clientId,
      clientSecret: new Secret(secret),
      scope,
    }),
  };
}

function readSasl(env: Env): KafkaSasl | undefined {
  const raw = readString(env, 'KAFKA_SASL_MECHANISM', '').toLowerCase();
  if (raw === '') {
    const stray = Object.keys(env).find((n) => n.startsWith('KAFKA_SASL_') && env[n]?.trim());
    if (stray) throw new ConfigError('KAFKA_SASL_MECHANISM', `required when ${stray} is set`);
    return undefined;
  }
  const mechanism = SASL_MECHANISMS.find((m) => m === raw);
  if (!mechanism) {
    throw new ConfigError(
      'KAFKA_SASL_MECHANISM',
      `expected ${SASL_MECHANISMS.join(', ')}; got ${JSON.stringify(raw)}`,
    );
  }
  if (mechanism === 'oauthbearer') return readOauth(env);
  const username = readString(env, 'KAFKA_SASL_USERNAME', '');
  if (username === '')
    throw new ConfigError('KAFKA_SASL_USERNAME', `required by KAFKA_SASL_MECHANISM=${mechanism}`);
  return { mechanism, username, password: readPassword(env) };
}

function identityOf(tls: KafkaTls | undefined, sasl: KafkaSasl | undefined): string {
  if (sasl?.mechanism === 'oauthbearer') return `the OAUTHBEARER principal of ${sasl.source}`;
  if (sasl) return `User:${sasl.username} (${sasl.mechanism.toUpperCase()})`;
  if (tls?.cert) {
    const subject = new X509Certificate(tls.cert).subject.replace(/\n/g, ',');
    return `the client certificate ${subject}`;
  }
  return 'User:ANONYMOUS';
}

export function readKafkaSecurity(env: Env): KafkaSecurity {
  const tls = readTls(env);
  const sasl = readSasl(env);
  const warnings: string[] = [];
  if (tls && !tls.rejectUnauthorized) {
    warnings.push(
      "KAFKA_SSL_REJECT_UNAUTHORIZED=false: the brokers' certificates are NOT verified; anyone on the path can read and change the traffic, credentials included",
    );
  }
  if (!tls && sasl?.mechanism === 'plain') {
    warnings.push(
      'KAFKA_SASL_MECHANISM=plain without TLS (KAFKA_SSL): the password crosses the network in clear',
    );
  }
  return { tls, sasl, identity: identityOf(tls, sasl), warnings };
}

/** Settings already warned about: said once per process, not once per client. */
const warned = new WeakSet<KafkaSecurity>();

/** Logs what weakens security (certificates not checked, a password in clear), once. */
export function warnOnce(security: KafkaSecurity, logger: Logger): void {
  if (warned.has(security)) return;
  warned.add(security);
  for (const warning of security.warnings) logger.warn(warning);
}

/** The brokers and how to reach them: what createKafka needs of a role's configuration. */
export function kafkaEndpoint(config: { brokers: string[]; security: KafkaSecurity }): {
  brokers: string[];
  security: KafkaSecurity;
} {
  return { brokers: config.brokers, security: config.security };
}

/** kafkajs' `ssl` and `sasl` options: a fresh `sasl` object per client (kafkajs keeps state on it). */
export function kafkaClientSecurity(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { tls, sasl } = security;
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (tls) {
    out.ssl = {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca ? { ca: [tls.ca] } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key.reveal() } : {}),
    };
  }
  if (sasl) out.sasl = saslOptions(sasl);
  return out;
}

function saslOptions(sasl: KafkaSasl): SASLOptions {
  if (sasl.mechanism === 'oauthbearer') return { mechanism: 'oauthbearer', oauthBearerProvider: sasl.token };
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password.reveal() };
}
