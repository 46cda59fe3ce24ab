// What every role and command checks before its real work: that Kafka lets it in (a
// wrong password or an untrusted certificate fails at once with one line, not a retry
// storm), that its principal holds the ACLs it needs (docs/kafka-platform.md; a missing
// one is named), and, for processors and exporters, that the topics match the plan
// (a violation that would corrupt state refuses the start). A cluster that does not
// answer is left to the role's own retries: that is an outage, not a misconfiguration.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { CommonConfig } from './config.js';
import { createKafka } from './kafka/index.js';
import {
  explainConnectFailure,
  isAuthorizationFailure,
  isCoordinatorSettling,
  KafkaAccessError,
} from './kafka-errors.js';
import type { KafkaAdminPort, KafkaPort } from './kafka-port.js';
import { withTimeout } from './kafka-reachability.js';
import { warnOnce } from './kafka-security.js';
import type { Logger } from './log.js';
import { type TopicSpec, topicNames, topicPlanFor } from './topics.js';
import { inspectTopics } from './topics-inspect.js';
import { formatProblem, type TopicProblem, verifyTopics } from './topics-verify.js';

export type PreflightRole = 'ingest' | 'processor' | 'exporter' | 'export' | 'replay' | 'topics';

/** The topics of the plan fail verification in a way that would corrupt state or counts. */
export class TopicPlanError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'TopicPlanError';
  }
}

interface Need {
  operation: 'Describe' | 'DescribeConfigs' | 'Write';
  resource: 'Topic' | 'Group' | 'TransactionalId';
  name: string;
  probe(admin: KafkaAdminPort, kafka: KafkaPort): Promise<unknown>;
}

/** A group or transactional id name under the role's ACL prefix; nothing is joined or written. */
const ACCESS_CHECK = 'access-check';

function describeTopic(name: string): Need {
  return {
    operation: 'Describe',
    resource: 'Topic',
    name,
    probe: (admin) => admin.topicMetadata([name]),
  };
}

function describeConfigs(name: string): Need {
  return {
    operation: 'DescribeConfigs',
    resource: 'Topic',
    name,
    probe: (admin) => admin.topicConfigs([{ name, configNames: ['cleanup.policy'] }]),
  };
}

function describeGroup(name: string): Need {
  return { operation: 'Describe', resource: 'Group', name, probe: (admin) => admin.describeGroup(name) };
}

/** An idempotent producer's first request needs Write on a topic (Kafka 3: or IdempotentWrite on the cluster). */
function writeTopics(names: string[]): Need {
  return {
    operation: 'Write',
    resource: 'Topic',
    name: names.join(', '),
    async probe(_admin, kafka) {
      const producer = kafka.recordProducer({ idempotent: true });
      try {
        await producer.connect();
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    },
  };
}

function writeTransactionalId(name: string): Need {
  return {
    operation: 'Write',
    resource: 'TransactionalId',
    name,
    async probe(_admin, kafka) {
      const producer = kafka.transactionalProducer({ transactionalId: name });
      try {
        await producer.init();
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    },
  };
}

/** What a role's principal must be allowed, probed without side effects on its real names. */
function needsOf(
  role: PreflightRole,
  config: CommonConfig,
  groupId: string | undefined,
  verified: TopicSpec[],
): Need[] {
  const names = topicNames(config.topicPrefix);
  const topics =
    role === 'processor' || role === 'topics' || role === 'exporter'
      ? verified.map((s) => s.name)
      : [names.deliveries];
  const needs = [...topics.map(describeTopic), ...verified.map((s) => describeConfigs(s.name))];
  if (role === 'ingest' || role === 'replay') needs.push(writeTopics([names.deliveries]));
  // Partition readers (restores, the exporter's view, reprocess, export) join no group,
  // so they need no group ACL and none is probed: only topics they read.
  if (role === 'processor' && groupId) {
    const changelogs = topicPlanFor(config)
      .map((s) => s.name)
      .filter((n) => n !== names.deliveries);
    needs.push(
      writeTopics(changelogs),
      describeGroup(groupId),
      writeTransactionalId(`${groupId}-${ACCESS_CHECK}`),
    );
  }
  return needs;
}

/** The topics a role verifies at start: processors all of them, exporters what they read (the aggregates changelog). */
function verifiedTopics(role: PreflightRole, config: CommonConfig): TopicSpec[] {
  const plan = topicPlanFor(config);
  const names = topicNames(config.topicPrefix);
  if (role === 'processor' || role === 'topics') return plan;
  if (role === 'exporter') return plan.filter((s) => s.name === names.aggregatesChangelog);
  return [];
}

/** The `error` field of one line of the client's log (pino JSON). */
function errorOf(line: string): unknown {
  try {
    return (JSON.parse(line) as { error?: unknown }).error;
  } catch {
    return undefined;
  }
}

/** A client whose log is read for the broker's refusals, which kafkajs does not raise. */
function watchedClient(config: CommonConfig, role: PreflightRole) {
  const refusals: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        const error = errorOf(line);
        if (typeof error === 'string' && /authorization failed/i.test(error)) refusals.push(error);
      }
      done();
    },
  });
  const kafka = createKafka({
    brokers: config.brokers,
    security: config.security,
    clientId: `runstream-${role}-preflight`,
    logger: pino({ level: 'info' }, sink),
    // A refusal is not retried (it fails at once); a coordinator still loading on a
    // fresh cluster is, for about 3 s, then the probe is asked again (SETTLE_MS).
    retries: 4,
    connectionTimeoutMs: 5000,
    operatorLog: false,
  });
  return { kafka, refusals };
}

/**
 * How long the probes are tried again while the cluster settles: on a fresh cluster the
 * group coordinator takes seconds to load, and a check left undone is a warning an
 * operator cannot act on. Within the check's own timeout.
 */
const SETTLE_MS = 12_000;

/** A probe, tried again while the group coordinator settles (never on a refusal) until `until`. */
async function settledProbe(
  need: Need,
  admin: KafkaAdminPort,
  kafka: KafkaPort,
  refused: () => boolean,
  until: number,
): Promise<void> {
  for (;;) {
    try {
      await need.probe(admin, kafka);
      return;
    } catch (error) {
      if (refused() || isAuthorizationFailure(error) || !isCoordinatorSettling(error) || Date.now() > until) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export interface PreflightOptions {
  role: PreflightRole;
  /** The processor's consumer group (RUNSTREAM_PROCESSOR_GROUP). */
  groupId?: string;
  timeoutMs?: number;
}

/**
 * Logs in, probes the role's ACLs and inspects its topics. Resolves with the topic
 * problems, or undefined when the cluster did not answer (left to the caller); throws
 * KafkaAccessError when Kafka refuses the login, the certificate or an ACL.
 */
export async function checkKafka(
  config: CommonConfig,
  options: PreflightOptions,
  logger: Logger,
): Promise<TopicProblem[] | undefined> {
  const { role } = options;
  const identity = config.security.identity;
  warnOnce(config.security, logger); // before the watched client, whose log goes nowhere
  const { kafka, refusals } = watchedClient(config, role);
  const admin = kafka.admin();
  const verified = verifiedTopics(role, config);
  const run = async (): Promise<TopicProblem[] | undefined> => {
    try {
      await admin.connect();
    } catch (error) {
      const line = explainConnectFailure(error, identity);
      if (line) throw new KafkaAccessError(line, { cause: error });
      logger.warn({ err: error }, 'Kafka not reachable; access and topics not checked');
      return undefined;
    }
    const settled = Date.now() + SETTLE_MS;
    for (const need of needsOf(role, config, options.groupId, verified)) {
      const seen = refusals.length;
      try {
        await settledProbe(need, admin, kafka, () => refusals.length > seen, settled);
      } catch (error) {
        const refusal = refusals.slice(seen).at(-1);
        if (isAuthorizationFailure(error) || refusal !== undefined) {
          throw new KafkaAccessError(
            `${identity} may not ${need.operation} ${need.resource} ${need.name}` +
              ` (Kafka: ${refusal ?? (error as Error).message}): grant the ACLs docs/kafka-platform.md lists for ${role}`,
            { cause: error },
          );
        }
        const line = explainConnectFailure(error, identity);
        if (line) throw new KafkaAccessError(line, { cause: error });
        logger.warn({ err: error }, `could not check ${need.operation} on ${need.resource} ${need.name}`);
        return undefined;
      }
    }
    if (verified.length === 0) return [];
    return verifyTopics(
      verified,
      await inspectTopics(
        admin,
        verified.map((s) => s.name),
      ),
    );
  };
  try {
    return await withTimeout(run(), options.timeoutMs ?? 20_000, 'checking Kafka access');
  } catch (error) {
    if (error instanceof KafkaAccessError) throw error;
    logger.warn({ err: error }, 'Kafka access and topics not checked');
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** A role's start: refuses on a login, certificate or ACL failure and on a fatal topic problem. */
export async function kafkaPreflight(
  config: CommonConfig,
  options: PreflightOptions,
  logger: Logger,
): Promise<void> {
  const problems = (await checkKafka(config, options, logger)) ?? [];
  for (const p of problems.filter((p) => !p.fatal)) logger.warn(formatProblem(p));
  const fatal = problems.filter((p) => p.fatal).map(formatProblem);
  if (fatal.length > 0) throw new TopicPlanError(fatal);
}
