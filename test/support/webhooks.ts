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

/**
 * A payload whose event times (created_at, started_at, completed_at, run_started_at,
 * updated_at) are moved, all by the same amount, so the latest is `latestMs`: the real
 * examples date from years ago, and the processor does not start an entity from an
 * event older than the dedupe window.
 */
export function retimed(payload: WebhookPayload, latestMs = Date.now() - 60_000): WebhookPayload {
  const fields = ['created_at', 'started_at', 'completed_at', 'run_started_at', 'updated_at'];
  const entity = (payload.workflow_job ?? payload.workflow_run) as Record<string, unknown> | undefined;
  if (!entity) return payload;
  const times = fields
    .filter((f) => typeof entity[f] === 'string')
    .map((f) => Date.parse(entity[f] as string));
  if (times.length === 0) return payload;
  const shift = latestMs - Math.max(...times);
  for (const f of fields) {
    if (typeof entity[f] === 'string') {
      entity[f] = new Date(Date.parse(entity[f] as string) + shift).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
  }
  return payload;
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
