// `runstream replay --github`: lists a hook's delivery log over a time window, fetches
// the workflow_run and workflow_job deliveries (batched, rate-limit aware) and publishes
// them like ingest, with their original delivery ids. A checkpoint file records the
// next page after each page is published, so an interrupted replay resumes there; a
// checkpoint whose next page is off the configured API's origin is refused unread.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { GITHUB_API_URL } from '../github/config.js';
import type { DeliveryDetail, GitHubRestClient, HookRef } from '../github/rest.js';
import type { DeliveryPublisher } from '../ingest/publisher.js';
import { badDeliveryIdReason, buildDelivery, deliveryIdOf, type KeyedDelivery } from '../schemas/delivery.js';
import type { ProgressCounts, ProgressReporter } from './progress.js';

const REPLAYED_EVENTS = new Set(['workflow_run', 'workflow_job']);

export interface GitHubReplayCheckpoint {
  hook: HookRef;
  sinceMs: number | null;
  untilMs: number | null;
  /** The page to read next; null once the log is exhausted. */
  nextPageUrl: string | null;
  counts: ProgressCounts;
}

export interface GitHubReplayOptions {
  client: GitHubRestClient;
  hook: HookRef;
  publisher: Pick<DeliveryPublisher, 'publish'>;
  sinceMs?: number;
  untilMs?: number;
  checkpointPath?: string;
  perPage?: number;
  progress?: ProgressReporter;
  report: (message: string) => void;
  signal?: AbortSignal;
  /** Called after each page is published and checkpointed (tests stop here). */
  onPage?: (counts: ProgressCounts) => void;
}

async function loadCheckpoint(
  path: string,
  options: GitHubReplayOptions,
): Promise<GitHubReplayCheckpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const checkpoint = JSON.parse(text) as GitHubReplayCheckpoint;
  const same =
    JSON.stringify(checkpoint.hook) === JSON.stringify(options.hook) &&
    checkpoint.sinceMs === (options.sinceMs ?? null) &&
    checkpoint.untilMs === (options.untilMs ?? null);
  if (!same) {
    throw new Error(`checkpoint ${path} belongs to another hook or time window; remove it to start over`);
  }
  // The token goes with the request: a next page anywhere but the configured API is refused.
  const next: unknown = checkpoint.nextPageUrl;
  if (next !== null && typeof next !== 'string') {
    throw new Error(`checkpoint ${path}: nextPageUrl is not a URL; remove it to start over`);
  }
  const foreign = next === null ? undefined : options.client.foreignPage(next);
  if (foreign) {
    throw new Error(
      `checkpoint ${path}: its next page ${foreign}; nothing was fetched (the token is sent only to the configured API URL): check ${GITHUB_API_URL.name}, or remove the checkpoint to start over`,
    );
  }
  return checkpoint;
}

async function saveCheckpoint(path: string, checkpoint: GitHubReplayCheckpoint): Promise<void> {
  // Write-then-rename: a crash mid-write never leaves a torn checkpoint.
  await writeFile(`${path}.tmp`, JSON.stringify(checkpoint));
  await rename(`${path}.tmp`, path);
}

/** A delivery from the log as the Delivery ingest would have published. */
export function deliveryFromLog(detail: DeliveryDetail, hookId: string | null): KeyedDelivery | string {
  const built = buildDelivery({
    id: detail.guid,
    event: detail.event,
    // The API returns parsed JSON; its re-serialisation is trusted through the API.
    body: Buffer.from(JSON.stringify(detail.request.payload)),
    payload: detail.request.payload,
    receivedAt: Date.parse(detail.delivered_at),
    source: 'replay',
    hookId,
  });
  return 'error' in built ? `delivery ${detail.guid}: ${built.error}` : built;
}

export async function replayFromGitHub(options: GitHubReplayOptions): Promise<ProgressCounts> {
  const { client, hook } = options;
  const resumed = options.checkpointPath ? await loadCheckpoint(options.checkpointPath, options) : undefined;
  const checkpoint: GitHubReplayCheckpoint = resumed ?? {
    hook,
    sinceMs: options.sinceMs ?? null,
    untilMs: options.untilMs ?? null,
    nextPageUrl: client.firstPageUrl(hook, options.perPage ?? 100),
    counts: { sent: 0, skipped: 0, invalid: 0 },
  };
  const counts = checkpoint.counts;
  const hookId = hook.kind === 'app' ? null : String(hook.hookId);
  while (checkpoint.nextPageUrl) {
    options.signal?.throwIfAborted();
    const page = await client.listPage(hook, checkpoint.nextPageUrl, {
      sinceMs: options.sinceMs,
      untilMs: options.untilMs,
      signal: options.signal,
    });
    const replayed = page.deliveries.filter((d) => REPLAYED_EVENTS.has(d.event));
    counts.skipped += page.deliveries.length - replayed.length;
    // A log entry whose guid is not a GUID is reported and neither fetched nor published.
    const wanted = replayed.filter((d) => {
      if (deliveryIdOf(d.guid) !== undefined) return true;
      counts.invalid += 1;
      options.report(`delivery ${d.id}: ${badDeliveryIdReason(d.guid)}`);
      return false;
    });
    const fetched = await client.getDeliveries(
      hook,
      wanted.map((d) => d.id),
      options.signal,
    );
    options.signal?.throwIfAborted();
    const batch: KeyedDelivery[] = [];
    for (const item of fetched) {
      if (!item.delivery) {
        // A delivery the API cannot give is reported, not silently dropped.
        counts.invalid += 1;
        options.report(`delivery ${item.id}: could not be fetched: ${item.error?.message}`);
        continue;
      }
      const built = deliveryFromLog(item.delivery, hookId);
      if (typeof built === 'string') {
        counts.invalid += 1;
        options.report(`delivery ${item.id}: ${built}`);
      } else batch.push(built);
    }
    if (batch.length > 0) await options.publisher.publish(batch);
    counts.sent += batch.length;
    checkpoint.nextPageUrl = page.next ?? null;
    if (options.checkpointPath) await saveCheckpoint(options.checkpointPath, checkpoint);
    options.progress?.update(counts, 0, undefined);
    options.onPage?.(counts);
  }
  options.progress?.finish(counts);
  return counts;
}
