// "Is the cluster reachable", for /readyz, and the time bound every probe of Kafka has.
import type { KafkaAdminPort, KafkaPort } from './kafka-port.js';

/** Bounds a Kafka call in time, so probes and shutdowns never hang on a dead cluster. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Answers "is the cluster reachable" for /readyz with one shared admin client; the
 * answer is cached briefly so a probe storm costs one metadata request.
 */
export class KafkaReachability {
  private readonly admin: KafkaAdminPort;
  private last: { at: number; ok: boolean; detail: string } | undefined;
  private inFlight: Promise<{ ok: boolean; detail: string }> | undefined;

  constructor(
    kafka: KafkaPort,
    private readonly cacheMs = 1000,
  ) {
    this.admin = kafka.admin({ retries: 0 });
  }

  async check(): Promise<{ ok: boolean; detail: string }> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return this.last;
    this.inFlight ??= this.probe().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async probe(): Promise<{ ok: boolean; detail: string }> {
    let result: { ok: boolean; detail: string };
    try {
      await withTimeout(this.admin.connect(), 3000, 'connect');
      const cluster = await withTimeout(this.admin.describeCluster(), 3000, 'describeCluster');
      result = { ok: true, detail: `kafka reachable (${cluster.brokers} brokers)` };
    } catch (error) {
      result = { ok: false, detail: `kafka unreachable: ${(error as Error).message}` };
    }
    this.last = { at: Date.now(), ...result };
    return result;
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }
}
