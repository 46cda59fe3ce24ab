// GitHub credentials and endpoints from the environment, shared by replay and the
// exporter's scale-set statistics.
import { readFileSync } from 'node:fs';
import { ConfigError, type Env, readInt, readString } from '../platform/config.js';
import type { Logger } from '../platform/log.js';
import { AppAuth, type GitHubAuth, TokenAuth } from './auth.js';
import { HttpClient } from './http.js';

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
export function readGitHubConfig(env: Env, logger?: Logger): GitHubConfig | undefined {
  const apiUrl = readString(env, 'RUNSTREAM_GITHUB_API_URL', 'https://api.github.com').replace(/\/$/, '');
  const concurrency = readInt(env, 'RUNSTREAM_GITHUB_CONCURRENCY', 10, 1, 100);
  const http = new HttpClient({ concurrency, logger });
  const token = env.RUNSTREAM_GITHUB_TOKEN?.trim();
  const appId = env.RUNSTREAM_GITHUB_APP_ID?.trim();
  if (token) return { apiUrl, concurrency, http, auth: new TokenAuth(token) };
  if (!appId) return undefined;
  const keyFile = env.RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE?.trim();
  if (!keyFile)
    throw new ConfigError('RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE', 'required with RUNSTREAM_GITHUB_APP_ID');
  let privateKeyPem: string;
  try {
    privateKeyPem = readFileSync(keyFile, 'utf8');
  } catch (error) {
    throw new ConfigError(
      'RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE',
      `cannot read ${keyFile}: ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  const installationId = readInt(env, 'RUNSTREAM_GITHUB_APP_INSTALLATION_ID', 0, 1);
  if (!installationId) {
    throw new ConfigError('RUNSTREAM_GITHUB_APP_INSTALLATION_ID', 'required with RUNSTREAM_GITHUB_APP_ID');
  }
  let auth: AppAuth;
  try {
    auth = new AppAuth({ appId, privateKeyPem, installationId, apiUrl, http });
  } catch {
    // The crypto error would only say "unsupported"; never echo the key's content.
    throw new ConfigError('RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE', `${keyFile} is not a PEM private key`);
  }
  return { apiUrl, concurrency, http, auth };
}
