// Acked means durable, at every cluster size ingest may meet: with all brokers, with
// one of three stopped (it keeps answering 202: acks=all needs two in-sync replicas),
// and with two of three stopped (it answers 503, within GitHub's 10 s, and writes
// nothing it acknowledged); then every 202 is checked at its partition and offset.
import { join } from 'node:path';
import type { GeneratedDelivery } from '../../demo/stream.js';
import type { JarCluster, NodeId } from '../support/cluster.js';
import { waitForFullIsr } from './cluster-state.js';
import { Fleet } from './fleet.js';
import { missingAcks, prepareRun, SECRET, scenarioStream } from './scenario.js';
import { type Ack, postDelivery } from './sender.js';

export interface PhaseResult {
  phase: string;
  sent: number;
  accepted: number;
  /** Answers other than 202, by answer. */
  refused: Record<string, number>;
  /** Slowest answer (ms). */
  slowestMs: number;
}

export interface QuorumResult {
  phases: PhaseResult[];
  missing: string[];
  runDir: string;
}

export async function runIngestQuorum(cluster: JarCluster, runsRoot: string): Promise<QuorumResult> {
  const { prefix, runDir, kafka, names } = await prepareRun(
    cluster,
    'fquorum',
    join(runsRoot, 'ingest-quorum'),
  );
  const fleet = new Fleet({ brokers: cluster.brokers, prefix, runDir, secret: SECRET });
  const { deliveries } = scenarioStream(99, 120);
  const unique = [...new Map(deliveries.map((d) => [d.id, d])).values()];
  const acks: Ack[] = [];
  const phases: PhaseResult[] = [];
  let next = 0;
  const phase = async (name: string, count: number, expectAccepted: boolean): Promise<void> => {
    const slice: GeneratedDelivery[] = unique.slice(next, next + count);
    next += count;
    const ingest = fleet.get('i1');
    const result: PhaseResult = { phase: name, sent: slice.length, accepted: 0, refused: {}, slowestMs: 0 };
    await Promise.all(
      slice.map(async (delivery) => {
        const started = Date.now();
        const answer = await postDelivery(delivery, ingest, SECRET);
        result.slowestMs = Math.max(result.slowestMs, Date.now() - started);
        if (answer.ok) {
          result.accepted += 1;
          acks.push({ id: delivery.id, partition: answer.partition, offset: answer.offset, ingest: 'i1' });
        } else {
          result.refused[answer.why] = (result.refused[answer.why] ?? 0) + 1;
        }
      }),
    );
    phases.push(result);
    // Refused deliveries are redelivered later (as GitHub's redelivery would), once accepted.
    if (!expectAccepted) unique.push(...slice);
  };
  const [first, second] = [2, 3] as NodeId[];
  try {
    await fleet.start('i1', 'ingest');
    await phase('three brokers', 150, true);
    await cluster.stopNode(first!);
    await phase('one of three stopped', 150, true);
    await cluster.stopNode(second!);
    await phase('two of three stopped', 20, false);
    await cluster.startNode(second!);
    await cluster.startNode(first!);
    await waitForFullIsr(kafka, Object.values(names));
    await phase('all back (with the refused ones again)', unique.length - next, true);
    const accepted = new Set(acks.map((a) => a.id));
    return { phases, missing: await missingAcks(kafka, names.deliveries, acks, accepted), runDir };
  } finally {
    await fleet.stopAll();
    for (const node of [first!, second!]) {
      if (!(await cluster.isRunning(node))) await cluster.startNode(node).catch(() => undefined);
    }
  }
}
