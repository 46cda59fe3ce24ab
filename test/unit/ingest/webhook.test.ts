import { describe, expect, it } from 'vitest';
import { decideWebhook, verifySignature } from '../../../ingest/webhook.js';
import { runIdOf } from '../../../schemas/payload.js';
import { example, signatureOf, signedRequest } from '../../support/webhooks.js';

const secrets = ['old-secret', 'new-secret'];
/** An X-GitHub-Delivery as GitHub's docs show one. */
const GUID = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

async function decide(
  event: string,
  payload: unknown,
  secret = 'new-secret',
  edit?: (h: Record<string, string>) => void,
) {
  const request = await signedRequest(event, payload, secret);
  edit?.(request.headers);
  return decideWebhook({ headers: request.headers, body: request.body, receivedAt: 1000 }, secrets);
}

describe('decideWebhook', () => {
  it('publishes a signed workflow_job keyed by its run id with the raw body', async () => {
    const payload = example('workflow_job', 'queued');
    const request = await signedRequest('workflow_job', payload, 'old-secret', GUID);
    const decision = decideWebhook(
      { headers: request.headers, body: request.body, receivedAt: 1000 },
      secrets,
    );
    expect(decision.kind).toBe('publish');
    if (decision.kind !== 'publish') return;
    const runId = (payload.workflow_job as { run_id: number }).run_id;
    expect(decision.key).toBe(String(runId));
    expect(decision.delivery).toMatchObject({
      id: GUID,
      event: 'workflow_job',
      action: 'queued',
      hookId: '4242',
      installationTargetType: 'repository',
      installationTargetId: '186853002',
      receivedAt: 1000,
      source: 'webhook',
      runId,
    });
    expect(decision.delivery.body.equals(request.body)).toBe(true);
  });

  it('keys workflow_run by workflow_run.id (there is no run_id field)', async () => {
    const payload = example('workflow_run', 'completed');
    const decision = await decide('workflow_run', payload);
    expect(decision.kind === 'publish' && decision.key).toBe(
      String((payload.workflow_run as { id: number }).id),
    );
  });

  it('answers each refusal per the contract', async () => {
    const job = example('workflow_job', 'queued');
    expect(await decide('workflow_job', job, 'wrong')).toMatchObject({
      status: 401,
      result: 'bad_signature',
    });
    expect(
      await decide('workflow_job', job, 'new-secret', (h) => {
        delete h['x-hub-signature-256'];
      }),
    ).toMatchObject({ status: 401 });
    expect(
      await decide('workflow_job', job, 'new-secret', (h) => {
        delete h['x-github-delivery'];
      }),
    ).toMatchObject({ status: 400, result: 'malformed' });
    expect(
      await decide('workflow_job', job, 'new-secret', (h) => {
        delete h['x-github-event'];
      }),
    ).toMatchObject({ status: 400, result: 'malformed' });
    expect(await decide('ping', { zen: 'Keep it logically awesome.', hook_id: 1 })).toMatchObject({
      status: 200,
      result: 'ignored',
      event: 'ping',
    });
    expect(await decide('push', { ref: 'refs/heads/main' })).toMatchObject({
      status: 202,
      result: 'ignored',
      event: 'other',
    });
    expect(await decide('workflow_job', { action: 'queued', workflow_job: {} })).toMatchObject({
      status: 400,
      result: 'malformed',
    });
  });

  it('refuses a delivery id that is not a GUID, whatever the event, and normalises upper case', async () => {
    const job = example('workflow_job', 'completed');
    const refused = [
      'retired:run:30433642:1',
      'retired:job:399444496',
      'guid-1',
      '',
      ' 72d3162e-cc78-11e3-81ab-4c9367dc0958',
      '72d3162e-cc78-11e3-81ab-4c9367dc0958 ',
      '{72d3162e-cc78-11e3-81ab-4c9367dc0958}',
      'urn:uuid:72d3162e-cc78-11e3-81ab-4c9367dc0958',
      '72d3162ecc7811e381ab4c9367dc0958',
      '72d3162e-cc78-11e3-81ab-4c9367dc095',
      '72d3162e-cc78-11e3-81ab-4c9367dc09580',
      '72d3162g-cc78-11e3-81ab-4c9367dc0958',
      '72d3162e-cc78-11e3-81ab-4c9367dc0958\n',
      'x'.repeat(10_000),
    ];
    for (const id of refused) {
      for (const [event, payload] of [
        ['workflow_job', job],
        ['ping', { zen: 'z', hook_id: 1 }],
        ['push', { ref: 'refs/heads/main' }],
      ] as const) {
        const decision = await decide(event, payload, 'new-secret', (h) => {
          h['x-github-delivery'] = id;
        });
        // '' is a missing header, refused as such.
        expect(decision, `${event} ${JSON.stringify(id.slice(0, 40))}`).toMatchObject({
          kind: 'answer',
          status: 400,
          result: 'malformed',
          message: expect.stringMatching(
            id === '' ? /missing X-GitHub-Delivery/ : /X-GitHub-Delivery: .*is not a GUID/,
          ),
        });
      }
    }
    // The message quotes at most 64 characters of what was sent.
    const long = await decide('workflow_job', job, 'new-secret', (h) => {
      h['x-github-delivery'] = 'x'.repeat(10_000);
    });
    expect(long.kind === 'answer' && long.message.length).toBeLessThan(250);
    // Still 401 first: an unauthenticated sender learns nothing about its id.
    expect(
      await decide('workflow_job', job, 'wrong', (h) => {
        h['x-github-delivery'] = 'retired:run:1:1';
      }),
    ).toMatchObject({ status: 401 });

    // Upper case is the same GUID: published under the lower-case spelling GitHub uses.
    const upper = await decide('workflow_job', job, 'new-secret', (h) => {
      h['x-github-delivery'] = GUID.toUpperCase();
    });
    expect(upper.kind === 'publish' && upper.delivery.id).toBe(GUID);
  });

  it('refuses unparsable JSON after the signature is checked', async () => {
    const body = Buffer.from('{"action": "queued",');
    const good = await signedRequest('workflow_job', {}, 'new-secret');
    const headers = { ...good.headers, 'x-hub-signature-256': await signatureOf('new-secret', body) };
    expect(decideWebhook({ headers, body, receivedAt: 0 }, secrets)).toMatchObject({
      status: 400,
      result: 'malformed',
    });
    // The same bytes unsigned are a 401: nothing is parsed for an unauthenticated sender.
    expect(decideWebhook({ headers: good.headers, body, receivedAt: 0 }, secrets)).toMatchObject({
      status: 401,
    });
  });
});

describe('verifySignature', () => {
  it('accepts any configured secret and rejects malformed headers', async () => {
    const body = Buffer.from('{"a":1}');
    expect(verifySignature(secrets, body, await signatureOf('old-secret', body))).toBe(true);
    expect(verifySignature(secrets, body, await signatureOf('new-secret', body))).toBe(true);
    expect(verifySignature(secrets, body, await signatureOf('other', body))).toBe(false);
    expect(verifySignature(secrets, body, 'sha1=abc')).toBe(false);
    expect(verifySignature(secrets, body, 'sha256=zz')).toBe(false);
    expect(verifySignature(secrets, body, undefined)).toBe(false);
  });

  it('checks the raw bytes, not re-serialised JSON', async () => {
    const raw = Buffer.from('{ "a" : 1 }');
    const signature = await signatureOf('new-secret', raw);
    expect(verifySignature(secrets, raw, signature)).toBe(true);
    expect(verifySignature(secrets, Buffer.from(JSON.stringify(JSON.parse(raw.toString()))), signature)).toBe(
      false,
    );
  });
});

describe('runIdOf', () => {
  it('reads the run id of both events and rejects anything else', () => {
    expect(runIdOf('workflow_run', { workflow_run: { id: 5 } })).toBe(5);
    expect(runIdOf('workflow_job', { workflow_job: { run_id: 7 } })).toBe(7);
    expect(runIdOf('workflow_job', { workflow_job: { run_id: '7' } })).toBeNull();
    expect(runIdOf('push', { workflow_run: { id: 5 } })).toBeNull();
    expect(runIdOf('workflow_run', null)).toBeNull();
  });
});
