// GitHub credentials and endpoints from the environment, shared by replay, the
// exporter's scale-set statistics and `runstream runners`.
import { readFileSync } from 'node:fs';
import type { Logger } from '../platform/log.js';
import { isLoopbackHost } from '../platform/loopback.js';
import { Secret } from '../platform/secret.js';
import {
  type Command,
  ConfigError,
  type Env,
  intSetting,
  type SettingDoc,
  setting,
  text,
} from '../platform/setting.js';
import { ActionsServiceClient, registrationTokenPath } from './actions-service.js';
import { AppAuth, type GitHubAuth, TokenAuth } from './auth.js';
import { HttpClient } from './http.js';

const GITHUB_COMMANDS: readonly Command[] = ['replay', 'exporter', 'runners'];

export const GITHUB_TOKEN = text({
  name: 'RUNSTREAM_GITHUB_TOKEN',
  meaning: 'a token: read access to hook deliveries (`replay --github`); runner admin for scale sets',
  commands: GITHUB_COMMANDS,
  section: 'github',
});

export const GITHUB_TOKEN_FILE = text({
  name: 'RUNSTREAM_GITHUB_TOKEN_FILE',
  meaning:
    'a file holding the token instead (read once at start; surrounding whitespace is dropped); set one of the two',
  commands: GITHUB_COMMANDS,
  section: 'github',
});

export const GITHUB_APP_ID = text({
  name: 'RUNSTREAM_GITHUB_APP_ID',
  meaning: 'a GitHub App instead of a token: its id',
  commands: GITHUB_COMMANDS,
  section: 'github',
});

export const GITHUB_APP_PRIVATE_KEY_FILE = text({
  name: 'RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE',
  meaning: "the App's private key (PEM file)",
  commands: GITHUB_COMMANDS,
  section: 'github',
});

export const GITHUB_APP_INSTALLATION_ID = setting(
  {
    name: 'RUNSTREAM_GITHUB_APP_INSTALLATION_ID',
    meaning: "the App's installation to act as",
    commands: GITHUB_COMMANDS,
    section: 'github',
  },
  undefined as number | undefined,
  (raw, name) => {
    const id = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(id) || id < 1) {
      throw new ConfigError(name, `expected a positive integer, got ${JSON.stringify(raw)}`);
    }
    return id;
  },
);

/** An API URL the credentials may be sent to: https, or http on loopback only. */
export function parseApiUrl(raw: string, name: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError(
      name,
      `must be https (the token travels with every request); http only on loopback (127.0.0.0/8, ::1, localhost), got ${url.protocol}//${url.host}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(name, 'must not hold credentials (user:password@); set a token instead');
  }
  return raw.replace(/\/$/, '');
}

export const GITHUB_API_URL = setting(
  {
    name: 'RUNSTREAM_GITHUB_API_URL',
    shown: '`https://api.github.com`',
    meaning:
      'GitHub Enterprise Server: `https://HOST/api/v3`; https required (http only on loopback), and every page the API links to must be on its origin',
    commands: GITHUB_COMMANDS,
    section: 'github',
  },
  'https://api.github.com',
  parseApiUrl,
);

export const GITHUB_CONCURRENCY = intSetting(
  {
    name: 'RUNSTREAM_GITHUB_CONCURRENCY',
    meaning: "requests in flight (at most 100, GitHub's limit)",
    commands: GITHUB_COMMANDS,
    section: 'github',
  },
  10,
  1,
  100,
);

export const GITHUB_CONFIG_URL = setting(
  {
    name: 'RUNSTREAM_GITHUB_CONFIG_URL',
    meaning:
      'the organization, enterprise or repository URL scale-set runners register to, e.g. `https://github.com/my-org` (scale sets and `runners`)',
    commands: ['exporter', 'runners'],
    section: 'github',
  },
  undefined as string | undefined,
  (raw, name) => {
    try {
      registrationTokenPath(raw);
    } catch {
      throw new ConfigError(
        name,
        `expected an organization, enterprise or repository URL, got ${JSON.stringify(raw)}`,
      );
    }
    return raw;
  },
);

export const GITHUB_SETTINGS: readonly SettingDoc[] = [
  GITHUB_TOKEN,
  GITHUB_TOKEN_FILE,
  GITHUB_APP_ID,
  GITHUB_APP_PRIVATE_KEY_FILE,
  GITHUB_APP_INSTALLATION_ID,
  GITHUB_API_URL,
  GITHUB_CONCURRENCY,
  GITHUB_CONFIG_URL,
];

export interface GitHubConfig {
  apiUrl: string;
  concurrency: number;
  http: HttpClient;
  auth: GitHubAuth;
}

/**
 * Undefined when no credentials are configured (the features that need them stay off).
 * `logger` receives the HTTP client's retry warnings (never headers or tokens).
 */
/**
 * The token from RUNSTREAM_GITHUB_TOKEN or the file RUNSTREAM_GITHUB_TOKEN_FILE names
 * (read once, here); undefined when neither is set. Both set, or an unreadable or
 * empty file, is an error naming the variable (never the token).
 */
export function readGitHubToken(env: Env): Secret | undefined {
  const inline = GITHUB_TOKEN.read(env);
  const file = GITHUB_TOKEN_FILE.read(env);
  if (!file) return inline === undefined ? undefined : checkedToken(inline, GITHUB_TOKEN.name);
  if (inline !== undefined) {
    throw new ConfigError(GITHUB_TOKEN.name, `set together with ${GITHUB_TOKEN_FILE.name}: keep one`);
  }
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      GITHUB_TOKEN_FILE.name,
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  // A file's trailing newline (echo, kubectl create secret) is not part of the token.
  const token = content.trim();
  if (token === '') throw new ConfigError(GITHUB_TOKEN_FILE.name, `${file} is empty`);
  return checkedToken(token, GITHUB_TOKEN_FILE.name);
}

/** A token is one printable ASCII word: anything else would fail later, in an error that may quote the header. */
function checkedToken(token: string, name: string): Secret {
  if (!/^[!-~]+$/.test(token)) {
    throw new ConfigError(
      name,
      'the token holds whitespace or a character outside printable ASCII (more than one line?)',
    );
  }
  return new Secret(token);
}

export function readGitHubConfig(env: Env, logger?: Logger): GitHubConfig | undefined {
  const apiUrl = GITHUB_API_URL.read(env);
  const concurrency = GITHUB_CONCURRENCY.read(env);
  const http = new HttpClient({ concurrency, logger });
  const token = readGitHubToken(env);
  const appId = GITHUB_APP_ID.read(env);
  const installationId = GITHUB_APP_INSTALLATION_ID.read(env);
  if (token) return { apiUrl, concurrency, http, auth: new TokenAuth(token) };
  if (!appId) return undefined;
  const keyFile = GITHUB_APP_PRIVATE_KEY_FILE.read(env);
  if (!keyFile)
    throw new ConfigError(GITHUB_APP_PRIVATE_KEY_FILE.name, `required with ${GITHUB_APP_ID.name}`);
  let privateKeyPem: string;
  try {
    privateKeyPem = readFileSync(keyFile, 'utf8');
  } catch (error) {
    throw new ConfigError(
      GITHUB_APP_PRIVATE_KEY_FILE.name,
      `cannot read ${keyFile}: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  if (!installationId) {
    throw new ConfigError(GITHUB_APP_INSTALLATION_ID.name, `required with ${GITHUB_APP_ID.name}`);
  }
  let auth: AppAuth;
  try {
    auth = new AppAuth({ appId, privateKeyPem, installationId, apiUrl, http });
  } catch {
    // The crypto error would only say "unsupported"; never echo the key's content.
    throw new ConfigError(GITHUB_APP_PRIVATE_KEY_FILE.name, `${keyFile} is not a PEM private key`);
  }
  return { apiUrl, concurrency, http, auth };
}

/**
 * The Actions service client for the scale sets of RUNSTREAM_GITHUB_CONFIG_URL, with
 * the configured credentials; `neededBy` names what asked, for the error lines.
 */
export function readActionsService(env: Env, neededBy: string, logger?: Logger): ActionsServiceClient {
  const githubConfigUrl = GITHUB_CONFIG_URL.read(env);
  if (!githubConfigUrl) {
    throw new ConfigError(GITHUB_CONFIG_URL.name, `required by ${neededBy} (e.g. https://github.com/my-org)`);
  }
  const github = readGitHubConfig(env, logger);
  if (!github) throw new ConfigError(GITHUB_TOKEN.name, `${neededBy} needs a token or a GitHub App`);
  return new ActionsServiceClient({
    http: github.http,
    auth: github.auth,
    apiUrl: github.apiUrl,
    githubConfigUrl,
  });
}
