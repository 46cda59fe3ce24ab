// The load generator of the ingest benchmark, forked by bench/ingest.ts so that the
// senders do not share an event loop with the server they measure. Closed loop:
// `concurrency` senders each POST a real signed workflow_job payload over a
// keep-alive connection, wait for the answer, and send the next.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { examples, signatureOf } from '../test/support/webhooks.js';

export type LoadCommand =
  | { type: 'init'; secret: string; targetBytes: number; variants: number }
  | { type: 'run'; url: string; durationMs: number; concurrency: number; ratePerSecond?: number }
  | { type: 'exit' };

export interface RoundResult {
  /** Requests answered 202. */
  accepted: number;
  /** Every other answer or transport error, by status ("error:<code>" for the latter). */
  failures: Record<string, number>;
  seconds: number;
  /** Accepted deliveries per second over the round. */
  rate: number;
  p50Ms: number;
  p99Ms: number;
}

export type LoadReply =
  | { type: 'ready'; payloadBytes: number; action: string }
  | { type: 'result'; result: RoundResult }
  | { type: 'error'; message: string };

interface Variant {
  body: Buffer;
  headers: Record<string, string>;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/**
 * The real workflow_job example nearest `targetBytes`, re-identified per variant (job
 * id and run id, so records spread over partitions as real runs do), signed once.
 */
async function buildVariants(
  secret: string,
  targetBytes: number,
  count: number,
): Promise<{ variants: Variant[]; action: string }> {
  const candidates = examples('workflow_job');
  const size = (payload: unknown) => Buffer.byteLength(JSON.stringify(payload));
  const chosen = candidates.reduce((best, e) =>
    Math.abs(size(e) - targetBytes) < Math.abs(size(best) - targetBytes) ? e : best,
  );
  const job = chosen.workflow_job as { id: number; run_id: number };
  const variants: Variant[] = [];
  for (let i = 0; i < count; i += 1) {
    const payload = structuredClone(chosen);
    const inner = payload.workflow_job as { id: number; run_id: number };
    inner.id = job.id + i * 7919;
    inner.run_id = job.run_id + i;
    const body = Buffer.from(JSON.stringify(payload));
    variants.push({
      body,
      headers: {
        'content-type': 'application/json',
        'content-length': String(body.length),
        'user-agent': 'GitHub-Hookshot/runstream-bench',
        'x-github-event': 'workflow_job',
        'x-github-hook-id': '4242',
        'x-github-hook-installation-target-type': 'repository',
        'x-github-hook-installation-target-id': '186853002',
        'x-hub-signature-256': await signatureOf(secret, body),
      },
    });
  }
  return { variants, action: String(chosen.action) };
}

function post(agent: Agent, url: URL, variant: Variant): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        // The delivery id is a header, outside the signature: vary it per request.
        headers: { ...variant.headers, 'x-github-delivery': randomUUID() },
      },
      (res) => {
        res.on('error', reject);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.resume();
      },
    );
    req.on('error', reject);
    req.end(variant.body);
  });
}

let variants: Variant[] = [];
let sequence = 0;
const agents = new Map<string, Agent>();

/**
 * One round against `url`: closed loop (`concurrency` senders, each sending its next
 * request once answered), or open loop at `ratePerSecond` (requests start on schedule,
 * whatever the answers; at most `concurrency` at once, the rest wait for a socket).
 */
async function runRound(
  url: string,
  durationMs: number,
  concurrency: number,
  ratePerSecond?: number,
): Promise<RoundResult> {
  let agent = agents.get(url);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    agents.set(url, agent);
  }
  const target = new URL(url);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let accepted = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const send = async (): Promise<void> => {
    const variant = variants[sequence++ % variants.length]!;
    const t0 = performance.now();
    let status: string;
    try {
      status = String(await post(agent, target, variant));
    } catch (error) {
      status = `error:${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    }
    latencies.push(performance.now() - t0);
    if (status === '202') accepted += 1;
    else failures[status] = (failures[status] ?? 0) + 1;
  };
  if (ratePerSecond === undefined) {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) await send();
      }),
    );
  } else {
    // Every 5 ms, the requests due by now: the schedule does not drift with the answers.
    const total = Math.round((ratePerSecond * durationMs) / 1000);
    const inFlight: Array<Promise<void>> = [];
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) * ratePerSecond) / 1000) + 1);
      for (; sent < due; sent += 1) inFlight.push(send());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(inFlight);
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    accepted,
    failures,
    seconds,
    rate: accepted / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
  };
}

function reply(message: LoadReply): void {
  process.send?.(message);
}

async function handle(command: LoadCommand): Promise<void> {
  switch (command.type) {
    case 'init': {
      const built = await buildVariants(command.secret, command.targetBytes, command.variants);
      variants = built.variants;
      const sizes = variants.map((v) => v.body.length).sort((a, b) => a - b);
      reply({ type: 'ready', payloadBytes: percentile(sizes, 50), action: built.action });
      return;
    }
    case 'run':
      reply({
        type: 'result',
        result: await runRound(command.url, command.durationMs, command.concurrency, command.ratePerSecond),
      });
      return;
    case 'exit':
      for (const agent of agents.values()) agent.destroy();
      process.disconnect?.();
      return;
  }
}

/** The argument bench/ingest.ts forks this file with; importing it does nothing else. */
export const LOAD_GENERATOR_FLAG = '--runstream-bench-load-generator';

if (process.argv.includes(LOAD_GENERATOR_FLAG)) {
  process.on('message', (command: LoadCommand) => {
    handle(command).catch((error: unknown) =>
      reply({ type: 'error', message: (error as Error).stack ?? String(error) }),
    );
  });
}
