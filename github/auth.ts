// Credentials for api.github.com: a token, or a GitHub App (an RS256 JWT signed with
// node:crypto, exchanged for an installation token). Concurrent callers share one
// token refresh.
import { createSign } from 'node:crypto';
import type { HttpClient } from './http.js';

export interface GitHubAuth {
  /** The Authorization header value for REST calls. */
  authorization(): Promise<string>;
}

export class TokenAuth implements GitHubAuth {
  constructor(private readonly token: string) {}
  async authorization(): Promise<string> {
    return `Bearer ${this.token}`;
  }
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A GitHub App JWT: iat 60 s in the past for clock drift, valid 9 minutes (max 10). */
export function appJwt(appId: string, privateKeyPem: string, nowMs = Date.now()): string {
  const now = Math.floor(nowMs / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ iat: now - 60, exp: now + 540, iss: appId }));
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKeyPem);
  return `${header}.${payload}.${base64url(signature)}`;
}

/** Shares one refresh among concurrent callers; refreshes when under `marginMs` remain. */
export class SharedToken<T extends { expiresAt: number }> {
  private current: T | undefined;
  private refreshing: Promise<T> | undefined;
  refreshes = 0;

  constructor(
    private readonly fetchToken: () => Promise<T>,
    private readonly marginMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<T> {
    if (this.current && this.current.expiresAt - this.now() > this.marginMs) return this.current;
    this.refreshing ??= (async () => {
      try {
        this.refreshes += 1;
        this.current = await this.fetchToken();
        return this.current;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

export interface AppAuthOptions {
  appId: string;
  privateKeyPem: string;
  installationId: number;
  apiUrl: string;
  http: HttpClient;
}

export class AppAuth implements GitHubAuth {
  private readonly token: SharedToken<{ token: string; expiresAt: number }>;

  constructor(private readonly options: AppAuthOptions) {
    this.token = new SharedToken(async () => {
      const response = await options.http.request<{ token: string; expires_at: string }>(
        `${options.apiUrl}/app/installations/${options.installationId}/access_tokens`,
        { method: 'POST', headers: { authorization: `Bearer ${this.jwt()}` } },
      );
      return { token: response.body.token, expiresAt: Date.parse(response.body.expires_at) };
    });
  }

  /** For app-level endpoints such as /app/hook/deliveries. */
  jwt(): string {
    return appJwt(this.options.appId, this.options.privateKeyPem);
  }

  async authorization(): Promise<string> {
    return `Bearer ${(await this.token.get()).token}`;
  }
}
