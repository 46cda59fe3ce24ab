// A real three-node KRaft cluster from the jars (scripts/kafka.sh), in a temporary
// directory on free ports, for the fault suite. Nodes are started, stopped (SIGTERM:
// controlled shutdown, as in a rolling restart) and killed (SIGKILL) by their pids.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, KAFKA_SCRIPT } from './broker.js';

const run = promisify(execFile);

/** The brokers' group.min.session.timeout.ms in the fault suite (docs/operations.md). */
export const FAST_FAILOVER_MIN_SESSION_TIMEOUT_MS = 2000;

export type NodeId = 1 | 2 | 3;
export const NODE_IDS: readonly NodeId[] = [1, 2, 3];

export interface JarCluster {
  brokers: string[];
  home: string;
  /** Broker port of each node. */
  ports: Record<NodeId, number>;
  startNode(node: NodeId): Promise<void>;
  /** SIGTERM: the broker moves its leaderships away, then exits. */
  stopNode(node: NodeId): Promise<void>;
  /** SIGKILL: an unclean loss. */
  killNode(node: NodeId): Promise<void>;
  /**
   * SIGSTOP: the node freezes with its sockets open (a long GC pause, a stalled VM): what
   * clients sent it waits, unanswered, until resumeNode.
   */
  pauseNode(node: NodeId): Promise<void>;
  /** SIGCONT: the frozen node goes on, and answers what it held, late. */
  resumeNode(node: NodeId): Promise<void>;
  isRunning(node: NodeId): Promise<boolean>;
  /** The last lines of a node's broker log, for failure reports. */
  logTail(node: NodeId, lines?: number): Promise<string>;
  /** Kills every node and removes the directory. */
  destroy(): Promise<void>;
}

/** Two free ports in a row per node: the broker's, and the controller's on the next one. */
async function freePortPair(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port >= 65535 || taken.has(port) || taken.has(port + 1)) continue;
    const next = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port + 1, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (next) {
      taken.add(port).add(port + 1);
      return port;
    }
  }
  throw new Error('no two consecutive free ports found');
}

export async function startJarCluster(prefix = 'runstream-cluster-'): Promise<JarCluster> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  const taken = new Set<number>();
  const ports = {
    1: await freePortPair(taken),
    2: await freePortPair(taken),
    3: await freePortPair(taken),
  } as Record<NodeId, number>;
  const env = {
    ...process.env,
    KAFKA_HOME_DIR: home,
    KAFKA_CLUSTER_PORTS: `${ports[1]},${ports[2]},${ports[3]}`,
    // Brokers configured for docs/operations.md's fast failover: they accept session
    // timeouts down to this (Kafka's default floor is 6 s); processors keep 6 s unless a
    // scenario asks for less.
    KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: String(FAST_FAILOVER_MIN_SESSION_TIMEOUT_MS),
  };
  const script = (...args: string[]) => run('bash', [KAFKA_SCRIPT, ...args], { env, timeout: 180_000 });
  const pidFile = (node: NodeId) => join(home, 'cluster', `node${node}`, 'broker.pid');
  const brokerPid = async (node: NodeId) => Number((await readFile(pidFile(node), 'utf8')).trim());
  const cluster: JarCluster = {
    brokers: NODE_IDS.map((n) => `127.0.0.1:${ports[n]}`),
    home,
    ports,
    async startNode(node) {
      await script('node', 'start', String(node));
    },
    async stopNode(node) {
      await script('node', 'stop', String(node));
    },
    async killNode(node) {
      await script('node', 'kill', String(node));
    },
    async pauseNode(node) {
      process.kill(await brokerPid(node), 'SIGSTOP');
    },
    async resumeNode(node) {
      process.kill(await brokerPid(node), 'SIGCONT');
    },
    async isRunning(node) {
      try {
        process.kill(Number((await readFile(pidFile(node), 'utf8')).trim()), 0);
        return true;
      } catch {
        return false;
      }
    },
    async logTail(node, lines = 40) {
      const text = await readFile(join(home, 'cluster', `node${node}`, 'logs', 'broker.out'), 'utf8').catch(
        () => '',
      );
      return text.split('\n').slice(-lines).join('\n');
    },
    async destroy() {
      for (const node of NODE_IDS) await cluster.killNode(node).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
  try {
    await script('start', '--cluster');
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}
