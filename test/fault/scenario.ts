// One fault scenario from start to verdict: topics (replication 3), two ingest
// replicas, processors, two exporters; a shuffled stream of real payloads with
// redeliveries, sent while a fault script runs; then the two checks that matter:
// every acknowledged delivery is on the deliveries topic where ingest said, and every
// series both exporters serve equals the oracle's.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type GeneratedDelivery, generateScenario, seededRandom } from '../../demo/stream.js';
import { createKafka } from '../../platform/kafka/index.js';
import type { KafkaPort } from '../../platform/kafka-port.js';
import { createLogger } from '../../platform/log.js';
import { topicNames, topicPlan } from '../../platform/topics.js';
import { ensureTopics } from '../../platform/topics-admin.js';
import type { JarCluster } from '../support/cluster.js';
import { parseExposition, samplesByKey, scrape } from '../support/exposition.js';
import { readTopic } from '../support/kafka.js';
import { expectedSeries, seriesDiff } from '../support/oracle.js';
import type { RecoveryBounds } from './bounds.js';
import { Fleet } from './fleet.js';
import { StallObserver } from './observer.js';
import { type Ack, type SendReport, sendStream } from './sender.js';

export const SECRET = 'fault-suite-secret';
export const PARTITIONS = 12;

export interface FaultContext {
  cluster: JarCluster;
  fleet: Fleet;
  kafka: KafkaPort;
  prefix: string;
  groupId: string;
  topics: string[];
  random: () => number;
  /** Sleeps until this many ms after the stream started. */
  at(ms: number): Promise<void>;
  /** Adds a line to the scenario's fault log. */
  note(text: string): void;
  /** Marks a fault to report how long until every partition was fresh again after it. */
  mark(label: string): void;
}

export interface ScenarioSpec {
  name: string;
  /** Processors running when the stream starts (named p1, p2, …). */
  processors: number;
  runs: number;
  /** Deliveries per burst and bursts per second. */
  burst: number;
  burstsPerSecond: number;
  /** The faults, run while the stream is sent; must leave every broker running. */
  faults(context: FaultContext): Promise<void>;
  /** What the faults may cost at most, asserted by the suite (test/fault/bounds.ts). */
  bounds: RecoveryBounds;
  /** Extra environment of every processor of the scenario. */
  processorEnv?: Record<string, string>;
  /**
   * What the processors' logs (by process name) must show for the fault to have hit its
   * mark, one line each (test/fault/witness.ts); the suite fails a run where it is empty,
   * since a fault that missed proves nothing.
   */
  witness?(processorLogs: ReadonlyMap<string, string>): string[];
}

export interface ScenarioResult {
  name: string;
  seed: number;
  deliveries: number;
  distinct: number;
  send: SendReport;
  faults: string[];
  /** From the end of the stream and of the faults, whichever came later, until both
   * exporters served the oracle's values. */
  exactAfterMs: number | undefined;
  /** How long the faults went on after the last delivery was accepted (0: they ended first). */
  faultsOutlastedMs: number;
  longestStallMs: number;
  stallPartition: number | undefined;
  /** By marked fault: ms until every partition committed again (see StallObserver). */
  freshAgain: Record<string, number | undefined>;
  /** Acknowledged deliveries not found where ingest said they were. */
  missing: string[];
  /** Per exporter, the differences to the oracle at the deadline (empty when exact). */
  diffs: Record<string, string[]>;
  runDir: string;
}

/** The stream of a seed, shuffled across runs, with duplicates spread over it. */
export function scenarioStream(seed: number, runs: number) {
  const { deliveries, truth } = generateScenario({
    seed,
    runs,
    firstRunId: 5_000_000_000 + seed * 100_000,
    // Recent timestamps: nothing is expired as stale while the suite runs.
    startMs: Date.now() - 3 * 3_600_000,
    duplicateRate: 0.2,
    disorderRate: 0.5,
  });
  const random = seededRandom(seed * 7919);
  const shuffled: GeneratedDelivery[] = [...deliveries];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[k]] = [shuffled[k]!, shuffled[i]!];
  }
  return { deliveries: shuffled, truth };
}

async function exporterDiffs(fleet: Fleet, expected: Map<string, number>): Promise<Record<string, string[]>> {
  const diffs: Record<string, string[]> = {};
  for (const name of ['e1', 'e2']) {
    try {
      const served = samplesByKey(parseExposition(await scrape(fleet.get(name).port)), 'github_actions_');
      diffs[name] =
        served.size === 0
          ? ['no github_actions_ series served (not caught up?)']
          : seriesDiff(served, expected);
    } catch (error) {
      diffs[name] = [`scrape failed: ${(error as Error).message}`];
    }
  }
  return diffs;
}

/**
 * The topic read from the start, again on an error: right after a fault the suite's own
 * client can still fail on a broker it lost (a paused one answers late, and kafkajs
 * throws "Broker not connected" for a request racing that connection's teardown), which
 * is the harness's trouble, not the processors'.
 */
async function readWhole(kafka: KafkaPort, topic: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readTopic(topic, 120_000, kafka);
    } catch (error) {
      if (attempt === 3) throw error;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

export async function missingAcks(
  kafka: KafkaPort,
  topic: string,
  acks: readonly Ack[],
  ids: Set<string>,
): Promise<string[]> {
  const records = await readWhole(kafka, topic);
  const at = new Map<string, string>();
  const present = new Set<string>();
  for (const r of records) {
    const id = r.message.headers?.['delivery-id']?.toString() ?? '';
    at.set(`${r.partition}/${r.message.offset}`, id);
    present.add(id);
  }
  const missing: string[] = [];
  for (const ack of acks) {
    if (ack.partition === undefined || ack.offset === undefined) {
      missing.push(`${ack.id} acknowledged by ${ack.ingest} without its partition and offset`);
      continue;
    }
    const found = at.get(`${ack.partition}/${ack.offset}`);
    if (found !== ack.id) {
      missing.push(
        `${ack.id} acknowledged by ${ack.ingest} at ${ack.partition}/${ack.offset}, found ${found ?? 'nothing'}`,
      );
    }
  }
  for (const id of ids) if (!present.has(id)) missing.push(`${id} acknowledged, absent from ${topic}`);
  return missing;
}

/** A run's own topics (replication 3, min.insync.replicas=2), log directory and client. */
export async function prepareRun(cluster: JarCluster, name: string, runDir: string) {
  const prefix = `${name}-${Date.now() % 100_000}.`;
  await mkdir(runDir, { recursive: true });
  const logger = createLogger('fault-suite', 'silent');
  const kafka = createKafka({
    brokers: cluster.brokers,
    clientId: 'runstream-fault-suite',
    logger,
    retries: 10,
  });
  await ensureTopics(kafka, topicPlan({ prefix, partitions: PARTITIONS, replicationFactor: 3 }), 3, logger);
  return { prefix, runDir, kafka, names: topicNames(prefix) };
}

export async function runScenario(
  cluster: JarCluster,
  spec: ScenarioSpec,
  seed: number,
  runsRoot: string,
): Promise<ScenarioResult> {
  const { prefix, runDir, kafka, names } = await prepareRun(
    cluster,
    `f${spec.name.replace(/[^a-z0-9]/gi, '')}${seed}`,
    join(runsRoot, `${spec.name}-seed${seed}`),
  );
  const topics = Object.values(names);

  const { deliveries, truth } = scenarioStream(seed, spec.runs);
  const expected = expectedSeries(truth);
  const fleet = new Fleet({
    brokers: cluster.brokers,
    prefix,
    runDir,
    secret: SECRET,
    ...(spec.processorEnv ? { roleEnv: { processor: spec.processorEnv } } : {}),
  });
  const groupId = `${prefix}processor`;
  const observer = new StallObserver(kafka, groupId, names.deliveries);
  const random = seededRandom(seed * 104_729);
  try {
    await Promise.all([fleet.start('i1', 'ingest'), fleet.start('i2', 'ingest')]);
    for (let n = 1; n <= spec.processors; n++) await fleet.start(`p${n}`, 'processor');
    await Promise.all([fleet.start('e1', 'exporter'), fleet.start('e2', 'exporter')]);

    observer.start();
    const streamStart = Date.now();
    const context: FaultContext = {
      cluster,
      fleet,
      kafka,
      prefix,
      groupId,
      topics,
      random,
      at: async (ms) => {
        const wait = streamStart + ms - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      },
      note: (text) => fleet.note(text),
      mark: (label) => {
        fleet.note(`mark: ${label}`);
        observer.mark(label);
      },
    };
    let faultsDoneAt = 0;
    const [send] = await Promise.all([
      sendStream(deliveries, {
        targets: () => fleet.running('ingest').map((p) => ({ name: p.name, port: p.port })),
        secret: SECRET,
        burst: spec.burst,
        burstsPerSecond: spec.burstsPerSecond,
      }),
      spec.faults(context).then(() => {
        faultsDoneAt = Date.now();
      }),
    ]);
    context.note(`stream done: ${deliveries.length} deliveries, ${send.requests} requests`);

    // Exact when both exporters serve the oracle's values; keep looking for a while.
    const deadline = Date.now() + 180_000;
    let diffs = await exporterDiffs(fleet, expected);
    let exactAt: number | undefined;
    while (Date.now() < deadline) {
      diffs = await exporterDiffs(fleet, expected);
      if (Object.values(diffs).every((d) => d.length === 0)) {
        exactAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const stall = await observer.stop();
    const missing = await missingAcks(
      kafka,
      names.deliveries,
      send.acks,
      new Set(deliveries.map((d) => d.id)),
    );
    return {
      name: spec.name,
      seed,
      deliveries: deliveries.length,
      distinct: new Set(deliveries.map((d) => d.id)).size,
      send,
      faults: fleet.events,
      exactAfterMs: exactAt === undefined ? undefined : exactAt - Math.max(send.lastAcceptedAt, faultsDoneAt),
      faultsOutlastedMs: Math.max(0, faultsDoneAt - send.lastAcceptedAt),
      longestStallMs: stall.longestMs,
      stallPartition: stall.partition,
      freshAgain: stall.freshAgain,
      missing,
      diffs,
      runDir,
    };
  } finally {
    await observer.stop().catch(() => undefined);
    await fleet.stopAll();
  }
}

/** One line for the report and the closing note. */
export function summary(result: ScenarioResult): string {
  const refused = [...result.send.refused].map(([why, n]) => `${why}×${n}`).join(' ') || 'none';
  return [
    `${result.name} seed ${result.seed}:`,
    `${result.deliveries} deliveries (${result.distinct} distinct), ${result.send.requests} requests, refused ${refused};`,
    `exact ${result.exactAfterMs === undefined ? 'NEVER' : `${(result.exactAfterMs / 1000).toFixed(1)} s`} after the last delivery and the last fault`,
    `(the faults outlasted the stream by ${(result.faultsOutlastedMs / 1000).toFixed(1)} s);`,
    `longest stall ${(result.longestStallMs / 1000).toFixed(1)} s (partition ${result.stallPartition ?? '-'});`,
    ...Object.entries(result.freshAgain).map(
      ([label, ms]) =>
        `fresh again ${ms === undefined ? 'NEVER' : `${(ms / 1000).toFixed(1)} s`} after ${label};`,
    ),
    `${result.missing.length} acknowledged deliveries missing; logs in ${result.runDir}`,
  ].join(' ');
}
