// The fault scripts. Times are from the start of the stream, which lasts about a
// minute; every script leaves all brokers running when it ends.
import { NODE_IDS } from '../support/cluster.js';
import { busiestTransactionCoordinator, groupCoordinator, waitForFullIsr } from './cluster-state.js';
import { type FaultContext, PARTITIONS, type ScenarioSpec } from './scenario.js';
import { describeUncertain, uncertainTransactionRequests } from './witness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Up to a second, drawn from the seed and written to the fault log. */
function seededDelay(c: FaultContext, what: string): number {
  const ms = Math.floor(c.random() * 1000);
  c.note(`${what}: ${ms} ms after its moment (seeded)`);
  return ms;
}

/** An operator's rolling restart: one broker at a time, waiting for in-sync replicas between. */
async function rollingRestart(c: FaultContext): Promise<void> {
  for (const node of NODE_IDS) {
    c.note(`broker ${node}: SIGTERM (controlled shutdown)`);
    await c.cluster.stopNode(node);
    await sleep(3000);
    await c.cluster.startNode(node);
    c.note(`broker ${node}: back`);
    await waitForFullIsr(c.kafka, c.topics);
    c.note('replicas in sync');
  }
}

/**
 * How long a coordinator stays frozen: past the processors' 10 s request timeout by more
 * than the 9 s until the controller fences the frozen broker (broker.session.timeout.ms)
 * and writes that waited on it as a follower go through, so that the transaction
 * requests tasks send it then still time out; with 15 s those were answered late but in
 * time, and a run caught one or two uncertain requests.
 */
const FREEZE_MS = 25_000;

/**
 * SIGSTOP for FREEZE_MS of the broker that coordinates most of the run's transactional
 * ids but not its group, then SIGCONT, and until every replica is back in sync.
 */
async function freezeTransactionCoordinator(c: FaultContext, label: string): Promise<void> {
  const ids = Array.from({ length: PARTITIONS }, (_, p) => `${c.groupId}-${c.prefix}deliveries-${p}`);
  const group = await groupCoordinator(c.kafka, c.groupId);
  const node = await busiestTransactionCoordinator(c.kafka, ids, group);
  c.note(
    `broker ${node} coordinates most transactional ids (broker ${group} the group): SIGSTOP for ${FREEZE_MS / 1000} s`,
  );
  c.mark(label);
  await c.cluster.pauseNode(node);
  try {
    await sleep(FREEZE_MS);
  } finally {
    await c.cluster.resumeNode(node);
  }
  c.note(`broker ${node}: SIGCONT`);
  await waitForFullIsr(c.kafka, c.topics);
  c.note('replicas in sync');
}

async function restartProcessor(c: FaultContext, name: string, wipe: boolean, downMs: number): Promise<void> {
  await c.fleet.kill(name);
  if (wipe) await c.fleet.wipeState(name);
  await sleep(downMs);
  await c.fleet.start(name, 'processor');
}

const base = { processors: 2, runs: 220, burst: 24, burstsPerSecond: 1.6 };

export const SCENARIOS: ScenarioSpec[] = [
  {
    // The control: the same stream with no fault must be exact too.
    ...base,
    name: 'no-faults',
    async faults() {},
    bounds: { longestStallMs: 15_000, exactAfterMs: 30_000 },
  },
  {
    ...base,
    name: 'rolling-restart',
    async faults(c) {
      await c.at(8000);
      await rollingRestart(c);
    },
    bounds: { longestStallMs: 25_000, exactAfterMs: 45_000 },
  },
  {
    ...base,
    name: 'broker-kill',
    async faults(c) {
      await c.at(12_000);
      const victim = NODE_IDS[Math.floor(c.random() * 3)]!;
      c.note(`broker ${victim} (the seed's choice): SIGKILL`);
      await c.cluster.killNode(victim);
      await sleep(20_000);
      await c.cluster.startNode(victim);
      c.note(`broker ${victim}: back`);
    },
    bounds: { longestStallMs: 35_000, exactAfterMs: 45_000 },
  },
  {
    ...base,
    name: 'processor-churn',
    async faults(c) {
      await c.at(6000);
      await restartProcessor(c, 'p1', false, 1500);
      await c.at(16_000);
      await restartProcessor(c, 'p2', true, 2000);
      await c.at(24_000);
      await c.fleet.start('p3', 'processor'); // scale out
      await c.at(34_000);
      await restartProcessor(c, 'p1', true, 1000);
      await c.at(46_000);
      await c.fleet.stop('p3'); // scale in
    },
    bounds: { longestStallMs: 35_000, exactAfterMs: 45_000 },
  },
  {
    // A processor lost (SIGKILL), back (a rebalance), and one stopped for a rolling deploy
    // (SIGTERM): how long until every partition's numbers move again, with the fast
    // failover of docs/operations.md: brokers that accept a 2 s session timeout
    // (group.min.session.timeout.ms, test/support/cluster.ts) and processors asking for
    // it, with fetches that answer at once (heartbeats every 100 ms). Each moment moves by up to a second with the seed, so seeds hit the transaction
    // cycle at other points.
    ...base,
    name: 'failover',
    processorEnv: {
      RUNSTREAM_PROCESSOR_SESSION_TIMEOUT: '2s',
      RUNSTREAM_PROCESSOR_FETCH_MIN_BYTES: '1',
      RUNSTREAM_PROCESSOR_FETCH_MAX_WAIT: '100ms',
    },
    async faults(c) {
      await c.at(15_000 + seededDelay(c, 'the SIGKILL of p2'));
      c.mark('a processor SIGKILLed');
      await c.fleet.kill('p2');
      await c.at(35_000 + seededDelay(c, 'the restart of p2'));
      c.mark('the processor back (a rebalance)');
      await c.fleet.start('p2', 'processor');
      await c.at(50_000 + seededDelay(c, 'the SIGTERM of p1'));
      c.mark('a processor stopped (SIGTERM)');
      await c.fleet.stop('p1');
    },
    bounds: {
      longestStallMs: 10_000,
      exactAfterMs: 30_000,
      freshAgainMs: {
        // Issue 26.5's goal: the 2 s session, then about 1.1-1.8 s of takeover.
        'a processor SIGKILLed': 5000,
        'the processor back (a rebalance)': 5000,
        // All of it the stop, the rebalance and the takeover (the session plays no part):
        // 0.5-1.1 s on 2026-12-07 (seeds 1-3, and seed 1 in a whole run: 0.9 s) with every
        // partition of a processor committing at once (RUNSTREAM_PROCESSOR_CONCURRENCY 12;
        // with 4: 0.4-1.9 s in the same session), but 2.1 s in a later whole run. The
        // issue's 1 s is not held on every run (docs/operations.md, "Failover in seconds");
        // this bound stays above the spread.
        'a processor stopped (SIGTERM)': 3000,
      },
    },
  },
  {
    ...base,
    name: 'coordinator-moves',
    async faults(c) {
      await c.at(8000);
      const group = await groupCoordinator(c.kafka, c.groupId);
      c.note(`broker ${group} coordinates ${c.groupId}: SIGTERM`);
      await c.cluster.stopNode(group);
      await sleep(4000);
      await c.cluster.startNode(group);
      await waitForFullIsr(c.kafka, c.topics);
      const ids = Array.from({ length: PARTITIONS }, (_, p) => `${c.groupId}-${c.prefix}deliveries-${p}`);
      const transactions = await busiestTransactionCoordinator(c.kafka, ids);
      c.note(`broker ${transactions} coordinates most transactional ids: SIGKILL`);
      await c.cluster.killNode(transactions);
      await sleep(12_000);
      await c.cluster.startNode(transactions);
      c.note(`broker ${transactions}: back`);
    },
    bounds: { longestStallMs: 45_000, exactAfterMs: 60_000 },
  },
  {
    // A transaction coordinator frozen (SIGSTOP: a long GC pause, a stalled VM) for longer
    // than the processors' request timeout (10 s) while commits are under way, then thawed
    // (SIGCONT): the EndTxn, AddOffsetsToTxn and TxnOffsetCommit requests it held (or that
    // waited on it as a follower: every partition has a replica on it) are answered late,
    // after the processors gave up on them. Resent with the same producer epoch, a late
    // commit or abort could land on the next transaction (before KIP-890); the processors
    // resend nothing after a timeout: the producer is given up and the next one's
    // InitProducerId bumps the epoch, fencing what is still in flight. The frozen broker is
    // the one that coordinates most partitions' transactions but not the group. Which
    // request a task is in when the broker freezes is chance (the seed moves the moments),
    // so it freezes twice, and the witness requires that some task saw a request's outcome
    // uncertain: without one the fault missed its mark.
    ...base,
    name: 'delayed-endtxn',
    async faults(c) {
      await c.at(12_000 + seededDelay(c, 'the first freeze'));
      await freezeTransactionCoordinator(c, 'a transaction coordinator frozen');
      await c.at(45_000 + seededDelay(c, 'the second freeze'));
      await freezeTransactionCoordinator(c, 'a transaction coordinator frozen again');
    },
    bounds: {
      longestStallMs: 60_000,
      exactAfterMs: 60_000,
      freshAgainMs: {
        'a transaction coordinator frozen': 60_000,
        'a transaction coordinator frozen again': 60_000,
      },
    },
    witness: (logs) =>
      describeUncertain([...logs].flatMap(([name, text]) => uncertainTransactionRequests(name, text))),
  },
  {
    ...base,
    name: 'operator-day',
    runs: 260,
    burst: 48,
    burstsPerSecond: 1,
    async faults(c) {
      await c.at(5000);
      await Promise.all([
        rollingRestart(c),
        (async () => {
          await c.at(9000);
          await restartProcessor(c, 'p1', false, 2000);
          await c.at(20_000);
          await restartProcessor(c, 'p2', true, 1000);
          await c.at(28_000);
          await c.fleet.kill('i1');
          await sleep(2000);
          await c.fleet.start('i1', 'ingest');
          await c.at(34_000);
          await c.fleet.stop('e2');
          await c.fleet.start('e2', 'exporter');
          await restartProcessor(c, 'p1', true, 3000);
        })(),
      ]);
    },
    bounds: { longestStallMs: 35_000, exactAfterMs: 60_000 },
  },
];
