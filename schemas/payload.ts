// Reading GitHub's webhook payloads: the checks every reader shares, and the run id a
// delivery belongs to (which keys and partitions it).
export type Json = Record<string, unknown>;

export const isJsonObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const positiveInt = (v: unknown): number | null =>
  typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : null;

/**
 * The workflow run id a delivery belongs to (its record key and partition):
 * workflow_run.id (there is no run_id inside workflow_run) or workflow_job.run_id.
 */
export function runIdOf(event: string, payload: unknown): number | null {
  if (!isJsonObject(payload)) return null;
  if (event === 'workflow_run')
    return isJsonObject(payload.workflow_run) ? positiveInt(payload.workflow_run.id) : null;
  if (event === 'workflow_job') {
    return isJsonObject(payload.workflow_job) ? positiveInt(payload.workflow_job.run_id) : null;
  }
  return null;
}
