// `runstream runners jit|list|remove`: runner scale-set runners through the batched
// GitHub client (github/), for scripts and CI jobs. The tables and the exit code are
// made in runners-report.ts; this file reads flags, calls the client and writes files.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { ActionsServiceClient, RunnerScaleSet } from '../github/actions-service.js';
import { GITHUB_CONCURRENCY, readActionsService } from '../github/config.js';
import { NotFoundError } from '../github/errors.js';
import type { JitBatchResult } from '../github/jit-batch.js';
import { LOG_FORMAT, LOG_LEVEL } from '../platform/config.js';
import { createLogger, type Logger } from '../platform/log.js';
import { UsageError } from './errors.js';
import { type ConfigFiles, jitExitCode, jitSummary, jitTable, runnersTable } from './runners-report.js';
import { environmentHelp } from './settings.js';

interface JitOptions {
  scaleSet: string;
  count: string;
  namePrefix: string;
  workFolder: string;
  out?: string;
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(flag, `expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The HTTP client's retry and rate-limit warnings, on stderr: stdout is the answer. */
function warnings(): Logger {
  const format = LOG_FORMAT.read(process.env);
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  return createLogger('runners', LOG_LEVEL.read(process.env), pretty ? 'pretty' : 'json', 'stderr');
}

/** The client and the scale set `--scale-set` names; a scale set that does not exist is a usage error. */
async function openScaleSet(
  scaleSet: string,
): Promise<{ service: ActionsServiceClient; scaleSet: RunnerScaleSet }> {
  const id = positiveInt('--scale-set', scaleSet);
  const service = readActionsService(process.env, 'runstream runners', warnings());
  try {
    return { service, scaleSet: await service.getRunnerScaleSetById(id) };
  } catch (error) {
    if (error instanceof NotFoundError)
      throw new UsageError('--scale-set', `there is no runner scale set ${id}`);
    throw error;
  }
}

async function jit(options: JitOptions): Promise<void> {
  const count = positiveInt('--count', options.count);
  // Names become file names under --out: nothing that could leave the directory.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.namePrefix)) {
    throw new UsageError(
      '--name-prefix',
      `letters, digits, '.', '_' and '-' only, got ${JSON.stringify(options.namePrefix)}`,
    );
  }
  const { service, scaleSet } = await openScaleSet(options.scaleSet);
  // Before any runner exists, so a directory that cannot be made costs nothing.
  if (options.out) await mkdir(options.out, { recursive: true, mode: 0o700 });
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  let result: JitBatchResult;
  try {
    result = await service.batchGenerateJitConfigs(
      count,
      { namePrefix: options.namePrefix, workFolder: options.workFolder },
      scaleSet.id,
      { concurrency: GITHUB_CONCURRENCY.read(process.env), signal: controller.signal },
    );
  } finally {
    process.off('SIGINT', interrupt);
  }
  let files: ConfigFiles | undefined;
  if (options.out) {
    const dir = options.out;
    const written = new Map<number, { path: string } | { error: unknown }>();
    for (const item of result.items) {
      if (item.status !== 'ok') continue;
      const path = join(dir, `${item.name}.jitconfig`);
      // 'wx': a new file, so the mode applies (an existing file would keep its own).
      await writeFile(path, item.config.encodedJITConfig, { mode: 0o600, flag: 'wx' }).then(
        () => written.set(item.index, { path }),
        (error: unknown) => written.set(item.index, { error }),
      );
    }
    files = written;
  }
  process.stdout.write(`${jitTable(result, files)}\n`);
  process.stderr.write(
    `${jitSummary(result, files)} for scale set ${scaleSet.id} (${scaleSet.name})${options.out ? '' : '; without --out the configs were not kept'}\n`,
  );
  process.exitCode = jitExitCode(result, files, controller.signal.aborted);
}

async function list(options: { scaleSet: string }): Promise<void> {
  const { service, scaleSet } = await openScaleSet(options.scaleSet);
  const runners = await service.listRunners(scaleSet.id);
  process.stdout.write(`${runnersTable(runners)}\n`);
  process.stderr.write(`${runners.length} runners in scale set ${scaleSet.id} (${scaleSet.name})\n`);
}

async function remove(options: { scaleSet: string; name: string }): Promise<void> {
  const { service, scaleSet } = await openScaleSet(options.scaleSet);
  const runner = await service.getRunnerByName(options.name);
  const notFound = () =>
    new Error(
      `no runner named ${JSON.stringify(options.name)} in scale set ${scaleSet.id} (${scaleSet.name})`,
    );
  if (!runner || runner.runnerScaleSetId !== scaleSet.id) throw notFound();
  try {
    await service.removeRunner(runner.id);
  } catch (error) {
    // Removed by someone else between the lookup and now.
    if (error instanceof NotFoundError) throw notFound();
    throw error;
  }
  process.stdout.write(`removed runner ${runner.name} (id ${runner.id}) from scale set ${scaleSet.id}\n`);
}

/** Adds `runners jit|list|remove` to the CLI. */
export function registerRunners(program: Command): void {
  const runners = program
    .command('runners')
    .description('runner scale-set runners through the batched GitHub client: JIT configs, list, remove');
  runners
    .command('jit')
    .description(
      'generate N just-in-time runner configs in one batched, rate-limit-aware call: a result per runner, non-zero exit if any failed',
    )
    .requiredOption('--scale-set <id>', 'runner scale set id')
    .requiredOption('--count <n>', 'runner configs to generate')
    .option('--name-prefix <prefix>', 'runner names are <prefix>-<batch id>-<index>', 'runstream')
    .option('--work-folder <dir>', "the runner's work folder", '_work')
    .option(
      '--out <dir>',
      'write each config to <dir>/<runner name>.jitconfig (mode 0600; start the runner with --jitconfig "$(cat FILE)"); without it the configs are not kept',
    )
    .addHelpText(
      'after',
      `\nCtrl-C stops sending; items already sent are reported as possibly created.${environmentHelp('runners')}`,
    )
    .action(jit);
  runners
    .command('list')
    .description('the runners registered to a scale set')
    .requiredOption('--scale-set <id>', 'runner scale set id')
    .addHelpText('after', environmentHelp('runners'))
    .action(list);
  runners
    .command('remove')
    .description('remove a runner of a scale set by name (non-zero exit when there is none)')
    .requiredOption('--scale-set <id>', 'runner scale set id')
    .requiredOption('--name <name>', 'runner name')
    .addHelpText('after', environmentHelp('runners'))
    .action(remove);
}
