// The real CLI (`runstream <command>`, from the sources through tsx, or the build the
// package installs) as a child process: started with an environment of the test's
// choosing, waited for on HTTP, and stopped by its pid (SIGTERM, then SIGKILL after a
// grace period).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './deploy-contract.js';

/** The folders compiled into dist/ (tsconfig.build.json). */
const SOURCES = ['cli', 'demo', 'exporter', 'github', 'ingest', 'platform', 'processor', 'replay', 'schemas'];

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Compiles dist/ (as `npm run build`) unless it is newer than every source: a test of
 * the built CLI then runs the code under test, not an older build.
 */
export function ensureBuilt(): void {
  const built = join(root, 'dist', 'cli', 'run.js');
  let builtMs = 0;
  try {
    builtMs = statSync(built).mtimeMs;
  } catch {}
  if (builtMs > Math.max(...SOURCES.map((dir) => newestSourceMs(join(root, dir))))) return;
  const result = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stdout}${result.stderr}`);
}

export interface CliProcess {
  child: ChildProcess;
  /** The last lines it wrote to stderr (its log), for failure messages. */
  log(): string;
  /** Resolves with the exit code once it has exited by itself. */
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

export interface CliOptions {
  /** Run the build (bin/runstream.js, as installed; see ensureBuilt) rather than the sources through tsx. */
  built?: boolean;
}

export function startCli(
  args: readonly string[],
  env: Record<string, string>,
  options: CliOptions = {},
): CliProcess {
  const entry = options.built
    ? [join(root, 'bin', 'runstream.js')]
    : ['--import', 'tsx', join(root, 'cli', 'run.ts')];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    log: () => log,
    exited: () => exit,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 35_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Polls `probe` until it returns a value; throws with `what` (and `detail()`) on timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  detail: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${detail() ? `\n${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Resolves once GET `url` answers 200. */
export async function waitForHttp(url: string, timeoutMs: number, detail?: () => string): Promise<void> {
  await waitFor(url, async () => ((await fetch(url)).ok ? true : undefined), timeoutMs, detail);
}

/** pino's levels, as a process's log lines carry them. */
export const WARN = 40;
export const ERROR = 50;

/** Every line a process writes, stdout and stderr, from its first. */
export function allLines(process: CliProcess): () => string[] {
  let text = '';
  const keep = (chunk: Buffer) => {
    text += chunk.toString();
  };
  process.child.stdout?.on('data', keep);
  process.child.stderr?.on('data', keep);
  return () => text.split('\n').filter((line) => line.trim() !== '');
}

/** A line's level: pino's number, or error for a line that is not a log record (a stack, a Node warning). */
export function levelOf(line: string): number {
  try {
    const record = JSON.parse(line) as { level?: unknown };
    return typeof record.level === 'number' ? record.level : ERROR;
  } catch {
    return ERROR;
  }
}
