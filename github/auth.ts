// Credentials for api.github.com: a token, or a GitHub App (an RS256 JWT signed with
// node:crypto, exchanged for an installation token). Secrets live in #private fields,
// so neither JSON.stringify nor a logger that is handed the object can print them.
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { Secret } from '../platform/secret.js';
import type { HttpClient } from './http.js';

export interface GitHubAuth {
  /** The Authorization header value for REST calls. */
  authorization(): Promise<string>;
  /** App-level endpoints (such as /app/hook/deliveries) need the app's own JWT; only App auth has it. */
  appAuthorization?(): Promise<string>;
}

/** A personal access token or any other bearer token (a plain string is wrapped at once). */
export class TokenAuth implements GitHubAuth {
  readonly #token: Secret;

  constructor(token: Secret | string) {
    const value = (typeof token === 'string' ? token : token.reveal()).trim();
    if (value === '') throw new Error('TokenAuth: empty token');
    this.#token = new Secret(value);
  }

  async authorization(): Promise<string> {
    return `Bearer ${this.#token.reveal()}`;
  }
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** App JWT lifetime: GitHub allows at most 10 minutes; iat is backdated 60 s for clock drift. */
const APP_JWT_LIFETIME_S = 540;

/** A GitHub App JWT (RS256), `iss` the app id (or client id). */
export function appJwt(appId: string, privateKey: string | KeyObject, nowMs = Date.now()): string {
  const now = Math.floor(nowMs / 1000);
  const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify({ iat: now - 60, exp: now + APP_JWT_LIFETIME_S, iss: appId }));
  const signature = createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey);
  return `${header}.${payload}.${base64url(signature)}`;
}

/** The `exp` of a JWT in ms since epoch; undefined when it is not a readable JWT. */
export function jwtExpiry(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** True when a credential expiring at `expiresAt` must be renewed before use. */
export function needsRefresh(expiresAt: number | undefined, now: number, marginMs: number): boolean {
  return expiresAt === undefined || expiresAt - now <= marginMs;
}

/**
 * A credential shared by every caller: at most one refresh in flight; callers that
 * arrive during it wait for the same promise. Refreshes when under `marginMs` remain.
 */
export class SharedToken<T extends { expiresAt: number }> {
  // #private: the credential must not show up when a logger or inspect() prints the holder.
  #current: T | undefined;
  #refreshing: Promise<T> | undefined;
  /** Refreshes started so far. */
  refreshes = 0;

  constructor(
    private readonly fetchToken: () => Promise<T>,
    private readonly marginMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<T> {
    const current = this.#current;
    if (current && !needsRefresh(current.expiresAt, this.now(), this.marginMs)) return current;
    this.#refreshing ??= (async () => {
      try {
        this.refreshes += 1;
        this.#current = await this.fetchToken();
        return this.#current;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /**
   * Forgets `stale` (a token the server refused). Only that exact token: when 50
   * callers see the same 401, the first drops it and the rest share one refresh.
   */
  invalidate(stale: T): void {
    if (this.#current === stale) this.#current = undefined;
  }
}

export interface AppAuthOptions {
  /** The App's id (or client id); the JWT's `iss`. */
  appId: string;
  privateKeyPem: string;
  installationId: number;
  /** https://api.github.com or https://HOST/api/v3. */
  apiUrl: string;
  http: HttpClient;
  now?: () => number;
}

/** GitHub App authentication: the app JWT, exchanged for an installation token. */
export class AppAuth implements GitHubAuth {
  readonly #key: KeyObject;
  #jwt: { value: string; expiresAt: number } | undefined;
  private readonly installation: SharedToken<{ token: string; expiresAt: number }>;
  private readonly now: () => number;
  private readonly appId: string;

  constructor(options: AppAuthOptions) {
    this.appId = options.appId;
    // Parsed now, so a bad key fails at start rather than on the first call.
    this.#key = createPrivateKey(options.privateKeyPem);
    this.now = options.now ?? Date.now;
    this.installation = new SharedToken(
      async () => {
        const url = `${options.apiUrl.replace(/\/$/, '')}/app/installations/${options.installationId}/access_tokens`;
        const response = await options.http.request<{ token?: unknown; expires_at?: unknown }>(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.jwt()}`, accept: 'application/vnd.github+json' },
        });
        const { token, expires_at } = response.body ?? {};
        if (typeof token !== 'string' || typeof expires_at !== 'string') {
          throw new Error(`POST ${url}: the answer has no token or expires_at`);
        }
        return { token, expiresAt: Date.parse(expires_at) };
      },
      60_000,
      this.now,
    );
  }

  /** The app JWT (reused until a minute before it expires: signing costs an RSA operation). */
  jwt(): string {
    const now = this.now();
    if (!this.#jwt || needsRefresh(this.#jwt.expiresAt, now, 60_000)) {
      this.#jwt = {
        value: appJwt(this.appId, this.#key, now),
        expiresAt: (Math.floor(now / 1000) + APP_JWT_LIFETIME_S) * 1000,
      };
    }
    return this.#jwt.value;
  }

  async appAuthorization(): Promise<string> {
    return `Bearer ${this.jwt()}`;
  }

  /** Installation-token refreshes so far (shared by concurrent callers). */
  get refreshes(): number {
    return this.installation.refreshes;
  }

  async authorization(): Promise<string> {
    return `Bearer ${(await this.installation.get()).token}`;
  }
}
