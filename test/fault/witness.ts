// What the processors' logs show a fault did. A scenario whose fault can miss its mark
// and still pass proves nothing, so a scenario may name the log lines its fault must
// cause (ScenarioSpec.witness), and the suite fails a run without one.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A transaction request whose outcome the processor could not know (a timeout, a lost connection). */
export interface UncertainRequest {
  process: string;
  transactionalId: string;
  request: string;
  outcome: string;
  producerEpoch?: number;
}

/**
 * The uncertain transaction requests in one processor's log (pino's JSON lines): the
 * task's warn line carries the producer's belief (processor/task.ts), the request and
 * `uncertain: true`. Lines that are not JSON (the fleet's own) are skipped.
 */
export function uncertainTransactionRequests(process: string, logText: string): UncertainRequest[] {
  const found: UncertainRequest[] = [];
  for (const line of logText.split('\n')) {
    if (!line.startsWith('{')) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (entry.uncertain !== true || typeof entry.request !== 'string') continue;
    found.push({
      process,
      transactionalId: String(entry.transactionalId ?? ''),
      request: entry.request,
      outcome: String(entry.outcome ?? ''),
      ...(typeof entry.producerEpoch === 'number' ? { producerEpoch: entry.producerEpoch } : {}),
    });
  }
  return found;
}

/** One line per request, for the report. */
export function describeUncertain(requests: readonly UncertainRequest[]): string[] {
  return requests.map(
    (r) =>
      `${r.process}: ${r.request} of ${r.transactionalId}${r.producerEpoch === undefined ? '' : ` (epoch ${r.producerEpoch})`}, outcome ${r.outcome}`,
  );
}

/** Every processor's log of a run directory (p1.log, p2.log, …), by process name. */
export async function processorLogs(runDir: string): Promise<Map<string, string>> {
  const logs = new Map<string, string>();
  for (const file of (await readdir(runDir)).filter((f) => /^p\d+\.log$/.test(f)).sort()) {
    logs.set(file.replace(/\.log$/, ''), await readFile(join(runDir, file), 'utf8'));
  }
  return logs;
}
