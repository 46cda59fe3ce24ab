// App JWT signing and verification, installation tokens shared by concurrent callers,
// app hook endpoints on the app JWT, and secrets that never serialise.
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AppAuth, appJwt, SharedToken, TokenAuth } from '../../../github/auth.js';
import { GitHubApiError } from '../../../github/errors.js';
import { GitHubRestClient } from '../../../github/rest.js';
import { http, startFake } from './setup.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('GitHub App JWT', () => {
  it('is RS256 over header.payload and verifies with the public key', () => {
    const jwt = appJwt('12345', privateKeyPem, 1_700_000_000_000);
    const [header, payload, signature] = jwt.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({
      iat: 1_699_999_940,
      exp: 1_700_000_540,
      iss: '12345',
    });
    const verify = (data: string, key = publicKey) =>
      createVerify('RSA-SHA256').update(data).verify(key, Buffer.from(signature, 'base64url'));
    expect(verify(`${header}.${payload}`)).toBe(true);
    expect(verify(`${header}.${payload}x`)).toBe(false);
    expect(verify(`${header}.${payload}`, other.publicKey)).toBe(false);
  });

  it('gets one installation token for 20 concurrent callers; the fake verifies the JWT', async () => {
    const fake = await startFake({ appPublicKey: publicKey });
    const auth = new AppAuth({
      appId: '12345',
      privateKeyPem,
      installationId: 99,
      apiUrl: fake.url,
      http: http(),
    });
    const values = await Promise.all(Array.from({ length: 20 }, () => auth.authorization()));
    expect(new Set(values).size).toBe(1);
    expect(values[0]).toMatch(/^Bearer ghs_fake\d+$/);
    expect(fake.count('POST', '/app/installations/99/access_tokens')).toBe(1);
    expect(auth.refreshes).toBe(1);
  });

  it('is refused when signed with another key', async () => {
    const fake = await startFake({ appPublicKey: publicKey });
    const auth = new AppAuth({
      appId: '12345',
      privateKeyPem: other.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      installationId: 99,
      apiUrl: fake.url,
      http: http(),
    });
    await expect(auth.authorization()).rejects.toMatchObject({ status: 401 });
    await expect(auth.authorization()).rejects.toBeInstanceOf(GitHubApiError);
  });

  it('lists the app hook deliveries with the app JWT; a plain token is refused up front', async () => {
    const fake = await startFake({ appPublicKey: publicKey, deliveries: 5 });
    const auth = new AppAuth({
      appId: '1',
      privateKeyPem,
      installationId: 2,
      apiUrl: fake.url,
      http: http(),
    });
    const client = new GitHubRestClient(http(), auth, fake.url);
    const page = await client.listPage({ kind: 'app' }, client.firstPageUrl({ kind: 'app' }));
    expect(page.deliveries).toHaveLength(5);
    expect(fake.count('GET', '/app/hook/deliveries')).toBe(1);
    expect(fake.count('POST', '/app/installations/')).toBe(0); // the JWT itself, no installation token
    const tokenClient = new GitHubRestClient(http(), new TokenAuth('t'), fake.url);
    await expect(
      tokenClient.listPage({ kind: 'app' }, tokenClient.firstPageUrl({ kind: 'app' })),
    ).rejects.toThrow(/GitHub App authentication/);
    expect(fake.count('GET', '/app/hook/deliveries')).toBe(1);
  });

  it('keeps secrets out of JSON and inspection', async () => {
    const fake = await startFake();
    const token = new TokenAuth('ghp_secret_value');
    const app = new AppAuth({ appId: '1', privateKeyPem, installationId: 2, apiUrl: fake.url, http: http() });
    const installationToken = (await app.authorization()).replace('Bearer ', '');
    const jwt = app.jwt();
    for (const auth of [token, app]) {
      const shown = JSON.stringify(auth) + inspect(auth, { depth: 10, showHidden: true });
      for (const secret of ['ghp_secret_value', 'PRIVATE KEY', installationToken, jwt]) {
        expect(shown).not.toContain(secret);
      }
    }
  });
});

describe('SharedToken', () => {
  it('runs one refresh for concurrent callers, refreshes inside the margin, and retries after a failure', async () => {
    let now = 0;
    let calls = 0;
    let fail = false;
    const shared = new SharedToken(
      async () => {
        calls += 1;
        await new Promise((r) => setTimeout(r, 10));
        if (fail) throw new Error('handshake failed');
        return { value: calls, expiresAt: now + 120_000 };
      },
      60_000,
      () => now,
    );
    const first = await Promise.all(Array.from({ length: 50 }, () => shared.get()));
    expect(calls).toBe(1);
    expect(new Set(first).size).toBe(1);
    now += 59_000; // 61 s left: still good
    await shared.get();
    expect(calls).toBe(1);
    now += 2_000; // 59 s left: refresh
    await shared.get();
    expect(calls).toBe(2);
    fail = true;
    now += 61_000;
    await expect(Promise.all([shared.get(), shared.get()])).rejects.toThrow('handshake failed');
    expect(calls).toBe(3);
    fail = false;
    expect((await shared.get()).value).toBe(4);
  });

  it('invalidates only the token that was refused', async () => {
    let calls = 0;
    const shared = new SharedToken(async () => ({ n: ++calls, expiresAt: Date.now() + 3_600_000 }));
    const stale = await shared.get();
    shared.invalidate(stale);
    const fresh = await shared.get();
    shared.invalidate(stale); // a late caller with the old token changes nothing
    expect(await shared.get()).toBe(fresh);
    expect(calls).toBe(2);
  });
});
