// The fake broker's state: topics as arrays of partition logs, the transaction
// coordinator, consumer groups' committed offsets and members, the fault script, and a
// signal fired whenever something becomes visible (consumers wait on it, not on timers).
import type { TransactionOffsets } from '../../../platform/kafka-port.js';
import { TransactionCoordinator } from './coordinator.js';
import { notCoordinatorError, timeoutError, unknownPartitionError } from './errors.js';
import { FaultScript, type Operation } from './faults.js';
import { PartitionLog } from './partition-log.js';
import { Signal } from './signal.js';

/** A group member as the cluster sees it (the fake group consumer). */
export interface GroupMemberView {
  readonly memberId: string | undefined;
  readonly assigned: readonly number[];
  readonly topic: string;
}

export class FakeCluster {
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly offsets = new Map<string, Map<string, bigint>>();
  private readonly members = new Map<string, Set<GroupMemberView>>();
  readonly coordinator: TransactionCoordinator;
  readonly faults = new FaultScript();
  /** What the clients did that a test may check the order of (connects, disconnects). */
  readonly journal: string[] = [];
  /** Fired when records, markers or offsets change. */
  readonly changed = new Signal();

  constructor(
    /** Most records a fetch returns per partition. */
    readonly fetchRecords = 100,
  ) {
    this.coordinator = new TransactionCoordinator({
      commitOffset: (o) => this.commitOffset(o),
      notify: () => this.changed.fire(),
    });
  }

  createTopic(name: string, partitions: number): void {
    if (this.topics.has(name)) return;
    this.topics.set(
      name,
      Array.from({ length: partitions }, (_, p) => new PartitionLog(name, p)),
    );
  }

  deleteTopic(name: string): void {
    this.topics.delete(name);
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  partitions(topic: string): readonly PartitionLog[] {
    const logs = this.topics.get(topic);
    if (!logs) throw unknownPartitionError(topic, -1);
    return logs;
  }

  partition(topic: string, partition: number): PartitionLog {
    const log = this.topics.get(topic)?.[partition];
    if (!log) throw unknownPartitionError(topic, partition);
    return log;
  }

  commitOffset(o: TransactionOffsets): void {
    const group = this.offsets.get(o.groupId) ?? new Map<string, bigint>();
    group.set(`${o.topic}/${o.partition}`, o.offset);
    this.offsets.set(o.groupId, group);
    this.changed.fire();
  }

  committedOffset(groupId: string, topic: string, partition: number): bigint | undefined {
    return this.offsets.get(groupId)?.get(`${topic}/${partition}`);
  }

  join(groupId: string, member: GroupMemberView): void {
    const members = this.members.get(groupId) ?? new Set();
    members.add(member);
    this.members.set(groupId, members);
  }

  leave(groupId: string, member: GroupMemberView): void {
    this.members.get(groupId)?.delete(member);
  }

  membersOf(groupId: string): GroupMemberView[] {
    return [...(this.members.get(groupId) ?? [])];
  }

  /**
   * One request reaching the broker: a scripted fault of `op` on `subject` may replace
   * what happens (see faults.ts); `apply` is the request's effect and answer.
   * partialSend faults are the send's own to apply, so they are handed to it.
   */
  request<T>(
    op: Operation,
    subject: string,
    apply: (partial?: { topic: string; partition?: number }) => T,
  ): T {
    const fault = this.faults.take(op, subject);
    switch (fault?.kind) {
      case undefined:
        return apply();
      case 'fence':
        // A newer producer of the transactional id initialises first.
        this.coordinator.initProducerId(subject);
        return apply();
      case 'timeout':
        throw timeoutError(`${op} of ${subject}`);
      case 'coordinatorMoved':
        throw notCoordinatorError(`${op} of ${subject}`);
      case 'partialSend':
        return apply(fault);
      case 'before':
        fault.run();
        return apply();
      case 'late':
        this.faults.hold({ op, subject, apply: () => void apply() });
        throw timeoutError(`${op} of ${subject}`);
    }
  }
}
