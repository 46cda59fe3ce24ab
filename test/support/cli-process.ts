// The real CLI (`runstream <command>`, from the sources through tsx) as a child
// process: started with an environment of the test's choosing, waited for on HTTP,
// and stopped by its pid (SIGTERM, then SIGKILL after a grace period).
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { root } from './deploy-contract.js';

export interface CliProcess {
  child: ChildProcess;
  /** The last lines it wrote to stderr (its log), for failure messages. */
  log(): string;
  /** Resolves with the exit code once it has exited by itself. */
  exited(): Promise<number | null>;
  stop(): Promise<void>;
}

export function startCli(args: readonly string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli', 'run.ts'), ...args], {
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
