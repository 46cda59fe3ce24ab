// Shared by the GitHub client tests: fakes that are always stopped (also when a test
// fails), and clients with fast retry policies.
import { afterEach } from 'vitest';
import { ActionsServiceClient } from '../../../github/actions-service.js';
import { TokenAuth } from '../../../github/auth.js';
import { HttpClient, type HttpClientOptions } from '../../../github/http.js';
import type { RetryPolicy } from '../../../github/policy.js';
import { GitHubRestClient } from '../../../github/rest.js';
import { FakeGitHub, type FakeGitHubOptions } from '../../support/fake-github.js';

const started: FakeGitHub[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((f) => f.stop()));
});

export async function startFake(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const fake = new FakeGitHub(options);
  started.push(fake);
  return fake.start();
}

/** Retries fast, so tests of backoff take milliseconds, not minutes. */
export const FAST_RETRY: Partial<RetryPolicy> = {
  baseDelayMs: 10,
  maxDelayMs: 50,
  secondaryMinimumMs: 300,
  resetSlackMs: 0,
};

export function http(options: HttpClientOptions = {}): HttpClient {
  return new HttpClient({ concurrency: 10, ...options, retry: { ...FAST_RETRY, ...options.retry } });
}

export const TOKEN = 'ghp_test_token_value_0123456789';

export function serviceClient(fake: FakeGitHub, httpClient = http()): ActionsServiceClient {
  return new ActionsServiceClient({
    http: httpClient,
    auth: new TokenAuth(TOKEN),
    apiUrl: fake.url,
    githubConfigUrl: 'https://github.com/octo-org',
  });
}

export function restClient(fake: FakeGitHub, httpClient = http(), token = TOKEN): GitHubRestClient {
  return new GitHubRestClient(httpClient, new TokenAuth(token), fake.url);
}

export const REPO_HOOK = { kind: 'repo', owner: 'octo-org', repo: 'octo-repo', hookId: 4242 } as const;

export const generatePosts = (fake: FakeGitHub) =>
  fake.requests.filter((r) => r.method === 'POST' && r.path.includes('/generatejitconfig'));
