// `runstream <command>`: one CLI for every role and tool (docs/design.md "Interfaces").
import { Command, CommanderError } from 'commander';
import { sendDemo } from '../demo/send.js';
import { readExporterConfig, startExporter } from '../exporter/main.js';
import { readGitHubConfig } from '../github/config.js';
import { GitHubRestClient, type HookRef } from '../github/rest.js';
import { readIngestConfig, startIngest } from '../ingest/main.js';
import { DeliveryPublisher } from '../ingest/publisher.js';
import { ConfigError, readCommonConfig, WEBHOOK_SECRET } from '../platform/config.js';
import { DEV_SECRET } from '../platform/dev-secret.js';
import { createKafka } from '../platform/kafka/index.js';
import { checkKafka, kafkaPreflight } from '../platform/kafka-preflight.js';
import { kafkaEndpoint } from '../platform/kafka-security.js';
import { createLogger, type Logger } from '../platform/log.js';
import type { RoleHandle } from '../platform/role.js';
import { describeDifferences, formatTopicPlan, topicNames, topicPlanFor } from '../platform/topics.js';
import { ensureTopics } from '../platform/topics-admin.js';
import { formatProblem } from '../platform/topics-verify.js';
import { VERSION } from '../platform/version.js';
import { readProcessorConfig, startProcessor } from '../processor/main.js';
import { resetProcessorState } from '../processor/reprocess.js';
import { formatReport, pushVerifyMetrics, type VerifyProgress, verifyPipeline } from '../processor/verify.js';
import { readArchiveLimits } from '../replay/config.js';
import { exportDeliveries } from '../replay/export.js';
import { replayFile } from '../replay/file.js';
import { replayFromGitHub } from '../replay/github.js';
import { createProgress, type ProgressCounts } from '../replay/progress.js';
import { DEV_HOST, startAll } from './all.js';
import { describeFailure, UsageError } from './errors.js';
import { registerRunners } from './runners.js';
import { environmentHelp } from './settings.js';

/** Runs roles until SIGTERM/SIGINT, then closes them in reverse start order. */
async function runUntilSignal(logger: Logger, start: () => Promise<RoleHandle[]>): Promise<void> {
  const handles = await start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  const timer = setTimeout(() => {
    logger.error('shutdown took over 30 s; exiting');
    process.exit(1);
  }, 30_000);
  timer.unref();
  for (const handle of [...handles].reverse()) await handle.close();
}

function loggerFor(role: string): Logger {
  // Reading the level first keeps a bad RUNSTREAM_LOG_LEVEL a one-line config error.
  const { logLevel, logFormat } = readCommonConfig(process.env);
  return createLogger(role, logLevel, logFormat);
}

interface ReplayOptions {
  file?: string;
  github?: boolean;
  repo?: string;
  org?: string;
  hookId?: string;
  app?: boolean;
  since?: string;
  until?: string;
  checkpoint: string;
}

function timeOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(flag, `expected an ISO 8601 time, got ${JSON.stringify(value)}`);
  return ms;
}

function hookFromOptions(options: ReplayOptions): HookRef {
  const hookId = Number(options.hookId);
  const needHookId = () => {
    if (!Number.isSafeInteger(hookId) || hookId <= 0)
      throw new UsageError('--hook-id', 'a positive hook id is required');
    return hookId;
  };
  if (options.app) return { kind: 'app' };
  if (options.repo) {
    const [owner, repo, extra] = options.repo.split('/');
    if (!owner || !repo || extra !== undefined)
      throw new UsageError('--repo', `expected owner/name, got ${options.repo}`);
    return { kind: 'repo', owner, repo, hookId: needHookId() };
  }
  if (options.org) return { kind: 'org', org: options.org, hookId: needHookId() };
  throw new UsageError(
    '--github',
    'say which hook: --repo owner/name --hook-id N, --org NAME --hook-id N, or --app',
  );
}

export function buildCli(): Command {
  const program = new Command('runstream')
    .description('Exact Prometheus metrics for GitHub Actions, from webhooks through Kafka')
    .version(VERSION)
    .addHelpText('after', '\nEach command lists the environment it reads: runstream <command> --help.')
    .showHelpAfterError();

  program
    .command('ingest')
    .description('receive GitHub webhooks on POST /webhook, verify them and publish to Kafka')
    .addHelpText('after', environmentHelp('ingest'))
    .action(async () => {
      const config = readIngestConfig(process.env);
      const logger = loggerFor('ingest');
      await runUntilSignal(logger, async () => [await startIngest(config, logger)]);
    });

  program
    .command('processor')
    .description('own deliveries partitions: dedupe, run/job state in RocksDB, changelogs, exactly-once')
    .addHelpText('after', environmentHelp('processor'))
    .option(
      '--reprocess',
      'first rebuild all state from the earliest retained delivery (stop every processor of the group first)',
    )
    .action(async (options: { reprocess?: boolean }) => {
      const config = readProcessorConfig(process.env);
      const logger = loggerFor('processor');
      if (options.reprocess) {
        await kafkaPreflight(config, { role: 'processor', groupId: config.groupId }, logger);
        const kafka = createKafka({ ...kafkaEndpoint(config), clientId: 'runstream-reprocess', logger });
        await resetProcessorState({
          kafka,
          topics: topicNames(config.topicPrefix),
          groupId: config.groupId,
          stateDir: config.stateDir,
          logger,
        });
      }
      await runUntilSignal(logger, async () => [await startProcessor(config, logger)]);
    });

  program
    .command('exporter')
    .description('serve the GitHub Actions metrics from the changelogs (identical on every pod)')
    .addHelpText('after', environmentHelp('exporter'))
    .action(async () => {
      const config = readExporterConfig(process.env);
      const logger = loggerFor('exporter');
      await runUntilSignal(logger, async () => [await startExporter(config, logger)]);
    });

  program
    .command('all')
    .description(
      'ingest, processor and exporter in one process (the single-node default); creates the topics',
    )
    .addHelpText(
      'after',
      `
Without RUNSTREAM_WEBHOOK_SECRET it accepts deliveries signed with the development secret "${DEV_SECRET}"
and, unless RUNSTREAM_HOST is set, listens on ${DEV_HOST} only; the development secret is refused
on any other address.${environmentHelp('all')}`,
    )
    .action(async () => {
      const logger = loggerFor('all');
      await runUntilSignal(logger, () => startAll(process.env, loggerFor));
    });

  program
    .command('demo')
    .description('send a realistic stream of signed deliveries (real example payloads) to an ingest')
    .option('--url <url>', 'ingest webhook URL', 'http://127.0.0.1:8080/webhook')
    .option('--secret <secret>', 'webhook secret (default: RUNSTREAM_WEBHOOK_SECRET, else the dev secret)')
    .option('--runs <n>', 'workflow runs to generate', '50')
    .option('--seed <n>', 'random seed (the same seed sends the same stream)', String(Date.now() % 100000))
    .addHelpText('after', environmentHelp('demo'))
    .action(async (options: { url: string; secret?: string; runs: string; seed: string }) => {
      const secret = options.secret ?? WEBHOOK_SECRET.read(process.env)?.split(',')[0]?.trim() ?? DEV_SECRET;
      const runs = Number(options.runs);
      const seed = Number(options.seed);
      if (!Number.isInteger(runs) || runs < 1)
        throw new UsageError('--runs', `expected a positive integer, got ${options.runs}`);
      if (!Number.isInteger(seed)) throw new UsageError('--seed', `expected an integer, got ${options.seed}`);
      const summary = await sendDemo({
        url: options.url,
        secret,
        runs,
        seed,
        firstRunId: 7_000_000_000 + seed * 1000,
        // Recent enough that the default max ages keep the unfinished entities active
        // (housekeeping would expire anything dated weeks ago); a run's events span up
        // to about 2.5 h after its start, so all of them lie in the past.
        startMs: Date.now() - 3 * 3_600_000,
        // Some runs get a "re-run failed jobs" attempt, so the demo shows flaky jobs.
        rerunFailedRate: 0.3,
      });
      process.stdout.write(
        `sent ${summary.sent} deliveries (${summary.unique} unique) in ${summary.seconds.toFixed(1)} s: ${JSON.stringify(summary.byStatus)}\n`,
      );
      if (Object.keys(summary.byStatus).some((status) => status !== '202')) process.exitCode = 1;
    });

  program
    .command('replay')
    .description('publish historical deliveries again (idempotent: original delivery ids are deduped)')
    .option(
      '--file <path>',
      'archive to replay: NDJSON, one delivery per line, optionally gzip (docs/replay.md)',
    )
    .option('--github', "replay a hook's delivery log from the GitHub API")
    .option('--repo <owner/name>', 'with --github: a repository hook (needs --hook-id)')
    .option('--org <org>', 'with --github: an organization hook (needs --hook-id)')
    .option('--hook-id <id>', 'with --github: the hook id')
    .option('--app', "with --github: the GitHub App's hook (needs RUNSTREAM_GITHUB_APP_*)")
    .option('--since <time>', 'with --github: first delivery time to replay (ISO 8601)')
    .option('--until <time>', 'with --github: delivery time to stop before (ISO 8601)')
    .option('--checkpoint <path>', 'with --github: resume file', '.runstream-replay-checkpoint.json')
    .addHelpText('after', environmentHelp('replay'))
    .action(async (options: ReplayOptions) => {
      const config = readCommonConfig(process.env);
      const limits = readArchiveLimits(process.env);
      const logger = loggerFor('replay');
      await kafkaPreflight(config, { role: 'replay' }, logger);
      const kafka = createKafka({ ...kafkaEndpoint(config), clientId: 'runstream-replay', logger });
      const publisher = new DeliveryPublisher({
        kafka,
        topic: topicNames(config.topicPrefix).deliveries,
        logger,
        sendTimeoutMs: 60_000,
        // Replay bounds its own batches in flight; the queue cap protects live ingest.
        maxQueuedBytes: Number.POSITIVE_INFINITY,
      });
      const report = (message: string) => process.stderr.write(`${message}\n`);
      try {
        let counts: ProgressCounts;
        if (options.file && !options.github) {
          counts = await replayFile({
            path: options.file,
            publisher,
            progress: createProgress(process.stderr),
            report,
            limits,
          });
        } else if (options.github && !options.file) {
          const github = readGitHubConfig(process.env);
          if (!github)
            throw new ConfigError('RUNSTREAM_GITHUB_TOKEN', 'replay --github needs a token or a GitHub App');
          counts = await replayFromGitHub({
            client: new GitHubRestClient(github.http, github.auth, github.apiUrl),
            hook: hookFromOptions(options),
            publisher,
            sinceMs: timeOption('--since', options.since),
            untilMs: timeOption('--until', options.until),
            checkpointPath: options.checkpoint,
            progress: createProgress(process.stderr),
            report,
          });
        } else {
          throw new UsageError('replay', 'give exactly one of --file <path> or --github');
        }
        process.stdout.write(`${JSON.stringify(counts)}\n`);
      } finally {
        await publisher.close();
      }
    });

  program
    .command('export')
    .description('write the deliveries topic (or a time window of it) as a replayable archive')
    .requiredOption('--out <path>', "archive path ('-' for stdout; a .gz path is gzip-compressed)")
    .option('--since <time>', 'first received time to include (ISO 8601)')
    .option('--until <time>', 'received time to stop before (ISO 8601)')
    .addHelpText('after', environmentHelp('export'))
    .action(async (options: { out: string; since?: string; until?: string }) => {
      const config = readCommonConfig(process.env);
      const logger = loggerFor('export');
      await kafkaPreflight(config, { role: 'export' }, logger);
      const summary = await exportDeliveries({
        kafka: createKafka({ ...kafkaEndpoint(config), clientId: 'runstream-export', logger }),
        topic: topicNames(config.topicPrefix).deliveries,
        logger,
        out: options.out,
        sinceMs: timeOption('--since', options.since),
        untilMs: timeOption('--until', options.until),
      });
      process.stderr.write(`export finished: ${JSON.stringify(summary)}\n`);
    });

  const topics = program
    .command('topics')
    .description('create, print or verify the Kafka topics runstream uses');
  topics
    .command('create')
    .description('create every topic with its partitions, cleanup policy and retention (idempotent)')
    .addHelpText('after', environmentHelp('topics'))
    .action(async () => {
      const config = readCommonConfig(process.env);
      const logger = loggerFor('topics');
      const kafka = createKafka({ ...kafkaEndpoint(config), clientId: 'runstream-topics', logger });
      const plan = topicPlanFor(config);
      const actions = await ensureTopics(kafka, plan, config.replicationFactor, logger);
      for (const action of actions) {
        const note =
          action.kind === 'exists' && action.differences.length > 0
            ? `  (left as it is: ${describeDifferences(action.differences)})`
            : '';
        process.stdout.write(
          `${action.kind === 'create' ? 'created' : 'exists '} ${action.spec.name}${note}\n`,
        );
      }
    });
  topics
    .command('plan')
    .description('print the topics to create, for platforms where runstream may not create them')
    .addHelpText('after', environmentHelp('topics'))
    .action(() => {
      const config = readCommonConfig(process.env);
      const plan = topicPlanFor(config);
      process.stdout.write(`${formatTopicPlan(plan, config.replicationFactor)}\n`);
    });
  topics
    .command('verify')
    .description(
      'check topics someone else created against the plan: one line per problem with its fix, non-zero exit on any',
    )
    .addHelpText('after', environmentHelp('topics'))
    .action(async () => {
      const config = readCommonConfig(process.env);
      const problems = await checkKafka(config, { role: 'topics' }, loggerFor('topics'));
      if (problems === undefined) throw new Error('Kafka did not answer: topics not verified');
      for (const problem of problems) process.stdout.write(`${formatProblem(problem)}\n`);
      if (problems.length > 0) process.exitCode = 1;
      else process.stdout.write(`ok: ${topicPlanFor(config).length} topics match the plan\n`);
    });

  program
    .command('verify')
    .description(
      're-derive every series from the retained deliveries and compare it with the live aggregates, at a consistent cut (docs/verify.md)',
    )
    .option('--json', 'print the report as JSON on stdout')
    .option('--max-differences <n>', 'differences listed (all are counted)', '20')
    .option(
      '--work-dir <path>',
      'where the temporary stores go (removed at the end; default: the OS temp dir)',
    )
    .option('--pushgateway <url>', 'push the result as runstream_verify_last_* to a Prometheus Pushgateway')
    .addHelpText(
      'after',
      `
Exit status: 0 every series compared is equal; 1 differences; 2 a bad flag or setting;
3 verify could not complete (Kafka unreachable or refusing, a read that stalled).
It reads the processors' settings: give it the same values.${environmentHelp('verify')}`,
    )
    .action(
      async (options: { json?: boolean; maxDifferences: string; workDir?: string; pushgateway?: string }) => {
        const maxDifferences = Number(options.maxDifferences);
        if (!Number.isInteger(maxDifferences) || maxDifferences < 0)
          throw new UsageError(
            '--max-differences',
            `expected a non-negative integer, got ${options.maxDifferences}`,
          );
        const config = readProcessorConfig(process.env);
        // Its stdout is the report: the log goes to stderr.
        const { logLevel, logFormat } = readCommonConfig(process.env);
        const logger = createLogger('verify', logLevel, logFormat, 'stderr');
        try {
          await kafkaPreflight(config, { role: 'export' }, logger);
          const report = await verifyPipeline({
            kafka: createKafka({ ...kafkaEndpoint(config), clientId: 'runstream-verify', logger }),
            topics: topicNames(config.topicPrefix),
            config,
            logger,
            maxDifferences,
            ...(options.workDir ? { workDir: options.workDir } : {}),
            onProgress: verifyProgress(process.stderr),
          });
          if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');
          process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : formatReport(report));
          if (options.pushgateway) await pushVerifyMetrics(options.pushgateway, report);
          process.exitCode = report.ok ? 0 : 1;
        } catch (error) {
          if (error instanceof ConfigError || error instanceof UsageError) throw error;
          process.stderr.write(
            `runstream: verify could not complete: ${describeFailure(error, identity).text}\n`,
          );
          process.exitCode = 3;
        }
      },
    );

  registerRunners(program);

  return program;
}

/** A progress line on a terminal (stderr), redrawn at most every 200 ms; nothing otherwise. */
function verifyProgress(stream: NodeJS.WriteStream): ((p: VerifyProgress) => void) | undefined {
  if (!stream.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < 200) return;
    last = now;
    const line =
      p.phase === 'cut'
        ? 'verify: reading the live aggregates'
        : `verify: recomputed ${p.done} of ${p.total} deliveries (${p.total > 0 ? ((p.done / p.total) * 100).toFixed(1) : '100.0'}%)`;
    stream.write(`\r${line}\u001b[K`);
  };
}

/** The Kafka principal for error lines; a configuration too broken to tell gets a plain name. */
function identity(): string {
  try {
    return readCommonConfig(process.env).security.identity;
  } catch {
    return 'this client';
  }
}

export async function main(argv: string[]): Promise<void> {
  const program = buildCli();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    const failure = describeFailure(error, identity);
    process.stderr.write(`runstream: ${failure.text}\n`);
    if (/^(debug|trace)$/.test(process.env.RUNSTREAM_LOG_LEVEL?.trim() ?? '') && error instanceof Error) {
      process.stderr.write(`${error.stack}\n`);
    }
    process.exitCode = failure.exitCode;
  }
}
