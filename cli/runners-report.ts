// What `runstream runners` prints, as pure functions of the client's answers: the
// per-item table of a JIT batch, the runners of a scale set, and the exit code. A JIT
// config is a secret: nothing here ever reads `encodedJITConfig`.

import type { RunnerReference } from '../github/actions-service.js';
import { GitHubApiError } from '../github/errors.js';
import type { JitBatchResult, JitItemResult } from '../github/jit-batch.js';
import { alignedTable } from '../platform/table.js';
import { oneLine } from './errors.js';

/** Per successful item (by index): the file its config was written to, or why it was not. */
export type ConfigFiles = ReadonlyMap<number, { path: string } | { error: unknown }>;

/** Every row would repeat the same service URL: a row says what the service answered. */
function failure(error: Error): string {
  if (!(error instanceof GitHubApiError)) return oneLine(error);
  return `${error.status === 0 ? 'no answer' : `HTTP ${error.status}`}: ${oneLine(error.detail)}`;
}

function outcome(item: JitItemResult): string {
  if (item.status === 'ok') return item.recovered ? 'ok (recovered an existing runner)' : 'ok';
  if (item.status === 'failed') return `failed: ${failure(item.error)}`;
  return item.started ? 'cancelled after it was sent: the runner may exist' : 'cancelled before it was sent';
}

function fileCell(item: JitItemResult, files: ConfigFiles): string {
  const file = files.get(item.index);
  if (!file) return '-';
  return 'path' in file ? file.path : `not written: ${oneLine(file.error)}`;
}

/** One row per requested runner: name, runner id, with `files` the config file, and the result. */
export function jitTable(result: JitBatchResult, files?: ConfigFiles): string {
  // The result last: an error there does not push the other columns apart.
  const rows = result.items.map((item) => [
    item.name,
    item.status === 'ok' ? String(item.config.runner.id) : '-',
    ...(files ? [fileCell(item, files)] : []),
    outcome(item),
  ]);
  return alignedTable(['name', 'runner id', ...(files ? ['config file'] : []), 'result'], rows);
}

/** Config files that could not be written. */
export function unwritten(files: ConfigFiles | undefined): number {
  return files ? [...files.values()].filter((file) => 'error' in file).length : 0;
}

/** The last line: how many configs were made, and what did not work. */
export function jitSummary(result: JitBatchResult, files?: ConfigFiles): string {
  const problems = [
    result.failed > 0 && `${result.failed} failed`,
    result.cancelled > 0 && `${result.cancelled} cancelled`,
    unwritten(files) > 0 && `${unwritten(files)} not written`,
  ].filter(Boolean);
  const made = `${result.succeeded} of ${result.items.length} runner configs generated`;
  return problems.length > 0 ? `${made} (${problems.join(', ')})` : made;
}

/** 0 when every config was made (and written); 130 after Ctrl-C; otherwise 1. */
export function jitExitCode(
  result: JitBatchResult,
  files: ConfigFiles | undefined,
  interrupted: boolean,
): number {
  if (interrupted) return 130;
  return result.failed > 0 || result.cancelled > 0 || unwritten(files) > 0 ? 1 : 0;
}

/** The runners of a scale set by name: id and name. */
export function runnersTable(runners: readonly RunnerReference[]): string {
  const sorted = [...runners].sort((a, b) => a.name.localeCompare(b.name));
  return alignedTable(
    ['runner id', 'name'],
    sorted.map((runner) => [String(runner.id), runner.name]),
  );
}
