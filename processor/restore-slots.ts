// How many large restores an instance runs at once. Each restore holds a changelog reader's
// fetches and decoded batches, a store taking bulk writes, and then a recount's scan: an
// instance assigned P partitions without their state would otherwise hold P of each at
// once, and its memory would follow its partition count. Small tails (a checkpoint
// restore after a restart or a failover) never wait: they are what readiness waits on.
import type { ChangelogKind } from '../schemas/changelog.js';

/** Records to read at or below which a restore goes without a slot. */
export const SMALL_RESTORE_RECORDS = 10_000n;

/** Pure: records a restore will read, from where each changelog starts to its end offset. */
export function recordsToRead(
  from: ReadonlyMap<ChangelogKind, bigint>,
  ends: ReadonlyMap<ChangelogKind, { high: bigint }>,
): bigint {
  let total = 0n;
  for (const [kind, end] of ends) {
    const start = from.get(kind) ?? 0n;
    if (end.high > start) total += end.high - start;
  }
  return total;
}

/** A counting semaphore whose waiters leave when their signal aborts. */
export class RestoreSlots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`restore slots must be >= 1, got ${size}`);
    this.free = size;
  }

  /** Restores waiting for a slot now. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves with the slot's release (call it once) when one is free; rejects if signal aborts first. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    if (this.free > 0) {
      this.free -= 1;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        const at = this.waiting.indexOf(grant);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', abort, { once: true });
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // A waiter takes the slot over; otherwise it is free again.
      if (next) next();
      else this.free += 1;
    };
  }
}
