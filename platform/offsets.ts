// A role's one long-lived admin client for offsets: end offsets of partitions and
// committed offsets of groups. Every call is retried while the cluster settles (a
// leader or coordinator moving, a broker restarting), up to a deadline, and any other
// error surfaces at once.
import type { KafkaAdminPort, KafkaPort } from './kafka-port.js';

/** How offsets of a partition are keyed in the maps callers get: topic, NUL, partition. */
export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export interface PartitionEnds {
  /** First retained offset. */
  low: bigint;
  /** End offset: the next offset to be written (read committed: the last stable one). */
  high: bigint;
}

/** The client's names of a lost connection, a request without an answer, a coordinator or broker not found. */
const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
]);

/** An error worth retrying: anything in its cause chain the client calls retriable. */
export function isTransientKafkaError(error: unknown): boolean {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) {
    const { retriable, name } = e as { retriable?: boolean; name?: string };
    if (retriable === true || CONNECTION_ERRORS.has(name ?? '')) return true;
  }
  return false;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Call {
  what: string;
  /** The topics the call puts in the client's metadata (its target topics). */
  topics: readonly string[];
  work(admin: KafkaAdminPort): Promise<unknown>;
  waiters: Waiter[];
}

/**
 * Pure: how a batch of calls runs. A call for a topic the client has not answered for yet
 * runs alone, one after the other (it adds the topic to the client's metadata, and kafkajs'
 * admin answers a call racing that refresh from metadata without the topic); then every
 * call whose topics the client knows runs at once (one round trip for a task's six reads).
 */
export function callRounds<T extends { topics: readonly string[] }>(
  calls: readonly T[],
  known: ReadonlySet<string>,
): T[][] {
  const isKnown = (call: T) => call.topics.every((t) => known.has(t));
  const rounds = calls.filter((c) => !isKnown(c)).map((c) => [c]);
  const together = calls.filter(isKnown);
  if (together.length > 0) rounds.push(together);
  return rounds;
}

export class Offsets {
  private admin: Promise<KafkaAdminPort> | undefined;
  /** The client behind `admin`, also while it connects, so close() can disconnect it then. */
  private current: KafkaAdminPort | undefined;
  /** Set by close(): calls in flight stop retrying, and no client is made again. */
  private closed = false;
  /** Wakes the calls waiting to retry, at close. */
  private readonly sleepers = new Set<() => void>();
  /**
   * Calls wait here, keyed by what they ask, until the next microtask; then all of them
   * go, one request per key shared by every caller of that key. A caller thus always
   * gets an answer to a request sent after it asked (a task reads end offsets after
   * fencing the previous owner, and must not get an older answer), and twelve tasks
   * opening at once cost one request per topic. Calls for topics the client knows go at
   * once, also while others are in flight; a call for a topic new to the client waits for
   * the calls in flight and goes alone (callRounds).
   */
  private next = new Map<string, Call>();
  /** Calls answering now (topics the client knows). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Set while calls for topics new to the client run; everything else waits for it. */
  private exclusive: Promise<void> | undefined;
  /** Topics a call answered for: in the client's metadata, safe to ask about concurrently. */
  private readonly known = new Set<string>();

  constructor(
    private readonly kafka: KafkaPort,
    /** How long a call keeps retrying transient errors. */
    private readonly timeoutMs = 60_000,
  ) {}

  private client(): Promise<KafkaAdminPort> {
    if (this.closed) return Promise.reject(new Error('offsets client closed'));
    if (!this.admin) {
      const admin = this.kafka.admin();
      this.current = admin;
      this.admin = admin.connect().then(
        () => admin,
        (error: unknown) => {
          if (this.current === admin) {
            this.admin = undefined;
            this.current = undefined;
          }
          throw error;
        },
      );
    }
    return this.admin;
  }

  private retrying<T>(
    what: string,
    topics: readonly string[],
    work: (admin: KafkaAdminPort) => Promise<T>,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call = this.next.get(what) ?? { what, topics, work, waiters: [] };
      call.waiters.push({ resolve: resolve as (value: unknown) => void, reject });
      this.next.set(what, call);
      // Callers of the same moment join one batch.
      queueMicrotask(() => this.drain());
    });
  }

  private drain(): void {
    if (this.exclusive || this.next.size === 0) return;
    const batch = [...this.next.values()];
    this.next = new Map();
    const rounds = callRounds(batch, this.known);
    if (rounds.length === 1 && rounds[0]!.every((call) => call.topics.every((t) => this.known.has(t)))) {
      for (const call of rounds[0]!) {
        const answering = this.answer(call);
        this.inFlight.add(answering);
        void answering.finally(() => this.inFlight.delete(answering));
      }
      return;
    }
    this.exclusive = (async () => {
      await Promise.all(this.inFlight);
      for (const round of rounds) await Promise.all(round.map((call) => this.answer(call)));
    })().finally(() => {
      this.exclusive = undefined;
      this.drain();
    });
  }

  private async answer(call: Call): Promise<void> {
    try {
      const value = await this.attempts(call.what, call.work);
      for (const topic of call.topics) this.known.add(topic);
      for (const waiter of call.waiters) waiter.resolve(value);
    } catch (error) {
      for (const waiter of call.waiters) waiter.reject(error);
    }
  }

  private async attempts<T>(what: string, work: (admin: KafkaAdminPort) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await work(await this.client());
      } catch (error) {
        if (this.closed || !isTransientKafkaError(error) || Date.now() > deadline) {
          throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            this.sleepers.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(2000, 100 * 2 ** attempt));
          this.sleepers.add(wake);
        });
      }
    }
  }

  /** Low and high offsets of every partition of a topic. */
  ends(topic: string): Promise<Map<number, PartitionEnds>> {
    return this.retrying(`offsets of ${topic}`, [topic], async (admin) => {
      const offsets = await admin.partitionOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, { low: o.low, high: o.high }]));
    });
  }

  /** The high watermark of every partition of the topics, by partitionKey(topic, partition). */
  async highWatermarks(topics: readonly string[]): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    for (const topic of topics) {
      for (const [partition, end] of await this.ends(topic))
        out.set(partitionKey(topic, partition), end.high);
    }
    return out;
  }

  /** The group's committed offset per partition of a topic (absent: none committed). */
  committed(groupId: string, topic: string): Promise<Map<number, bigint>> {
    return this.retrying(`committed offsets of ${groupId} on ${topic}`, [topic], async (admin) => {
      const out = new Map<number, bigint>();
      for (const { partition, offset } of await admin.committedOffsets(groupId, topic)) {
        if (offset >= 0n) out.set(partition, offset);
      }
      return out;
    });
  }

  /** The partitions of a topic the group's coordinator assigns to a member now. */
  assignedTo(groupId: string, memberId: string, topic: string): Promise<number[]> {
    return this.retrying(
      `partitions of ${topic} that ${groupId} assigns to ${memberId}`,
      [],
      async (admin) => {
        const { members } = await admin.describeGroup(groupId);
        return [...(members.find((m) => m.memberId === memberId)?.assignment[topic] ?? [])];
      },
    );
  }

  /**
   * Disconnects the client, also one still connecting (a broker that is gone), and ends the
   * calls in flight: they fail instead of retrying on a new client that nobody would
   * disconnect (it kept a role's process alive, reconnecting, after the role stopped).
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.sleepers]) wake();
    const admin = this.current;
    this.admin = undefined;
    this.current = undefined;
    this.known.clear();
    await admin?.disconnect().catch(() => undefined);
  }
}
