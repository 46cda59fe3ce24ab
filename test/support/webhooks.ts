// Real payloads from @octokit/webhooks-examples, re-identified for tests, and signing
// with the reference implementation (@octokit/webhooks-methods).
import { createRequire } from 'node:module';
import { sign } from '@octokit/webhooks-methods';

const require = createRequire(import.meta.url);

interface ExampleGroup {
  name: string;
  examples: Array<Record<string, unknown>>;
}

const groups = require('@octokit/webhooks-examples') as ExampleGroup[];

export type WebhookPayload = Record<string, unknown>;

/** Deep copies of the real examples of one event, optionally filtered by action. */
export function examples(event: 'workflow_run' | 'workflow_job', action?: string): WebhookPayload[] {
  const group = groups.find((g) => g.name === event);
  if (!group) throw new Error(`no examples for ${event}`);
  return group.examples
    .filter((e) => action === undefined || e.action === action)
    .map((e) => structuredClone(e) as WebhookPayload);
}

export function example(event: 'workflow_run' | 'workflow_job', action: string): WebhookPayload {
  const found = examples(event, action)[0];
  if (!found) throw new Error(`no ${event}.${action} example`);
  return found;
}

export async function signatureOf(secret: string, body: Buffer): Promise<string> {
  // The reference signer takes a string; our bodies are UTF-8 JSON, so this is exact.
  return sign(secret, body.toString('utf8'));
}

export interface SignedRequest {
  headers: Record<string, string>;
  body: Buffer;
}

let counter = 0;

export function deliveryId(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${String(Date.now() % 1e6).padStart(6, '0')}${String(counter).padStart(6, '0')}`;
}

export async function signedRequest(
  event: string,
  payload: unknown,
  secret: string,
  id: string = deliveryId(),
): Promise<SignedRequest> {
  const body = Buffer.from(JSON.stringify(payload));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-delivery': id,
      'x-github-event': event,
      'x-github-hook-id': '4242',
      'x-github-hook-installation-target-type': 'repository',
      'x-github-hook-installation-target-id': '186853002',
      'x-hub-signature-256': await signatureOf(secret, body),
    },
  };
}
