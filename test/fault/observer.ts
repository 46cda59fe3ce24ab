// Watches the processor group from outside, once a second: per input partition, the
// committed offset against the end offset. A partition stalls while it has input left
// and its committed offset does not move; the longest such stretch is what an
// operator's dashboard would have shown as frozen numbers.
import type { Kafka } from 'kafkajs';

export interface StallReport {
  /** Longest stall of any partition (ms), and which. */
  longestMs: number;
  partition: number | undefined;
  /** Samples that could not be taken (cluster briefly unreachable). */
  failedSamples: number;
}

export class StallObserver {
  private readonly committed = new Map<number, bigint>();
  /** Since when each lagging partition has not moved. */
  private readonly stuckSince = new Map<number, number>();
  private longestMs = 0;
  private longestPartition: number | undefined;
  private failedSamples = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private admin: ReturnType<Kafka['admin']> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly topic: string,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.sampling ??= this.sample().finally(() => {
        this.sampling = undefined;
      });
    }, 1000);
  }

  private async sample(): Promise<void> {
    try {
      if (!this.admin) {
        this.admin = this.kafka.admin({ retry: { retries: 1 } });
        await this.admin.connect();
      }
      const [ends, offsets] = await Promise.all([
        this.admin.fetchTopicOffsets(this.topic),
        this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
      ]);
      const now = Date.now();
      const at = new Map(offsets[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
      for (const end of ends) {
        const committed = at.get(end.partition) ?? -1n;
        const moved = committed !== this.committed.get(end.partition);
        this.committed.set(end.partition, committed);
        const lagging = committed < BigInt(end.high) && BigInt(end.high) > BigInt(end.low);
        if (!lagging || moved) {
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

  async stop(): Promise<StallReport> {
    clearInterval(this.timer);
    await this.sampling;
    await this.admin?.disconnect().catch(() => undefined);
    return { longestMs: this.longestMs, partition: this.longestPartition, failedSamples: this.failedSamples };
  }
}
