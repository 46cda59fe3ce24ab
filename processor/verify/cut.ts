// The aggregates of one partition at a consistent cut (pure): the records of its aggregates
// changelog partition, read in offset order (read_committed), folded up to and including
// the last input position record. Every transaction a processor commits ends its aggregates
// records with that position (schemas/changelog.ts), so the state at the cut is exactly the
// result of the deliveries before the position: records after the last position belong to a
// transaction that is still being read, and are held apart until its position arrives.
import {
  decodeInputPosition,
  INPUT_POSITION_KEY,
  parseAggregateChangelogKey,
} from '../../schemas/changelog.js';

export class AggregatesCut {
  /** Series key -> latest value bytes at the cut (tombstones removed); reserved keys included. */
  readonly values = new Map<string, Buffer>();
  /** Records after the last position seen: a transaction not yet read whole. */
  private readonly held = new Map<string, Buffer | null>();
  /** The next deliveries offset the state at the cut reflects; undefined until a position is read. */
  position: bigint | undefined;

  constructor(readonly partition: number) {}

  /** One aggregates changelog record of this partition, in offset order. */
  apply(changelogKey: string, value: Buffer | null): void {
    const { partition, seriesKey } = parseAggregateChangelogKey(changelogKey);
    if (partition !== this.partition) {
      throw new Error(
        `aggregate key ${changelogKey} is in changelog partition ${this.partition}, not ${partition}`,
      );
    }
    if (seriesKey === INPUT_POSITION_KEY) {
      if (value === null) return;
      for (const [key, bytes] of this.held) {
        if (bytes === null) this.values.delete(key);
        else this.values.set(key, bytes);
      }
      this.held.clear();
      this.position = decodeInputPosition(value);
      return;
    }
    this.held.set(seriesKey, value);
  }

  /** How many records wait for their transaction's position. */
  get heldCount(): number {
    return this.held.size;
  }
}
