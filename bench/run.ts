// `npm run bench [-- <name>...]`: runs the registered benchmarks in sequence against a
// real broker and prints their figures as Markdown; writes them to
// bench/results/latest.json. Each benchmark runs in its own forked process, so memory
// figures (RSS) are its own and not what an earlier benchmark left on the heap. The broker is KAFKA_BROKERS when set; otherwise one is
// started from the jars exactly as the integration tests do (temp KAFKA_HOME_DIR,
// free ports, scripts/kafka.sh) and always stopped by the script, also on SIGINT.
import { execFile, fork, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLogger, type Logger } from '../platform/log.js';
import { freePort } from '../test/support/broker.js';
import { runExporterBench } from './exporter.js';
import { runFreshnessBench } from './freshness.js';
import { runGithubBench } from './github.js';
import { runIngestBench } from './ingest.js';
import { runIngestAttackBench } from './ingest-attack.js';
import { runProcessorBench } from './processor.js';
import { runReplayBench } from './replay.js';
import type { Benchmark, Figures } from './types.js';
import { runVerifyBench } from './verify.js';

// Registered benchmarks, run in this order. Add yours with one line.
const benchmarks: Benchmark[] = [
  { name: 'ingest', run: runIngestBench },
  { name: 'ingest-attack', run: runIngestAttackBench },
  { name: 'github', run: () => runGithubBench() },
  { name: 'replay', run: runReplayBench },
  { name: 'processor', run: runProcessorBench },
  { name: 'exporter', run: runExporterBench },
  { name: 'freshness', run: runFreshnessBench },
  { name: 'verify', run: runVerifyBench },
];

// kafkajs' one-time partitioner notice is noise in a benchmark's output.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

const execFileAsync = promisify(execFile);
const root = join(import.meta.dirname, '..');
const script = join(root, 'scripts', 'kafka.sh');
const resultsFile = join(root, 'bench', 'results', 'latest.json');

interface Broker {
  brokers: string[];
  description: string;
  /** Idempotent; waits for a start in progress first, so a signal mid-start still stops it. */
  stop(): Promise<void>;
}

async function ownBroker(logger: Logger): Promise<Broker> {
  const home = await mkdtemp(join(tmpdir(), 'runstream-bench-kafka-'));
  const port = await freePort();
  const env = {
    ...process.env,
    KAFKA_HOME_DIR: home,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
  };
  // A guard outside our process group stops the broker (by the script) and removes its
  // directory when our stdin pipe to it closes: also when this process is killed
  // outright, as tsx does to a child that is too busy to acknowledge Ctrl-C in 30 ms.
  const guard = spawn(
    'bash',
    ['-c', 'read -r _ || true; bash "$0" stop >/dev/null 2>&1; rm -rf "$1"', script, home],
    {
      env,
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  const guardExited = new Promise<void>((resolve) => guard.once('exit', () => resolve()));
  let starting: Promise<unknown> = Promise.resolve();
  let stopped: Promise<void> | undefined;
  const broker: Broker = {
    brokers: [`127.0.0.1:${port}`],
    description: `own Kafka 3.9 from jars on 127.0.0.1:${port}`,
    stop() {
      stopped ??= (async () => {
        await starting.catch(() => undefined);
        try {
          const { stdout } = await execFileAsync('bash', [script, 'stop'], { env, timeout: 60_000 });
          process.stderr.write(stdout);
          await rm(home, { recursive: true, force: true });
        } catch (error) {
          logger.error({ err: error, home }, 'stopping the bench broker failed; its guard retries');
        }
        // Closing the pipe lets the guard run (a no-op stop when we stopped it) and exit.
        guard.stdin?.end();
        await guardExited;
      })();
      return stopped;
    },
  };
  activeBroker = broker;
  starting = execFileAsync('bash', [script, 'start'], { env, timeout: 180_000 });
  const { stdout } = (await starting) as { stdout: string };
  process.stderr.write(stdout);
  return broker;
}

let activeBroker: Broker | undefined;
let stopping = false;

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    process.stderr.write(`bench: ${signal} again; still stopping the broker\n`);
    return;
  }
  stopping = true;
  process.stderr.write(`bench: ${signal}; stopping the broker\n`);
  activeChild?.kill(signal);
  void (activeBroker?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
}

function cell(value: number | string): string {
  return String(value).replaceAll('|', '\\|');
}

function markdown(name: string, figures: Figures): string {
  const rows = Object.entries(figures).map(([key, value]) => `| ${key} | ${cell(value)} |`);
  return [`### ${name}`, '', '| figure | value |', '|---|---|', ...rows, ''].join('\n');
}

/** The flag a benchmark's own process is forked with, followed by its name. */
const CHILD_FLAG = '--runstream-bench-child';

type ChildReply = { type: 'figures'; figures: Figures } | { type: 'error'; message: string };

/** Runs one benchmark in a forked process against the given broker. */
function runInChild(name: string, brokers: string[]): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const child = fork(import.meta.filename, [CHILD_FLAG, name], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      env: { ...process.env, KAFKA_BROKERS: brokers.join(',') },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    activeChild = child;
    let reply: ChildReply | undefined;
    child.once('message', (message: ChildReply) => {
      reply = message;
    });
    child.once('exit', (code, signal) => {
      activeChild = undefined;
      if (reply?.type === 'figures') resolve(reply.figures);
      else if (reply?.type === 'error') reject(new Error(reply.message));
      else reject(new Error(`benchmark ${name} exited without figures (code ${code}, signal ${signal})`));
    });
  });
}

/** In a forked process: run the one benchmark, send its figures, exit. */
async function child(name: string): Promise<void> {
  const bench = benchmarks.find((b) => b.name === name);
  const send = (reply: ChildReply) =>
    new Promise<void>((resolve) => process.send?.(reply, () => resolve()) ?? resolve());
  // The parent owns the broker and stops it on a signal; this process just ends.
  process.on('SIGINT', () => process.exit(130));
  try {
    if (!bench) throw new Error(`unknown benchmark ${name}`);
    const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter((b) => b !== '');
    const logger = createLogger('bench', process.env.RUNSTREAM_LOG_LEVEL ?? 'warn');
    await send({ type: 'figures', figures: await bench.run({ brokers, logger }) });
  } catch (error) {
    await send({ type: 'error', message: (error as Error).stack ?? String(error) });
  }
  process.disconnect?.();
  // A benchmark may leave timers or sockets of a failed run behind; they are not ours to wait for.
  process.exit(0);
}

let activeChild: ReturnType<typeof fork> | undefined;

async function main(argv: string[]): Promise<number> {
  const wanted = argv.filter((a) => a !== '--');
  const unknown = wanted.filter((name) => !benchmarks.some((b) => b.name === name));
  if (unknown.length > 0) {
    process.stderr.write(
      `bench: unknown benchmark ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}\n`,
    );
    return 2;
  }
  const selected = wanted.length === 0 ? benchmarks : benchmarks.filter((b) => wanted.includes(b.name));
  const logger = createLogger('bench', process.env.RUNSTREAM_LOG_LEVEL ?? 'warn');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const given = process.env.KAFKA_BROKERS?.trim();
  const results: Record<string, Figures> = {};
  const failed: Record<string, string> = {};
  let broker: Broker | undefined;
  try {
    broker = given
      ? { brokers: given.split(','), description: `KAFKA_BROKERS=${given}`, stop: async () => {} }
      : await ownBroker(logger);
    for (const bench of selected) {
      process.stderr.write(`bench: running ${bench.name}\n`);
      const started = performance.now();
      try {
        results[bench.name] = await runInChild(bench.name, broker.brokers);
      } catch (error) {
        failed[bench.name] = (error as Error).stack ?? String(error);
        logger.error({ err: error, bench: bench.name }, 'benchmark failed');
      }
      process.stderr.write(
        `bench: ${bench.name} took ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
      );
    }
  } finally {
    await (activeBroker ?? broker)?.stop();
  }

  const header = `## runstream benchmarks (${new Date().toISOString()}, node ${process.versions.node}, ${cpus().length} cores, ${broker.description})\n`;
  process.stdout.write(`\n${header}\n`);
  for (const [name, figures] of Object.entries(results)) process.stdout.write(`${markdown(name, figures)}\n`);
  for (const [name, error] of Object.entries(failed))
    process.stdout.write(`### ${name}\n\nFAILED: ${error}\n\n`);

  await mkdir(join(root, 'bench', 'results'), { recursive: true });
  await writeFile(
    resultsFile,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.versions.node,
        cores: cpus().length,
        broker: broker.description,
        results,
        failed,
      },
      null,
      2,
    )}\n`,
  );
  process.stderr.write(`bench: wrote ${resultsFile}\n`);
  return Object.keys(failed).length > 0 ? 1 : 0;
}

const childAt = process.argv.indexOf(CHILD_FLAG);
if (childAt >= 0) void child(process.argv[childAt + 1] ?? '');
else
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
