// OAUTHBEARER tokens for kafkajs, which asks its `oauthBearerProvider` for a token on
// every SASL login (each new connection) and leaves caching to the application.
// Two sources: a token file someone else keeps fresh (a Kubernetes projected token, a
// sidecar), re-read on every login; and the OAuth 2.0 client-credentials grant
// (RFC 6749 4.4), whose token is cached until shortly before it expires.
import { readFile } from 'node:fs/promises';
import type { Secret } from './secret.js';

export type TokenProvider = () => Promise<{ value: string }>;

/** The token could not be had; the message names the source, never a secret. */
export class TokenUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TokenUnavailableError';
  }
}

export function tokenFileProvider(path: string): TokenProvider {
  return async () => {
    let value: string;
    try {
      value = (await readFile(path, 'utf8')).trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new TokenUnavailableError(`cannot read the OAuth token file ${path}: ${code}`, { cause: error });
    }
    if (value === '') throw new TokenUnavailableError(`the OAuth token file ${path} is empty`);
    const expiresAt = jwtExpiry(value);
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      throw new TokenUnavailableError(
        `the OAuth token in ${path} expired at ${new Date(expiresAt).toISOString()} (whatever renews the file has not)`,
      );
    }
    return { value };
  };
}

/** A JWT's `exp` in ms, when the token is a JWT that has one; nothing of it is logged. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export interface ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: Secret;
  scope: string | undefined;
  /** How long a token request may take. */
  timeoutMs?: number;
  now?: () => number;
}

/** A token is renewed this long before it expires (a token living under two minutes, at half its life). */
const RENEW_BEFORE_MS = 60_000;

export function clientCredentialsProvider(options: ClientCredentials): TokenProvider {
  const now = options.now ?? Date.now;
  let cached: { value: string; renewAt: number } | undefined;
  let inFlight: Promise<{ value: string; renewAt: number }> | undefined;
  return async () => {
    if (cached && now() < cached.renewAt) return { value: cached.value };
    inFlight ??= requestToken(options, now).finally(() => {
      inFlight = undefined;
    });
    cached = await inFlight;
    return { value: cached.value };
  };
}

async function requestToken(
  options: ClientCredentials,
  now: () => number,
): Promise<{ value: string; renewAt: number }> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (options.scope) body.set('scope', options.scope);
  // client_secret_basic (RFC 6749 2.3.1): both parts form-encoded, then base64.
  const basic = Buffer.from(
    `${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret.reveal())}`,
  ).toString('base64');
  const asked = now();
  let response: Response;
  try {
    response = await fetch(options.tokenUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (error) {
    throw new TokenUnavailableError(
      `OAuth token endpoint ${options.tokenUrl} unreachable: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const answer = (await response.json().catch(() => ({}))) as {
    access_token?: unknown;
    expires_in?: unknown;
    error?: unknown;
    error_description?: unknown;
  };
  if (!response.ok || typeof answer.access_token !== 'string' || answer.access_token === '') {
    const reason = [answer.error, answer.error_description].filter((s) => typeof s === 'string').join(': ');
    throw new TokenUnavailableError(
      `OAuth token endpoint ${options.tokenUrl} refused client ${options.clientId}: HTTP ${response.status}${reason ? ` ${reason}` : ''}`,
    );
  }
  const lifetimeMs = typeof answer.expires_in === 'number' ? answer.expires_in * 1000 : 5 * 60_000;
  return {
    value: answer.access_token,
    renewAt: asked + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2),
  };
}
