// The Kafka port: what runstream needs of a Kafka client, in runstream's terms (Kafka
// Streams has the same seam: KafkaClientSupplier, StreamsProducer, StoreChangelogReader).
// Types only. The one implementation over kafkajs and its patch lives in platform/kafka/
// (nothing else imports kafkajs; test/unit/architecture.test.ts checks it), built by
// createKafka() in platform/kafka/index.ts; tests give the shell an in-memory one.
//
// Offsets are bigint where runstream computes with them and strings where records carry
// them (as Kafka's clients hand them out; the shell compares them as BigInt).
//
// Errors. Whatever a port's call rejects with is classified by the pure predicates of
// platform/kafka-errors.ts (isProducerFenced, isCoordinatorSettling,
// isAuthorizationFailure, isSessionTimeoutRefused, explainConnectFailure) and
// platform/offsets.ts (isTransientKafkaError), which read the facts of KafkaErrorFacts
// anywhere in the error's `cause` chain. An implementation therefore throws (or wraps)
// errors carrying Kafka's own error name in `type` (PRODUCER_FENCED,
// INVALID_PRODUCER_EPOCH, CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, REQUEST_TIMED_OUT...)
// and `retriable` as Kafka defines it; a lost connection or a request timeout without a
// broker's answer is `retriable: true` with no `type`. A transaction request that may
// still reach the broker (a timeout, or a connection lost with it out) is marked
// `uncertain`, with the request's name and the producer epoch it carried where known:
// processor/transactions.ts then sends nothing more with that producer epoch (not even
// an abort).

/** What runstream reads of an error a port implementation raises (each level of its `cause` chain). */
export interface KafkaErrorFacts {
  /** Kafka's error name from the broker's answer (PRODUCER_FENCED, NOT_COORDINATOR, ...). */
  type?: string;
  /** Whether asking again may succeed (Kafka's classification; true for lost connections). */
  retriable?: boolean;
  /** The client's class of error (connection, timeout, SASL), for the predicates that need it. */
  name?: string;
  /** Node's code of a socket or TLS failure (ECONNREFUSED, SELF_SIGNED_CERT_IN_CHAIN...). */
  code?: string;
  message?: string;
  cause?: unknown;
  /** A transaction request that may still reach the broker: its outcome is unknown. */
  uncertain?: boolean;
  /** For an uncertain one: the request (EndTxn (commit), AddOffsetsToTxn, TxnOffsetCommit...). */
  request?: string;
  /** For an uncertain one: the producer epoch it carried. */
  producerEpoch?: number;
}

// ---------------------------------------------------------------------------------------
// Records

/** A record as a consumer reads it. */
export interface ConsumedRecord {
  /** Its offset in the partition (decimal). */
  offset: string;
  key: Buffer | null;
  /** Null for a tombstone. */
  value: Buffer | null;
  /** What the producer attached (ingest: the delivery id and event); read by tests' oracles. */
  headers?: Readonly<Record<string, Buffer | string | Array<Buffer | string> | undefined>>;
}

/** A record to write, to the partition it names (every runstream producer chooses it). */
export interface OutgoingRecord {
  key: string | Buffer | null;
  value: string | Buffer | null;
  partition: number;
  headers?: Readonly<Record<string, string>>;
}

/** The records of one send to one topic. */
export interface TopicRecords {
  topic: string;
  records: readonly OutgoingRecord[];
}

/**
 * A partition the brokers acknowledged without error in a send: its records of that send
 * are at baseOffset, baseOffset + 1, ... in the order given. A targeted partition missing
 * from a send's acknowledgements was not written (the caller decides what to do).
 */
export interface PartitionAck {
  topic: string;
  partition: number;
  baseOffset: bigint;
}

// ---------------------------------------------------------------------------------------
// The record producer (ingest's publisher, replay, benchmarks)

export interface RecordProducerOptions {
  /** Idempotent (one request in flight, sequence numbers): every producer of deliveries. */
  idempotent?: boolean;
  /** How many times a request is retried inside the client (its own backoff). */
  retry?: { retries: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
}

export interface RecordProducer {
  connect(): Promise<void>;
  /**
   * Writes the records, each to its partition, and resolves with the partitions the
   * brokers acknowledged (acks 'all' by default: every in-sync replica has them). Rejects
   * when the client gave up; the producer should then be replaced (a new producer id),
   * never reused (docs/kafkajs-notes.md).
   */
  send(sends: readonly TopicRecords[], acks?: 'all' | 'leader'): Promise<PartitionAck[]>;
  /** Called once the producer lost its connection for good or was disconnected. */
  onDisconnect(listener: () => void): void;
  disconnect(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// The transactional producer (the processor's PartitionProducer and --reprocess)

export interface TransactionalProducerOptions {
  transactionalId: string;
  /** The broker aborts a transaction left open this long (transaction.timeout.ms). */
  transactionTimeoutMs?: number;
  retry?: { retries: number; initialRetryTimeMs?: number; maxRetryTimeMs?: number };
}

/** An input position committed inside a transaction (TxnOffsetCommit). */
export interface TransactionOffsets {
  groupId: string;
  topic: string;
  partition: number;
  /** The next offset to consume. */
  offset: bigint;
}

/**
 * One transactional id's producer, at the level of Kafka's requests so that an
 * implementation can model epochs and fencing: init() is InitProducerId (a new epoch
 * that fences every older producer of the id; the coordinator first finishes the open
 * transaction of the previous epoch), begin() starts a transaction, whose send() adds
 * partitions and produces, sendOffsets() is AddOffsetsToTxn + TxnOffsetCommit, and
 * commit()/abort() are EndTxn. Each rejects with an error classified by
 * platform/kafka-errors.ts: a fenced producer carries PRODUCER_FENCED or
 * INVALID_PRODUCER_EPOCH. After any rejection the producer is not used again except to
 * disconnect: its owner opens a new one, whose init() fences it.
 */
export interface TransactionalProducer {
  readonly transactionalId: string;
  /** Connects and takes the transactional id (an empty transaction is begun and aborted). */
  init(): Promise<void>;
  /** Starts a transaction; at most one is open at a time. */
  begin(): Promise<Transaction>;
  disconnect(): Promise<void>;
}

export interface Transaction {
  /** Produces inside the transaction (acks 'all'); resolves with the acknowledged partitions. */
  send(sends: readonly TopicRecords[]): Promise<PartitionAck[]>;
  /** Commits a consumer group's input position with the transaction. */
  sendOffsets(offsets: TransactionOffsets): Promise<void>;
  /** EndTxn(commit): resolves once the coordinator has committed the transaction. */
  commit(): Promise<void>;
  /** EndTxn(abort). */
  abort(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// The group consumer (the processor's consumer of deliveries)

/** What a member tells the group at each join, and what the assignor decides from. */
export interface GroupMember {
  memberId: string;
  /** Partitions it owns now (empty after a restart). */
  owned: readonly number[];
  /** Partitions it has local state for. */
  warm: readonly number[];
}

/**
 * A partition assignor as a pure rule: the leader's decision over every member's state.
 * The implementation carries `describe()` of each member to the leader (in the join's
 * user data) and the decision back to each member.
 */
export interface GroupAssignor {
  name: string;
  /** This member's state, asked at each join. */
  describe(): { owned: number[]; warm: number[] };
  /** Every partition to exactly one member. */
  assign(members: readonly GroupMember[], partitions: readonly number[]): Map<string, number[]>;
}

export interface GroupConsumerOptions {
  groupId: string;
  /** The one topic the group consumes. */
  topic: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Most bytes a fetch returns per partition. */
  maxBytesPerPartition: number;
  /** Longest a fetch waits for data (and a fetcher with every partition paused sleeps). */
  maxWaitTimeMs: number;
  /** A fetch answers once this much is there, or after maxWaitTimeMs (default 1 byte). */
  minBytes?: number;
  /** Tried first; the implementation keeps a round-robin assignor listed after it for mixed-version groups. */
  assignor: GroupAssignor;
  /** Retries of the consumer's requests before it crashes (and restarts). */
  retries: number;
}

/** One fetched batch of an assigned partition. Reads committed data only. */
export interface GroupBatch {
  partition: number;
  records: readonly ConsumedRecord[];
  /** Marks records up to this offset processed: the fetch position moves past them (nothing is committed). */
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True once a rebalance or seek made this batch obsolete. */
  isStale(): boolean;
  /** Stops fetching this partition until resume(). */
  pause(): void;
}

export type GroupBatchHandler = (batch: GroupBatch) => Promise<void>;

export interface ConsumerCrash {
  error: unknown;
  /**
   * Whether the client restarts the consumer (rejoins, from the committed offsets). When
   * false it is disconnected for good, and run() may be called again to start it anew.
   */
  restart: boolean;
}

export interface GroupConsumer {
  /** A new assignment of this member (eager rebalancing: the whole set each time). */
  onAssignment(listener: (memberId: string, partitions: number[]) => void): void;
  onCrash(listener: (crash: ConsumerCrash) => void): void;
  /**
   * Connects, subscribes (from the earliest offset where the group committed none) and
   * runs: batches of up to `concurrency` partitions are handled at once, none
   * auto-committed and none auto-resolved. Resolves once running. Called again after a
   * crash without restart, it starts the consumer anew (a new member joins the group).
   */
  run(handler: GroupBatchHandler, concurrency: number): Promise<void>;
  resume(partition: number): void;
  isPaused(partition: number): boolean;
  /** The next fetch of the partition starts at this offset. */
  seek(partition: number, offset: bigint): void;
  /** Leaves the group; waits for the batches in flight. */
  disconnect(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// The partition consumer (changelog restores, the exporter's view, export, verify)

export interface PartitionConsumerOptions {
  /** Names the consumer in logs (it joins no group and commits nothing). */
  name: string;
  /** What it reads: partitions per topic (a static assignment). */
  partitions: ReadonlyMap<string, readonly number[]>;
  maxWaitTimeMs: number;
  /** How much one fetch may return. */
  fetch?: { maxBytes: number; maxBytesPerPartition: number };
  retries: number;
}

/** A fetched batch of a partition (committed data only). */
export interface PartitionBatch {
  topic: string;
  partition: number;
  records: readonly ConsumedRecord[];
  /** The offset after this batch (transaction markers included). */
  nextOffset: bigint;
  heartbeat(): Promise<void>;
}

export interface PartitionConsumer {
  /**
   * The fetch position moved to `nextOffset`, also after a batch holding only transaction
   * markers (which never reaches the handler).
   */
  onPosition(listener: (topic: string, partition: number, nextOffset: bigint) => void): void;
  /** Connects and reads every partition from its earliest retained offset or its seek. */
  run(handler: (batch: PartitionBatch) => Promise<void>): Promise<void>;
  seek(topic: string, partition: number, offset: bigint): void;
  disconnect(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Admin

export interface PartitionMetadata {
  partition: number;
  /** The leader's broker id; negative while the partition has none. */
  leader: number;
  replicas: readonly number[];
  /** The replicas in sync with the leader. */
  isr: readonly number[];
}

export interface TopicMetadata {
  name: string;
  partitions: readonly PartitionMetadata[];
}

export interface NewTopic {
  name: string;
  partitions: number;
  replicationFactor: number;
  config: Readonly<Record<string, string>>;
}

export interface PartitionOffsets {
  partition: number;
  /** First retained offset. */
  low: bigint;
  /** The next offset to be written (read committed: the last stable one). */
  high: bigint;
}

export interface GroupDescription {
  members: ReadonlyArray<{
    memberId: string;
    /** The partitions the group assigns to the member, per topic (empty while it rebalances). */
    assignment: Readonly<Record<string, readonly number[]>>;
  }>;
}

export interface KafkaAdminPort {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** The number of brokers the cluster reports. */
  describeCluster(): Promise<{ brokers: number }>;
  listTopics(): Promise<string[]>;
  topicMetadata(topics: readonly string[]): Promise<TopicMetadata[]>;
  /** Creates the topics without waiting for their leaders. */
  createTopics(topics: readonly NewTopic[]): Promise<void>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** The effective value of the named settings of each topic, by topic name. */
  topicConfigs(
    topics: ReadonlyArray<{ name: string; configNames: readonly string[] }>,
  ): Promise<Map<string, Map<string, string>>>;
  /** Low and high offsets of every partition of a topic. */
  partitionOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Per partition, the first offset of a record at or after the time (-1: none). */
  offsetsAtTime(topic: string, timestampMs: number): Promise<Array<{ partition: number; offset: bigint }>>;
  /** The group's committed offset per partition of a topic (-1: none committed). */
  committedOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: bigint }>>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  /** Moves the group's committed offsets of the topic to the earliest retained (the group must be empty). */
  resetOffsetsToEarliest(groupId: string, topic: string): Promise<void>;
}

export interface AdminOptions {
  /** Retries of each request inside the client (0: fail at once, for probes). */
  retries?: number;
}

// ---------------------------------------------------------------------------------------
// The client supplier

/**
 * Creates the clients of one role (what createKafka() returns). Each client is created
 * unconnected and owned by its caller, which connects, uses and disconnects it.
 */
export interface KafkaPort {
  recordProducer(options?: RecordProducerOptions): RecordProducer;
  transactionalProducer(options: TransactionalProducerOptions): TransactionalProducer;
  groupConsumer(options: GroupConsumerOptions): GroupConsumer;
  partitionConsumer(options: PartitionConsumerOptions): PartitionConsumer;
  admin(options?: AdminOptions): KafkaAdminPort;
}
