// The floor of ingest's cost case: the least a webhook receiver on this stack can do per
// delivery, in a process of its own, fed exactly as `runstream ingest` is. Node's own
// HTTP server (no fastify), the HMAC check, one JSON.parse for the run id, and the raw
// body produced keyed by run id through the Kafka port's idempotent producer with
// acks=all; requests that arrive while a send is in flight go in the next send, and each
// is answered 202 once its send is acknowledged. Nothing else: no Avro envelope, no body
// budget, no limits, no metrics, no logs, no refusal answers beyond 401 and 503. It is a
// measuring stick, not a server to deploy: a figure for ingest's goal can only be read
// against what this costs on the same machine in the same run.
//
// bench/ingest.ts starts it with FLOOR_SERVER_FLAG and the environment `runstream
// ingest` reads (KAFKA_BROKERS, RUNSTREAM_TOPIC_PREFIX, RUNSTREAM_PARTITIONS,
// RUNSTREAM_WEBHOOK_SECRET, RUNSTREAM_INGEST_PORT); /readyz answers once it is connected.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createKafka } from '../platform/kafka/index.js';
import type { OutgoingRecord } from '../platform/kafka-port.js';
import { createLogger } from '../platform/log.js';
import { topicNames } from '../platform/topics.js';
import { partitionForKey } from '../schemas/partitioner.js';
import { runIdOf } from '../schemas/payload.js';

/** The argument bench/ingest.ts starts this file with; importing it does nothing else. */
export const FLOOR_SERVER_FLAG = '--runstream-bench-ingest-floor';

interface Waiting {
  record: OutgoingRecord;
  res: ServerResponse;
}

function answer(res: ServerResponse, status: number): void {
  res.writeHead(status);
  res.end();
}

async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const secret = Buffer.from((env.RUNSTREAM_WEBHOOK_SECRET ?? '').split(',')[0] ?? '');
  const partitions = Number(env.RUNSTREAM_PARTITIONS ?? 12);
  const topic = topicNames(env.RUNSTREAM_TOPIC_PREFIX ?? 'runstream.').deliveries;
  const kafka = createKafka({
    brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    clientId: 'runstream-bench-floor',
    logger: createLogger('ingest-floor', 'warn'),
  });
  const producer = kafka.recordProducer({ idempotent: true });
  await producer.connect();

  let queued: Waiting[] = [];
  let sending = false;
  const flush = (): void => {
    if (queued.length === 0) {
      sending = false;
      return;
    }
    sending = true;
    const batch = queued;
    queued = [];
    producer.send([{ topic, records: batch.map((w) => w.record) }], 'all').then(
      () => {
        for (const w of batch) answer(w.res, 202);
        flush();
      },
      () => {
        for (const w of batch) answer(w.res, 503);
        flush();
      },
    );
  };

  const webhook = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const given = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      answer(res, 401);
      return;
    }
    const runId = runIdOf(String(req.headers['x-github-event']), JSON.parse(body.toString('utf8')));
    const key = String(runId);
    queued.push({ record: { key, value: body, partition: partitionForKey(key, partitions) }, res });
    if (!sending) flush();
  };

  const server = createServer((req, res) => {
    if (req.method !== 'POST')
      return answer(res, req.url === '/readyz' || req.url === '/healthz' ? 200 : 404);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => webhook(req, res, Buffer.concat(chunks)));
  });
  server.listen(Number(env.RUNSTREAM_INGEST_PORT), '127.0.0.1');
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void producer.disconnect().finally(() => process.exit(0));
  });
}

if (process.argv.includes(FLOOR_SERVER_FLAG)) {
  main(process.env).catch((error: unknown) => {
    process.stderr.write(`ingest floor: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
