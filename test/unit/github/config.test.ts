// GitHub configuration from the environment: one clear line naming the variable.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { AppAuth, TokenAuth } from '../../../github/auth.js';
import { readGitHubConfig, readGitHubToken } from '../../../github/config.js';
import { ConfigError } from '../../../platform/config.js';
import { isLoopbackHost } from '../../../platform/loopback.js';
import { Secret } from '../../../platform/secret.js';

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

describe('RUNSTREAM_GITHUB_TOKEN_FILE', () => {
  const TOKEN = 'ghp_from_file_0123456789abcdef';
  const failure = (env: Record<string, string>) => {
    try {
      readGitHubConfig(env);
    } catch (e) {
      return e as ConfigError;
    }
    throw new Error('no error');
  };

  it('gives the token, its trailing newline dropped, held as a Secret', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const config = readGitHubConfig({ RUNSTREAM_GITHUB_TOKEN_FILE: file });
    expect(await config?.auth.authorization()).toBe(`Bearer ${TOKEN}`);
    const token = readGitHubToken({ RUNSTREAM_GITHUB_TOKEN_FILE: file });
    expect(token).toBeInstanceOf(Secret);
    expect(token?.reveal()).toBe(TOKEN);
    for (const shown of [String(token), JSON.stringify({ token, config }), inspect(config, { depth: 9 })]) {
      expect(shown).not.toContain(TOKEN);
    }
  });

  it('refuses both sources, an unreadable or empty file and a token of two lines, naming the variable and never the token', () => {
    const file = join(dir, 'token-both');
    writeFileSync(file, TOKEN);
    const both = failure({ RUNSTREAM_GITHUB_TOKEN: TOKEN, RUNSTREAM_GITHUB_TOKEN_FILE: file });
    expect(both).toBeInstanceOf(ConfigError);
    expect(both.message).toBe(
      'RUNSTREAM_GITHUB_TOKEN: set together with RUNSTREAM_GITHUB_TOKEN_FILE: keep one',
    );
    const missing = failure({ RUNSTREAM_GITHUB_TOKEN_FILE: join(dir, 'absent') });
    expect(missing.variable).toBe('RUNSTREAM_GITHUB_TOKEN_FILE');
    expect(missing.message).toMatch(/cannot read .*absent: ENOENT$/);
    const empty = join(dir, 'token-empty');
    writeFileSync(empty, ' \n');
    expect(failure({ RUNSTREAM_GITHUB_TOKEN_FILE: empty }).message).toBe(
      `RUNSTREAM_GITHUB_TOKEN_FILE: ${empty} is empty`,
    );
    const twoLines = join(dir, 'token-two-lines');
    writeFileSync(twoLines, `${TOKEN}\n${TOKEN}\n`);
    const two = failure({ RUNSTREAM_GITHUB_TOKEN_FILE: twoLines });
    expect(two.variable).toBe('RUNSTREAM_GITHUB_TOKEN_FILE');
    expect(two.message).not.toContain(TOKEN);
    expect(failure({ RUNSTREAM_GITHUB_TOKEN: `${TOKEN} x` }).message).not.toContain(TOKEN);
  });
});

describe('RUNSTREAM_GITHUB_API_URL', () => {
  const apiUrl = (url: string) =>
    readGitHubConfig({ RUNSTREAM_GITHUB_TOKEN: 't', RUNSTREAM_GITHUB_API_URL: url });

  it('must be https, except on loopback', () => {
    for (const url of [
      'https://api.github.com',
      'https://ghes.example.com/api/v3/',
      'https://ghes.example.com:8443/api/v3',
      'http://127.0.0.1:4010',
      'http://127.9.8.7',
      'http://localhost:8080/api/v3',
      'http://[::1]:9000',
    ]) {
      expect(apiUrl(url)?.apiUrl, url).toBe(url.replace(/\/$/, ''));
    }
    for (const url of [
      'http://ghes.example.com/api/v3',
      'http://10.0.0.1',
      'http://128.0.0.1',
      'http://127.0.0.1.example.com',
      'http://localhost.example.com',
      'ftp://127.0.0.1',
      'not a url',
      'https://user:s3cr3tpw@ghes.example.com',
    ]) {
      let error: unknown;
      try {
        apiUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error, url).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('RUNSTREAM_GITHUB_API_URL');
      expect((error as ConfigError).message).not.toContain('s3cr3tpw');
    }
    expect(() => apiUrl('http://ghes.example.com/api/v3')).toThrow(
      /^RUNSTREAM_GITHUB_API_URL: must be https .*http only on loopback/,
    );
  });
});

describe('isLoopbackHost', () => {
  it('is localhost, 127.0.0.0/8 and ::1, as URLs spell them', () => {
    const host = (url: string) => isLoopbackHost(new URL(url).hostname);
    expect(
      ['http://localhost', 'http://LOCALHOST', 'http://127.0.0.1', 'http://127.255.0.3'].map(host),
    ).toEqual([true, true, true, true]);
    expect(['http://[::1]', 'http://[0:0:0:0:0:0:0:1]', 'http://127.1'].map(host)).toEqual([
      true,
      true,
      true,
    ]);
    expect(
      [
        'http://0.0.0.0',
        'http://[::]',
        'http://126.0.0.1',
        'http://localhost.evil',
        'http://127.0.0.1.nip.io',
      ].map(host),
    ).toEqual([false, false, false, false, false]);
  });
});
