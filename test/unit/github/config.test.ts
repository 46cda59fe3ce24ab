// GitHub configuration from the environment: one clear line naming the variable.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AppAuth, TokenAuth } from '../../../github/auth.js';
import { readGitHubConfig } from '../../../github/config.js';
import { ConfigError } from '../../../platform/config.js';

const dir = mkdtempSync(join(tmpdir(), 'runstream-github-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readGitHubConfig', () => {
  it('is off without credentials, and picks a token or a GitHub App', () => {
    expect(readGitHubConfig({})).toBeUndefined();
    const token = readGitHubConfig({
      RUNSTREAM_GITHUB_TOKEN: 't',
      RUNSTREAM_GITHUB_API_URL: 'https://ghes/api/v3/',
    });
    expect(token?.auth).toBeInstanceOf(TokenAuth);
    expect(token?.apiUrl).toBe('https://ghes/api/v3');
    expect(token?.http.concurrency).toBe(10);
    const keyFile = join(dir, 'app.pem');
    writeFileSync(
      keyFile,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
    );
    const app = readGitHubConfig({
      RUNSTREAM_GITHUB_APP_ID: '1',
      RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
      RUNSTREAM_GITHUB_APP_INSTALLATION_ID: '2',
    });
    expect(app?.auth).toBeInstanceOf(AppAuth);
  });

  it('names the variable when a value is wrong, without echoing a key', () => {
    const badKey = join(dir, 'bad.pem');
    writeFileSync(badKey, 'not-a-key-SECRETISH');
    const error = (() => {
      try {
        readGitHubConfig({
          RUNSTREAM_GITHUB_APP_ID: '1',
          RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE: badKey,
          RUNSTREAM_GITHUB_APP_INSTALLATION_ID: '2',
        });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toMatch(/^RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE: .* is not a PEM private key$/);
    expect(error?.message).not.toContain('SECRETISH');
    expect(() =>
      readGitHubConfig({ RUNSTREAM_GITHUB_TOKEN: 't', RUNSTREAM_GITHUB_CONCURRENCY: '101' }),
    ).toThrow(/^RUNSTREAM_GITHUB_CONCURRENCY: expected 1\.\.100/);
    expect(() => readGitHubConfig({ RUNSTREAM_GITHUB_APP_ID: '1' })).toThrow(
      /RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE/,
    );
  });
});
