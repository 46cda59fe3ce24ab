// Watches the processor group from outside, ten times a second: per input partition, the
// committed offset against the end offset. A partition stalls while it has input left
// and its committed offset does not move; the longest such stretch is what an
// operator's dashboard would have shown as frozen numbers.
import type { KafkaAdminPort, KafkaPort } from '../../platform/kafka-port.js';

export interface StallReport {
  /** Longest stall of any partition (ms), and which. */
  longestMs: number;
  partition: number | undefined;
  /** Samples that could not be taken (cluster briefly unreachable). */
  failedSamples: number;
  /**
   * After a moment (a fault): the longest any partition with input waiting went without
   * committing, from the moment until the next one (or the end), i.e. until every
   * partition's numbers were fresh again (ms), by the moment's label; undefined when
   * some partition never committed again before the next moment.
   */
  freshAgain: Record<string, number | undefined>;
}

/**
 * Sampling period: the resolution of every figure here (a sample starts only when the
 * last one answered, so a slow cluster samples less often). A tenth of the tightest
 * bound (1 s after a SIGTERM), so the figure is the processors' and not the sampling's.
 */
const SAMPLE_MS = 100;

export class StallObserver {
  private readonly committed = new Map<number, bigint>();
  /** Since when each lagging partition has not moved. */
  private readonly stuckSince = new Map<number, number>();
  private longestMs = 0;
  private longestPartition: number | undefined;
  private failedSamples = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private admin: KafkaAdminPort | undefined;
  /** Every stall that ended: a partition with input waiting whose offset did not move. */
  private readonly stalls: Array<{ partition: number; start: number; end: number }> = [];
  private readonly marks = new Map<string, number>();

  constructor(
    private readonly kafka: KafkaPort,
    private readonly groupId: string,
    private readonly topic: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sampling ??= this.sample().finally(() => {
        this.sampling = undefined;
      });
    }, SAMPLE_MS);
  }

  private async sample(): Promise<void> {
    try {
      if (!this.admin) {
        this.admin = this.kafka.admin({ retries: 1 });
        await this.admin.connect();
      }
      const [ends, offsets] = await Promise.all([
        this.admin.partitionOffsets(this.topic),
        this.admin.committedOffsets(this.groupId, this.topic),
      ]);
      const now = Date.now();
      const at = new Map(offsets.map((p) => [p.partition, p.offset]));
      for (const end of ends) {
        const committed = at.get(end.partition) ?? -1n;
        const moved = committed !== this.committed.get(end.partition);
        this.committed.set(end.partition, committed);
        const lagging = committed < end.high && end.high > end.low;
        if (!lagging || moved) {
          const start = this.stuckSince.get(end.partition);
          if (start !== undefined) this.stalls.push({ partition: end.partition, start, end: now });
          this.stuckSince.delete(end.partition);
          if (lagging) this.stuckSince.set(end.partition, now);
          continue;
        }
        const since = this.stuckSince.get(end.partition) ?? now;
        this.stuckSince.set(end.partition, since);
        if (now - since > this.longestMs) {
          this.longestMs = now - since;
          this.longestPartition = end.partition;
        }
      }
    } catch {
      this.failedSamples += 1;
      await this.admin?.disconnect().catch(() => undefined);
      this.admin = undefined;
    }
  }

  /** Remembers a moment (a fault) to measure freshness from. */
  mark(label: string): void {
    this.marks.set(label, Date.now());
  }

  /**
   * The longest stall in the window from the moment until the next one, counted from the
   * moment when it began before it: how long until every partition with input waiting
   * committed again. Undefined when a stall that began in the window never ended. A later
   * fault's stall is that fault's, not this one's.
   */
  private freshAgainAfter(at: number, until: number): number | undefined {
    for (const start of this.stuckSince.values()) if (start < until) return undefined;
    let worst = 0;
    for (const stall of this.stalls) {
      if (stall.end <= at || stall.start >= until) continue;
      worst = Math.max(worst, stall.end - Math.max(stall.start, at));
    }
    return worst;
  }

  async stop(): Promise<StallReport> {
    clearInterval(this.timer);
    await this.sampling;
    // One last look, so a stall that ended after the previous sample is seen to end.
    if (this.timer) await this.sample();
    this.timer = undefined;
    await this.admin?.disconnect().catch(() => undefined);
    this.admin = undefined;
    const freshAgain: Record<string, number | undefined> = {};
    const moments = [...this.marks].sort(([, a], [, b]) => a - b);
    moments.forEach(([label, at], i) => {
      freshAgain[label] = this.freshAgainAfter(at, moments[i + 1]?.[1] ?? Number.POSITIVE_INFINITY);
    });
    return {
      longestMs: this.longestMs,
      partition: this.longestPartition,
      failedSamples: this.failedSamples,
      freshAgain,
    };
  }
}
