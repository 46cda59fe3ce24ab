// runstream on a secured Kafka platform (docs/kafka-platform.md), against the real
// secured jar broker (scripts/kafka.sh start --secure: TLS, SASL, ACLs enforced with
// allow.everyone.if.no.acl.found=false): the end-to-end stream over SCRAM-SHA-512, mTLS
// and OAUTHBEARER, each role a separate process with its own principal and only the
// ACLs the document lists; refused logins, untrusted certificates, expired tokens and
// missing ACLs as one line each; `topics verify` on topics someone else got wrong.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../platform/kafka/index.js';
import type { KafkaPort } from '../../platform/kafka-port.js';
import { readKafkaSecurity } from '../../platform/kafka-security.js';
import { topicPlan } from '../../platform/topics.js';
import { ensureTopics } from '../../platform/topics-admin.js';
import { Fleet, type Role } from '../fault/fleet.js';
import { scenarioStream } from '../fault/scenario.js';
import { sendStream } from '../fault/sender.js';
import { aclEntries, type DocAcl, documentedAcls, grant } from '../support/acl-doc.js';
import { freePort } from '../support/broker.js';
import { startCli } from '../support/cli-process.js';
import { parseExposition, samplesByKey, scrape } from '../support/exposition.js';
import { testLogger } from '../support/kafka.js';
import { type PlumbingKafka, plumbingKafka } from '../support/kafkajs.js';
import { expectedSeries, seriesDiff } from '../support/oracle.js';
import { type SecureBroker, startSecureBroker, unsignedJwt } from '../support/secure-broker.js';

// ingest-b has ACLs in one test only: an idempotent producer may start with Write on any
// topic at all, so only a principal with no Write anywhere shows the missing one.
const USERS = ['ingest', 'processor', 'exporter', 'tools', 'ingest-b'] as const;
// Long enough for ingest's short-secret warning to stay silent (the missing-ACL case expects one line).
const SECRET = 'secure-suite-webhook-secret-0123456789abcdef';
const PARTITIONS = 4;

describe('on a secured Kafka platform', () => {
  let broker: SecureBroker;
  let admin: KafkaPort;
  /** The same identity for what the port does not offer (ACLs, topic configs). */
  let plumbing: PlumbingKafka;
  let acls: DocAcl[];
  let work: string;
  /** Every secret the suite hands out: none may appear in any output. */
  const secrets: string[] = [];

  beforeAll(async () => {
    broker = await startSecureBroker(USERS);
    work = await mkdtemp(join(tmpdir(), 'runstream-secure-suite-'));
    const adminEndpoint = {
      brokers: [broker.address.scram],
      security: readKafkaSecurity(broker.envFor('scram', 'admin')),
      clientId: 'secure-suite-admin',
    };
    plumbing = plumbingKafka(adminEndpoint);
    admin = createKafka({
      ...adminEndpoint,
      logger: testLogger,
    });
    acls = await documentedAcls();
    for (const user of ['admin', ...USERS]) secrets.push(await broker.password(user));
  }, 180_000);

  afterAll(async () => {
    await broker?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Topics as the platform team creates them, and the document's ACLs (as `edit` leaves them). */
  async function preparePrefix(
    name: string,
    edit: (acl: DocAcl) => DocAcl | undefined = (acl) => acl,
    principals: Record<string, string> = {},
  ) {
    const prefix = `${name}${randomUUID().slice(0, 6)}.`;
    await ensureTopics(admin, topicPlan({ prefix, partitions: PARTITIONS }), 1, testLogger);
    const vars = {
      PREFIX: prefix,
      GROUP: `${prefix}processor`,
      INGEST: 'User:ingest',
      PROCESSOR: 'User:processor',
      EXPORTER: 'User:exporter',
      TOOLS: 'User:tools',
      ...principals,
    };
    const kafkaAdmin = plumbing.admin();
    await kafkaAdmin.connect();
    try {
      await grant(
        kafkaAdmin,
        aclEntries(
          acls.flatMap((acl) => edit(acl) ?? []),
          vars,
        ),
      );
    } finally {
      await kafkaAdmin.disconnect();
    }
    return prefix;
  }

  async function tokenFile(user: string, expiresInSeconds: number): Promise<string> {
    const token = unsignedJwt(user, expiresInSeconds);
    secrets.push(token);
    const path = join(work, `${user}-${randomUUID().slice(0, 6)}.jwt`);
    await writeFile(path, token);
    return path;
  }

  /** An OAuth token endpoint (client credentials, client_secret_basic) issuing unsigned JWTs. */
  async function tokenEndpoint(clientSecret: string) {
    const requests: string[] = [];
    const server: Server = createServer((request, response) => {
      const [id, secret] = Buffer.from((request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':')
        .map(decodeURIComponent);
      requests.push(id ?? '');
      response.setHeader('content-type', 'application/json');
      if (secret !== clientSecret || !id) {
        response.statusCode = 401;
        response.end(JSON.stringify({ error: 'invalid_client' }));
        return;
      }
      const token = unsignedJwt(id, 3600);
      secrets.push(token);
      response.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${port}/token`,
      requests,
      close: () => new Promise((r) => server.close(r)),
    };
  }

  /** Polls both exporters until they serve the oracle's series; the differences left at the deadline. */
  async function exactWithin(
    fleet: Fleet,
    expected: Map<string, number>,
    timeoutMs: number,
  ): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const texts = await Promise.all(['e1', 'e2'].map((n) => scrape(fleet.get(n).port).catch(() => '')));
      const diffs = texts.flatMap((text, i) => {
        const served = samplesByKey(parseExposition(text), 'github_actions_');
        return served.size === 0
          ? [`e${i + 1}: nothing served`]
          : seriesDiff(served, expected).map((d) => `e${i + 1}: ${d}`);
      });
      if (diffs.length === 0 || Date.now() > deadline) return diffs;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Until the processor group has committed every delivery on the topic. */
  async function processedToEnd(groupId: string, topic: string): Promise<void> {
    const kafkaAdmin = plumbing.admin();
    await kafkaAdmin.connect();
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const ends = await kafkaAdmin.fetchTopicOffsets(topic);
        const [committed] = await kafkaAdmin.fetchOffsets({ groupId, topics: [topic] });
        const at = new Map(committed?.partitions.map((p) => [p.partition, p.offset]) ?? []);
        if (ends.every((e) => at.get(e.partition) === e.high)) return;
        if (Date.now() > deadline) throw new Error(`${groupId} did not process ${topic} to its end`);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await kafkaAdmin.disconnect();
    }
  }

  async function expectNoSecret(texts: Iterable<string>): Promise<void> {
    for (const text of texts) for (const secret of secrets) expect(text.includes(secret)).toBe(false);
  }

  for (const [index, transport] of (['scram', 'mtls', 'oauth'] as const).entries()) {
    it(`the stream is exact over ${transport}, each role with only its documented ACLs`, async () => {
      const started = Date.now();
      const prefix = await preparePrefix(`s${transport}`);
      const runDir = join(work, `run-${transport}`);
      const clientSecret = `client-secret-${randomUUID()}`;
      secrets.push(clientSecret);
      const endpoint = transport === 'oauth' ? await tokenEndpoint(clientSecret) : undefined;
      const envFor = async (role: Role): Promise<Record<string, string>> => {
        if (transport !== 'oauth') return broker.envFor(transport, role);
        if (role !== 'processor' || !endpoint)
          return broker.envFor('oauth', role, await tokenFile(role, 3600));
        // Processors use the client-credentials flow, the others a token file.
        const secretFile = join(work, 'client-secret');
        await writeFile(secretFile, `${clientSecret}\n`);
        return {
          KAFKA_BROKERS: broker.address.oauth,
          KAFKA_SSL_CA_FILE: broker.caFile,
          KAFKA_SASL_MECHANISM: 'oauthbearer',
          KAFKA_SASL_OAUTHBEARER_TOKEN_URL: endpoint.url,
          KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'processor',
          KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE: secretFile,
        };
      };
      const fleet = new Fleet({
        brokers: [broker.address[transport]],
        prefix,
        runDir,
        secret: SECRET,
        env: { RUNSTREAM_PROCESSOR_SESSION_TIMEOUT: '10s' },
      });
      const { deliveries, truth } = scenarioStream(index + 1, 30);
      const expected = expectedSeries(truth);
      try {
        await fleet.start('i1', 'ingest', await envFor('ingest'));
        await Promise.all([
          fleet.start('p1', 'processor', await envFor('processor')),
          fleet.start('p2', 'processor', await envFor('processor')),
        ]);
        await Promise.all([
          fleet.start('e1', 'exporter', await envFor('exporter')),
          fleet.start('e2', 'exporter', await envFor('exporter')),
        ]);
        const send = await sendStream(deliveries, {
          targets: () => fleet.running('ingest').map((p) => ({ name: p.name, port: p.port })),
          secret: SECRET,
          burst: 20,
          burstsPerSecond: 3,
        });
        expect(send.acks.length).toBeGreaterThanOrEqual(new Set(deliveries.map((d) => d.id)).size);
        expect(await exactWithin(fleet, expected, 120_000)).toEqual([]);
        if (transport === 'scram') {
          // The tools principal: export the deliveries, replay them; nothing changes.
          const archive = join(work, 'archive.ndjson');
          const tools = {
            ...broker.envFor('scram', 'tools'),
            RUNSTREAM_TOPIC_PREFIX: prefix,
            RUNSTREAM_LOG_LEVEL: 'warn',
          };
          const exported = await runToExit(['export', '--out', archive], tools);
          expect(exported.lines).toEqual([expect.stringContaining(`"written":${send.acks.length}`)]);
          const replayed = await runToExit(['replay', '--file', archive], tools);
          expect(replayed.code, replayed.lines.join('\n')).toBe(0);
          expect(replayed.lines.at(-1)).toContain(`"sent":${send.acks.length}`);
          await processedToEnd(`${prefix}processor`, `${prefix}deliveries`);
          expect(await exactWithin(fleet, expected, 10_000)).toEqual([]);
        }
        const scraped = await Promise.all(
          ['i1', 'p1', 'p2', 'e1', 'e2'].map((n) => scrape(fleet.get(n).port).catch(() => '')),
        );
        expect(scraped.every((text) => text.includes('runstream_'))).toBe(true);
        if (endpoint) {
          // Cached: about one token per processor process, not one per connection.
          expect(endpoint.requests.length).toBeGreaterThan(0);
          expect(endpoint.requests.length).toBeLessThanOrEqual(4);
        }
        await fleet.stopAll();
        const logs = await Promise.all(
          (await readdir(runDir))
            .filter((f) => f.endsWith('.log'))
            .map((f) => readFile(join(runDir, f), 'utf8')),
        );
        expect(logs.join('\n')).toContain('processor started');
        await expectNoSecret([...logs, ...scraped]);
        console.log(
          `${transport}: ${deliveries.length} deliveries exact on two exporters; ${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
      } finally {
        await fleet.stopAll();
        await endpoint?.close();
      }
    });
  }

  /** Runs a role or command to its exit; its whole output, and how long it took. */
  async function runToExit(args: string[], env: Record<string, string>) {
    const started = Date.now();
    const cli = startCli(args, {
      RUNSTREAM_LOG_LEVEL: 'info',
      RUNSTREAM_PROCESSOR_PORT: '0',
      RUNSTREAM_EXPORTER_PORT: '0',
      RUNSTREAM_INGEST_PORT: '0',
      RUNSTREAM_HOST: '127.0.0.1',
      RUNSTREAM_STATE_DIR: join(work, `state-${randomUUID().slice(0, 6)}`),
      RUNSTREAM_WEBHOOK_SECRET: SECRET,
      ...env,
    });
    const timer = setTimeout(() => void cli.stop(), 60_000);
    const code = await cli.exited();
    clearTimeout(timer);
    const lines = cli.log().trim().split('\n');
    return { code, lines, seconds: (Date.now() - started) / 1000 };
  }

  it('a bad setting, a wrong password, an untrusted CA and an expired token: one line, a non-zero exit within 30 s, no secret', async () => {
    const prefix = await preparePrefix('sfail');
    const wrong = `wrong-password-${randomUUID()}`;
    secrets.push(wrong);
    const scram = broker.envFor('scram', 'processor');
    const otherCa = join(work, 'other-ca.crt');
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(work, 'other-ca.key'),
      '-out',
      otherCa,
      '-days',
      '1',
      '-subj',
      '/CN=not the platform CA',
    ]);
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      [
        'a mechanism kafkajs lacks',
        { ...scram, KAFKA_SASL_MECHANISM: 'gssapi' },
        /^runstream: configuration error: KAFKA_SASL_MECHANISM: expected plain, scram-sha-256, scram-sha-512, oauthbearer; got "gssapi"$/,
      ],
      [
        'wrong password',
        { ...scram, KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: wrong },
        /^runstream: Kafka refused the login of User:processor \(SCRAM-SHA-512\): .*invalid credentials/,
      ],
      [
        'untrusted CA',
        { ...scram, KAFKA_SSL_CA_FILE: otherCa },
        /^runstream: the Kafka brokers' TLS certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN/,
      ],
      [
        'expired token',
        broker.envFor('oauth', 'processor', await tokenFile('processor', -60)),
        /^runstream: Kafka login of the OAUTHBEARER principal of token file .* impossible: the OAuth token in .* expired at /,
      ],
    ];
    const results = await Promise.all(
      cases.map(([, env]) => runToExit(['processor'], { ...env, RUNSTREAM_TOPIC_PREFIX: prefix })),
    );
    for (const [i, [what, , pattern]] of cases.entries()) {
      const result = results[i]!;
      console.log(
        `${what}: exit ${result.code} after ${result.seconds.toFixed(1)} s: ${result.lines.join(' | ')}`,
      );
      expect(result.code, what).not.toBe(0);
      expect(result.seconds, what).toBeLessThan(30);
      expect(result.lines, what).toHaveLength(1);
      expect(result.lines[0], what).toMatch(pattern);
      await expectNoSecret(result.lines);
    }
  });

  it('KAFKA_SSL_REJECT_UNAUTHORIZED=false connects without the CA, and says so loudly', async () => {
    const prefix = await preparePrefix('sunchecked');
    const { KAFKA_SSL_CA_FILE: _ca, ...withoutCa } = broker.envFor('scram', 'tools');
    const run = await runToExit(['topics', 'verify'], {
      ...withoutCa,
      KAFKA_SSL: 'true',
      KAFKA_SSL_REJECT_UNAUTHORIZED: 'false',
      RUNSTREAM_TOPIC_PREFIX: prefix,
      RUNSTREAM_PARTITIONS: String(PARTITIONS),
      RUNSTREAM_LOG_LEVEL: 'warn',
    });
    expect(run.code).toBe(0);
    expect(run.lines).toEqual([
      expect.stringContaining(
        "KAFKA_SSL_REJECT_UNAUTHORIZED=false: the brokers' certificates are NOT verified",
      ),
      'ok: 5 topics match the plan',
    ]);
  });

  it('a missing ACL: the line names the principal, the operation and the resource', async () => {
    const prefix = await preparePrefix(
      'sacl',
      (acl) => {
        if (acl.resourceType === 'TransactionalId') return undefined;
        if (acl.principal === '$EXPORTER' && acl.resourceType === 'Topic') return undefined;
        if (acl.principal === '$INGEST')
          return { ...acl, operations: acl.operations.filter((o) => o !== 'Write') };
        return acl;
      },
      { INGEST: 'User:ingest-b' },
    );
    const name = (suffix: string) => `${prefix}${suffix}`.replace(/\./g, '\\.');
    const [processor, exporter, ingest] = await Promise.all([
      runToExit(['processor'], { ...broker.envFor('scram', 'processor'), RUNSTREAM_TOPIC_PREFIX: prefix }),
      runToExit(['exporter'], { ...broker.envFor('mtls', 'exporter'), RUNSTREAM_TOPIC_PREFIX: prefix }),
      runToExit(['ingest'], {
        ...broker.envFor('oauth', 'ingest-b', await tokenFile('ingest-b', 600)),
        RUNSTREAM_TOPIC_PREFIX: prefix,
      }),
    ]);
    for (const run of [processor, exporter, ingest]) {
      console.log(`missing ACL: exit ${run.code}: ${run.lines.join(' | ')}`);
      expect(run.code).not.toBe(0);
    }
    expect(processor.lines).toEqual([
      expect.stringMatching(
        `^runstream: User:processor \\(SCRAM-SHA-512\\) may not Write TransactionalId ${name('processor-access-check')} \\(Kafka: .*Transactional Id authorization failed`,
      ),
    ]);
    expect(exporter.lines).toEqual([
      expect.stringMatching(
        `^runstream: the client certificate CN=exporter may not Describe Topic ${name('processor-aggregates-changelog')} \\(Kafka: .*authorization failed`,
      ),
    ]);
    expect(ingest.lines).toEqual([
      expect.stringMatching(
        `^runstream: the OAUTHBEARER principal of token file .* may not Write Topic ${name('deliveries')} \\(Kafka: .*Cluster authorization failed`,
      ),
    ]);
  });

  it('topics verify: a changelog with cleanup.policy=delete and mismatched partitions, one line each; processors refuse', async () => {
    const prefix = `sverify${randomUUID().slice(0, 6)}.`;
    const kafkaAdmin = plumbing.admin();
    await kafkaAdmin.connect();
    const entries = (config: Record<string, string>) =>
      Object.entries(config).map(([name, value]) => ({ name, value }));
    const plan = topicPlan({ prefix, partitions: 2 });
    try {
      await kafkaAdmin.createTopics({
        topics: plan.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.name.endsWith('jobs-changelog') ? 3 : 2,
          replicationFactor: 1,
          configEntries: entries(
            spec.name.endsWith('runs-changelog')
              ? { ...spec.config, 'cleanup.policy': 'delete' }
              : spec.config,
          ),
        })),
      });
      const vars = {
        PREFIX: prefix,
        GROUP: `${prefix}processor`,
        PROCESSOR: 'User:processor',
        TOOLS: 'User:tools',
      };
      await grant(
        kafkaAdmin,
        aclEntries(
          acls.filter((a) => ['$PROCESSOR', '$TOOLS'].includes(a.principal)),
          vars,
        ),
      );
    } finally {
      await kafkaAdmin.disconnect();
    }
    const env = { RUNSTREAM_TOPIC_PREFIX: prefix, RUNSTREAM_PARTITIONS: '2' };
    const [verify, processor] = await Promise.all([
      runToExit(['topics', 'verify'], {
        ...broker.envFor('scram', 'tools'),
        ...env,
        RUNSTREAM_LOG_LEVEL: 'warn',
      }),
      runToExit(['processor'], { ...broker.envFor('mtls', 'processor'), ...env }),
    ]);
    console.log(`topics verify: exit ${verify.code}:\n${verify.lines.join('\n')}`);
    const expected = [
      expect.stringMatching(
        new RegExp(
          `^error: topic ${prefix.replace('.', '\\.')}processor-runs-changelog cleanup\\.policy=delete, not compact: .* Fix: kafka-configs .*--add-config cleanup\\.policy=compact$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^error: topic ${prefix.replace('.', '\\.')}processor-jobs-changelog has 3 partitions, ${prefix.replace('.', '\\.')}deliveries has 2: .* Fix: recreate it with 2 partitions`,
        ),
      ),
    ];
    expect(verify.code).toBe(1);
    expect(verify.lines).toEqual(expected);
    expect(processor.code).not.toBe(0);
    expect(processor.lines.map((l) => l.replace(/^runstream: /, ''))).toEqual(expected);
  });
});
