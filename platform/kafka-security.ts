// TLS and SASL to the brokers (DESIGN.md "Interfaces"): the one place that reads the
// KAFKA_SSL_ and KAFKA_SASL_ variables and checks them at start (one line naming the
// variable); platform/kafka/security.ts turns them into the client's options. Secrets
// stay in Secret values; files are read once at start, except an OAuth token file,
// which is re-read on every login.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { clientCredentialsProvider, type TokenProvider, tokenFileProvider } from './kafka-oauth.js';
import type { Logger } from './log.js';
import { isLoopbackHost } from './loopback.js';
import { Secret } from './secret.js';
import {
  type Command,
  ConfigError,
  type Env,
  parseBoolean,
  type Setting,
  type SettingDoc,
  setting,
  text,
} from './setting.js';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** Every command that talks to Kafka (platform/config.ts KAFKA_COMMANDS; repeated here to avoid a cycle). */
const commands: readonly Command[] = ['ingest', 'processor', 'exporter', 'topics', 'replay', 'export'];
const doc = (name: string, meaning: string, shown = '') =>
  ({ name, meaning, shown, commands, section: 'security' }) as const;

/** An optional boolean: undefined when unset, so a reader can tell "not said" from "false". */
const flag = (name: string, meaning: string, shown: string): Setting<boolean | undefined> =>
  setting<boolean | undefined>(doc(name, meaning, shown), undefined, parseBoolean);

export const KAFKA_SSL = flag(
  'KAFKA_SSL',
  'TLS to the brokers (implied by any `KAFKA_SSL_*_FILE`)',
  '`false`',
);
export const KAFKA_SSL_CA_FILE = text(
  doc('KAFKA_SSL_CA_FILE', 'PEM bundle of the CAs to trust', 'system CAs'),
);
export const KAFKA_SSL_CERT_FILE = text(
  doc('KAFKA_SSL_CERT_FILE', 'client certificate (PEM) for mutual TLS'),
);
export const KAFKA_SSL_KEY_FILE = text(doc('KAFKA_SSL_KEY_FILE', 'its private key (PEM)'));
export const KAFKA_SSL_REJECT_UNAUTHORIZED = flag(
  'KAFKA_SSL_REJECT_UNAUTHORIZED',
  '`false` skips certificate checks (a loud warning at start)',
  '`true`',
);
export const KAFKA_SASL_MECHANISM = text(
  doc('KAFKA_SASL_MECHANISM', '`plain`, `scram-sha-256`, `scram-sha-512` or `oauthbearer`'),
);
export const KAFKA_SASL_USERNAME = text(doc('KAFKA_SASL_USERNAME', 'plain and scram: the user'));
export const KAFKA_SASL_PASSWORD = text(doc('KAFKA_SASL_PASSWORD', 'plain and scram: the password'));
export const KAFKA_SASL_PASSWORD_FILE = text(
  doc('KAFKA_SASL_PASSWORD_FILE', 'a file holding the password instead (a trailing newline is dropped)'),
);
export const KAFKA_SASL_OAUTHBEARER_TOKEN_FILE = text(
  doc('KAFKA_SASL_OAUTHBEARER_TOKEN_FILE', 'oauthbearer: a token file, re-read on every login'),
);
export const KAFKA_SASL_OAUTHBEARER_TOKEN_URL = text(
  doc(
    'KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
    'oauthbearer: the token endpoint of an OAuth client-credentials flow (https; token cached until a minute before it expires)',
  ),
);
export const KAFKA_SASL_OAUTHBEARER_CLIENT_ID = text(
  doc('KAFKA_SASL_OAUTHBEARER_CLIENT_ID', 'its client id'),
);
export const KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE = text(
  doc('KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE', 'a file holding its client secret'),
);
export const KAFKA_SASL_OAUTHBEARER_SCOPE = text(doc('KAFKA_SASL_OAUTHBEARER_SCOPE', 'its scope, if any'));

const OAUTH_URL_SETTINGS = [
  KAFKA_SASL_OAUTHBEARER_TOKEN_URL,
  KAFKA_SASL_OAUTHBEARER_CLIENT_ID,
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE,
  KAFKA_SASL_OAUTHBEARER_SCOPE,
];

export const KAFKA_SECURITY_SETTINGS: readonly SettingDoc[] = [
  KAFKA_SSL,
  KAFKA_SSL_CA_FILE,
  KAFKA_SSL_CERT_FILE,
  KAFKA_SSL_KEY_FILE,
  KAFKA_SSL_REJECT_UNAUTHORIZED,
  KAFKA_SASL_MECHANISM,
  KAFKA_SASL_USERNAME,
  KAFKA_SASL_PASSWORD,
  KAFKA_SASL_PASSWORD_FILE,
  KAFKA_SASL_OAUTHBEARER_TOKEN_FILE,
  ...OAUTH_URL_SETTINGS,
];

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

function readFileOf(env: Env, file: Setting<string | undefined>): string | undefined {
  const path = file.read(env);
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      file.name,
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

function pem(env: Env, file: Setting<string | undefined>, marker: RegExp, what: string): string | undefined {
  const content = readFileOf(env, file);
  if (content !== undefined && !marker.test(content)) {
    throw new ConfigError(file.name, `${file.read(env)} holds no PEM ${what}`);
  }
  return content;
}

function readTls(env: Env): KafkaTls | undefined {
  const ca = pem(env, KAFKA_SSL_CA_FILE, /-----BEGIN CERTIFICATE-----/, 'certificate');
  const cert = pem(env, KAFKA_SSL_CERT_FILE, /-----BEGIN CERTIFICATE-----/, 'certificate');
  const key = pem(env, KAFKA_SSL_KEY_FILE, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'private key');
  const implied = ca !== undefined || cert !== undefined || key !== undefined;
  const enabled = KAFKA_SSL.read(env) ?? implied;
  if (!enabled) {
    if (implied) {
      const file = [KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE].find((f) => f.read(env));
      throw new ConfigError(KAFKA_SSL.name, `false, but ${file?.name} is set: drop one of them`);
    }
    if (KAFKA_SSL_REJECT_UNAUTHORIZED.read(env) !== undefined) {
      throw new ConfigError(KAFKA_SSL_REJECT_UNAUTHORIZED.name, 'set, but TLS is off (KAFKA_SSL)');
    }
    return undefined;
  }
  if ((cert === undefined) !== (key === undefined)) {
    const missing = cert === undefined ? KAFKA_SSL_CERT_FILE : KAFKA_SSL_KEY_FILE;
    throw new ConfigError(missing.name, 'mutual TLS needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE');
  }
  return {
    ca,
    cert,
    key: key === undefined ? undefined : new Secret(key),
    rejectUnauthorized: KAFKA_SSL_REJECT_UNAUTHORIZED.read(env) ?? true,
  };
}

function readPassword(env: Env, mechanism: string): Secret {
  // Not trimmed: a password may end in a space (only a file's trailing newline is dropped).
  const inline = env[KAFKA_SASL_PASSWORD.name];
  const file = readFileOf(env, KAFKA_SASL_PASSWORD_FILE);
  if (inline !== undefined && inline !== '' && file !== undefined) {
    throw new ConfigError(KAFKA_SASL_PASSWORD.name, 'set together with KAFKA_SASL_PASSWORD_FILE: keep one');
  }
  // A file's trailing newline is not part of the password (echo, kubectl create secret).
  const password = file !== undefined ? file.replace(/\r?\n$/, '') : inline;
  if (password === undefined || password === '') {
    throw new ConfigError(
      KAFKA_SASL_PASSWORD.name,
      `required by KAFKA_SASL_MECHANISM=${mechanism} (or KAFKA_SASL_PASSWORD_FILE)`,
    );
  }
  return new Secret(password);
}

function readTokenUrl(env: Env): URL {
  const raw = KAFKA_SASL_OAUTHBEARER_TOKEN_URL.read(env) ?? '';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(KAFKA_SASL_OAUTHBEARER_TOKEN_URL.name, `not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError(
      KAFKA_SASL_OAUTHBEARER_TOKEN_URL.name,
      'must be https (the client secret travels with every request); http only on loopback',
    );
  }
  return url;
}

function readOauth(env: Env): KafkaSasl {
  const tokenFile = KAFKA_SASL_OAUTHBEARER_TOKEN_FILE.read(env);
  const urlSet = OAUTH_URL_SETTINGS.filter((s) => s.read(env) !== undefined);
  if (tokenFile) {
    if (urlSet.length > 0) {
      throw new ConfigError(
        urlSet[0]!.name,
        'set together with KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: use one source',
      );
    }
    readFileOf(env, KAFKA_SASL_OAUTHBEARER_TOKEN_FILE); // readable now, re-read on every login
    return {
      mechanism: 'oauthbearer',
      source: `token file ${tokenFile}`,
      token: tokenFileProvider(tokenFile),
    };
  }
  if (urlSet.length === 0) {
    throw new ConfigError(
      KAFKA_SASL_OAUTHBEARER_TOKEN_FILE.name,
      'KAFKA_SASL_MECHANISM=oauthbearer needs a token file or KAFKA_SASL_OAUTHBEARER_TOKEN_URL',
    );
  }
  const url = readTokenUrl(env);
  const clientId = KAFKA_SASL_OAUTHBEARER_CLIENT_ID.read(env);
  if (!clientId) throw new ConfigError(KAFKA_SASL_OAUTHBEARER_CLIENT_ID.name, 'required with a token URL');
  const secret = readFileOf(env, KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE)?.replace(/\r?\n$/, '');
  if (!secret) {
    throw new ConfigError(
      KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE.name,
      'required with a token URL (a non-empty file)',
    );
  }
  const scope = KAFKA_SASL_OAUTHBEARER_SCOPE.read(env);
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
  const raw = (KAFKA_SASL_MECHANISM.read(env) ?? '').toLowerCase();
  if (raw === '') {
    // Any KAFKA_SASL_ variable, a misspelt one too: credentials must never be ignored silently.
    const stray = Object.keys(env).find((n) => n.startsWith('KAFKA_SASL_') && env[n]?.trim());
    if (stray) throw new ConfigError(KAFKA_SASL_MECHANISM.name, `required when ${stray} is set`);
    return undefined;
  }
  const mechanism = SASL_MECHANISMS.find((m) => m === raw);
  if (!mechanism) {
    throw new ConfigError(
      KAFKA_SASL_MECHANISM.name,
      `expected ${SASL_MECHANISMS.join(', ')}; got ${JSON.stringify(raw)}`,
    );
  }
  if (mechanism === 'oauthbearer') return readOauth(env);
  const username = KAFKA_SASL_USERNAME.read(env);
  if (!username)
    throw new ConfigError(KAFKA_SASL_USERNAME.name, `required by KAFKA_SASL_MECHANISM=${mechanism}`);
  return { mechanism, username, password: readPassword(env, mechanism) };
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
