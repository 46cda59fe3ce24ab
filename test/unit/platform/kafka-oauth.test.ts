// OAUTHBEARER token sources: a token file re-read on every login (and an expired JWT
// refused with the time it expired), and the client-credentials grant against a real
// local HTTP endpoint: cached until shortly before expiry, refused without the secret.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { clientCredentialsProvider, tokenFileProvider } from '../../../platform/kafka-oauth.js';
import { Secret } from '../../../platform/secret.js';

const jwt = (exp: number) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', exp })).toString('base64url')}.`;

describe('token file', () => {
  it('is re-read on every login; an expired JWT is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runstream-oauth-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'token');
    const provider = tokenFileProvider(path);
    await expect(provider()).rejects.toThrow(`cannot read the OAuth token file ${path}: ENOENT`);
    const first = jwt(Date.now() / 1000 + 600);
    writeFileSync(path, `${first}\n`);
    expect(await provider()).toEqual({ value: first });
    const second = jwt(Date.now() / 1000 + 900);
    writeFileSync(path, second);
    expect(await provider()).toEqual({ value: second });
    writeFileSync(path, jwt(1_700_000_000));
    await expect(provider()).rejects.toThrow('expired at 2023-11-14T22:13:20.000Z');
  });
});

describe('client credentials', () => {
  const requests: Array<{ authorization: string; body: string }> = [];
  let status = 200;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      requests.push({ authorization: request.headers.authorization ?? '', body });
      response.statusCode = status;
      response.setHeader('content-type', 'application/json');
      response.end(
        JSON.stringify(
          status === 200
            ? { access_token: `token-${requests.length}`, expires_in: 300 }
            : { error: 'invalid_client', error_description: 'bad secret' },
        ),
      );
    });
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('asks once, caches until a minute before expiry, then asks again', async () => {
    let now = 1_000_000;
    const provider = clientCredentialsProvider({
      tokenUrl: url,
      clientId: 'runstream processor',
      clientSecret: new Secret('s3cret:with/odd&chars'),
      scope: 'kafka',
      now: () => now,
    });
    expect(await Promise.all([provider(), provider()])).toEqual([{ value: 'token-1' }, { value: 'token-1' }]);
    now += 239_000;
    expect(await provider()).toEqual({ value: 'token-1' });
    now += 2000;
    expect(await provider()).toEqual({ value: 'token-2' });
    expect(requests).toHaveLength(2);
    const basic = Buffer.from(requests[0]!.authorization.replace('Basic ', ''), 'base64').toString();
    expect(basic.split(':').map(decodeURIComponent)).toEqual([
      'runstream processor',
      's3cret:with/odd&chars',
    ]);
    expect(new URLSearchParams(requests[0]!.body).get('grant_type')).toBe('client_credentials');
    expect(new URLSearchParams(requests[0]!.body).get('scope')).toBe('kafka');
  });

  it('a refusal names the endpoint, the client and the answer, never the secret', async () => {
    status = 401;
    const provider = clientCredentialsProvider({
      tokenUrl: url,
      clientId: 'c',
      clientSecret: new Secret('hidden-value'),
      scope: undefined,
    });
    const error = (await provider().catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      `OAuth token endpoint ${url} refused client c: HTTP 401 invalid_client: bad secret`,
    );
    expect(error.message).not.toContain('hidden-value');
    status = 200;
  });
});
