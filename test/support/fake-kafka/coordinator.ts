// The fake transaction coordinator: per transactional id a producer id and an epoch.
// InitProducerId finishes the previous epoch's open transaction (aborts it: its EndTxn
// never arrived) and bumps the epoch, which fences every older producer of the id. Every
// request carries its epoch; a stale one is rejected with PRODUCER_FENCED and changes
// nothing. EndTxn settles whatever transaction is open at its epoch, exactly as a broker
// before KIP-890 does: a delayed EndTxn of the same epoch would land on the next
// transaction, which is why the client must re-initialise after an uncertain outcome.
import type { TransactionOffsets } from '../../../platform/kafka-port.js';
import { fencedError, invalidTxnStateError } from './errors.js';
import type { IncomingRecord, PartitionLog, TxnOutcome } from './partition-log.js';

interface OpenTransaction {
  outcome: TxnOutcome;
  partitions: Set<PartitionLog>;
  offsets: TransactionOffsets[];
}

interface ProducerState {
  producerId: number;
  epoch: number;
  open?: OpenTransaction;
  lastEnded?: { epoch: number; commit: boolean };
}

export interface EndTxnRecord {
  transactionalId: string;
  epoch: number;
  commit: boolean;
  result: 'committed' | 'aborted' | 'fenced' | 'no-transaction' | 'repeated';
}

export interface CoordinatorHost {
  commitOffset(offsets: TransactionOffsets): void;
  notify(): void;
}

export class TransactionCoordinator {
  private readonly producers = new Map<string, ProducerState>();
  private nextProducerId = 1000;
  /** Every EndTxn that reached the coordinator, in order, with what it did. */
  readonly endTxns: EndTxnRecord[] = [];

  constructor(private readonly host: CoordinatorHost) {}

  /** InitProducerId: finishes the open transaction of the previous epoch, returns the new epoch. */
  initProducerId(transactionalId: string): { producerId: number; epoch: number } {
    let state = this.producers.get(transactionalId);
    if (!state) {
      state = { producerId: this.nextProducerId++, epoch: 0 };
      this.producers.set(transactionalId, state);
      return { producerId: state.producerId, epoch: 0 };
    }
    if (state.open) this.finish(state, false);
    state.epoch += 1;
    return { producerId: state.producerId, epoch: state.epoch };
  }

  epochOf(transactionalId: string): number | undefined {
    return this.producers.get(transactionalId)?.epoch;
  }

  /** Whether the id has a transaction open (records or offsets not yet committed or aborted). */
  hasOpenTransaction(transactionalId: string): boolean {
    return this.producers.get(transactionalId)?.open !== undefined;
  }

  produce(
    transactionalId: string,
    epoch: number,
    log: PartitionLog,
    records: readonly IncomingRecord[],
  ): bigint {
    const open = this.openFor(transactionalId, epoch);
    open.partitions.add(log);
    const base = log.append(records, open.outcome);
    this.host.notify();
    return base;
  }

  addOffsets(transactionalId: string, epoch: number, offsets: TransactionOffsets): void {
    this.openFor(transactionalId, epoch).offsets.push(offsets);
  }

  endTxn(transactionalId: string, epoch: number, commit: boolean): void {
    const state = this.producers.get(transactionalId);
    const record = (result: EndTxnRecord['result']) =>
      this.endTxns.push({ transactionalId, epoch, commit, result });
    if (!state || epoch !== state.epoch) {
      record('fenced');
      throw fencedError(transactionalId, epoch, state?.epoch ?? -1);
    }
    if (!state.open) {
      // A retried EndTxn of the transaction just ended answers as it did.
      if (state.lastEnded?.epoch === epoch && state.lastEnded.commit === commit) {
        record('repeated');
        return;
      }
      record('no-transaction');
      throw invalidTxnStateError(`${transactionalId} has no open transaction`);
    }
    this.finish(state, commit);
    record(commit ? 'committed' : 'aborted');
  }

  private openFor(transactionalId: string, epoch: number): OpenTransaction {
    const state = this.producers.get(transactionalId);
    if (!state || epoch !== state.epoch) throw fencedError(transactionalId, epoch, state?.epoch ?? -1);
    state.open ??= { outcome: { state: 'open' }, partitions: new Set(), offsets: [] };
    return state.open;
  }

  private finish(state: ProducerState, commit: boolean): void {
    const open = state.open!;
    state.open = undefined;
    open.outcome.state = commit ? 'committed' : 'aborted';
    for (const log of open.partitions) log.marker(open.outcome);
    if (commit) for (const offsets of open.offsets) this.host.commitOffset(offsets);
    state.lastEnded = { epoch: state.epoch, commit };
    this.host.notify();
  }
}
