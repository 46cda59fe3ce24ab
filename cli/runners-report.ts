// What `runstream runners` prints, as pure functions of the client's answers: the
// per-item table of a JIT batch, the runners of a scale set, and the exit code. A JIT
// config is a secret: nothing here ever reads `encodedJITConfig`.

import type { RunnerReference } from '../github/actions-service.js';
import type { JitBatchResult, JitItemResult } from '../github/jit-batch.js';
import { alignedTable } from '../platform/table.js';
import { oneLine } from './errors.js';

/** Per successful item (by index): the file its config was written to, or why it was not. */
export type ConfigFiles = ReadonlyMap<number, { path: string } | { error: unknown }>;

function outcome(item: JitItemResult): string {
  if (item.status === 'ok') return item.recovered ? 'ok (recovered an existing runner)' : 'ok';
  if (item.status === 'failed') return `failed: ${oneLine(item.error)}`;
  return item.started ? 'cancelled after it was sent: the runner may exist' : 'cancelled before it was sent';
}

function fileCell(item: JitItemResult, files: ConfigFiles): string {
  const file = files.get(item.index);
  if (!file) return '-';
  return 'path' in file ? file.path : `not written: ${oneLine(file.error)}`;
}

/** One row per requested runner: name, runner id, result, and with `files` the config file. */
export function jitTable(result: JitBatchResult, files?: ConfigFiles): string {
  const rows = result.items.map((item) => {
    const row = [item.name, item.status === 'ok' ? String(item.config.runner.id) : '-', outcome(item)];
    return files ? [...row, fileCell(item, files)] : row;
  });
  const header = ['name', 'runner id', 'result'];
  return alignedTable(files ? [...header, 'config file'] : header, rows);
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
