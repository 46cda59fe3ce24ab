// The runstream processes of one fault scenario, each a real `runstream <role>` child
// process (from the TypeScript sources, so the suite tests the working tree), with its
// output in a log file of the scenario's run directory. Started, SIGKILLed, stopped and
// restarted by pid; every process is stopped when the scenario ends, pass or fail.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../support/broker.js';
import { sourceTree, treeChange } from './source-tree.js';

const root = join(import.meta.dirname, '..', '..');
/** The sources as the suite loaded them, with its oracle and stream (source-tree.ts). */
const loadedTree = sourceTree(root);

export type Role = 'ingest' | 'processor' | 'exporter';

const PORT_VARIABLE: Record<Role, string> = {
  ingest: 'RUNSTREAM_INGEST_PORT',
  processor: 'RUNSTREAM_PROCESSOR_PORT',
  exporter: 'RUNSTREAM_EXPORTER_PORT',
};

export interface RoleProcess {
  name: string;
  role: Role;
  port: number;
  child: ChildProcess;
  /** Resolves when the process has exited (with the code or signal). */
  exited: Promise<string>;
}

export interface FleetOptions {
  brokers: string[];
  prefix: string;
  runDir: string;
  secret: string;
  /** Extra environment for every process. */
  env?: Record<string, string>;
  /** Extra environment for every process of a role (a scenario's processor settings). */
  roleEnv?: Partial<Record<Role, Record<string, string>>>;
}

export class Fleet {
  private readonly processes = new Map<string, RoleProcess>();
  private readonly logs = new Map<string, WriteStream>();
  /** Process lifecycle events, for the scenario's report. */
  readonly events: string[] = [];
  private readonly started = Date.now();

  constructor(private readonly options: FleetOptions) {}

  /** Adds an event: seconds since the fleet started, and the clock (to find it in the logs). */
  note(text: string): void {
    const now = new Date();
    this.events.push(
      `${((now.getTime() - this.started) / 1000).toFixed(1)}s (${now.toISOString().slice(11, 23)}) ${text}`,
    );
  }

  stateDir(name: string): string {
    return join(this.options.runDir, 'state', name);
  }

  logFile(name: string): string {
    return join(this.options.runDir, `${name}.log`);
  }

  get(name: string): RoleProcess {
    const p = this.processes.get(name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  }

  running(role: Role): RoleProcess[] {
    return [...this.processes.values()].filter(
      (p) => p.role === role && p.child.exitCode === null && p.child.signalCode === null,
    );
  }

  /** `env` adds to the fleet's environment for this process (its own Kafka principal). */
  async start(name: string, role: Role, env: Record<string, string> = {}): Promise<RoleProcess> {
    const existing = this.processes.get(name);
    if (existing && existing.child.exitCode === null && existing.child.signalCode === null) {
      throw new Error(`${name} is already running`);
    }
    const change = treeChange(loadedTree, sourceTree(root));
    if (change) {
      throw new Error(
        `${name} not started: the source tree at ${root} changed since the suite loaded its oracle: ${change}; ` +
          'a role started now would run other code than the suite judges it by. Run the suite on a tree nobody changes meanwhile (a worktree of its own)',
      );
    }
    await mkdir(this.options.runDir, { recursive: true });
    const port = existing?.port ?? (await freePort());
    let log = this.logs.get(name);
    if (!log) {
      log = createWriteStream(this.logFile(name), { flags: 'a' });
      this.logs.set(name, log);
    }
    log.write(`\n==== start ${name} (${role}) at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'cli', 'run.ts'), role], {
      cwd: root,
      env: {
        ...process.env,
        KAFKA_BROKERS: this.options.brokers.join(','),
        RUNSTREAM_TOPIC_PREFIX: this.options.prefix,
        RUNSTREAM_HOST: '127.0.0.1',
        [PORT_VARIABLE[role]]: String(port),
        RUNSTREAM_STATE_DIR: this.stateDir(name),
        RUNSTREAM_WEBHOOK_SECRET: this.options.secret,
        RUNSTREAM_LOG_LEVEL: process.env.RUNSTREAM_FAULT_LOG_LEVEL ?? 'info',
        ...this.options.env,
        ...this.options.roleEnv?.[role],
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => {
        this.note(`${name} exited (${signal ?? code})`);
        resolve(String(signal ?? code));
      });
    });
    const process_: RoleProcess = { name, role, port, child, exited };
    this.processes.set(name, process_);
    this.note(`${name} started (pid ${child.pid})`);
    await this.waitAlive(process_);
    return process_;
  }

  /** Until /healthz answers: the process is up and listening. */
  private async waitAlive(p: RoleProcess, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) {
        throw new Error(`${p.name} exited during start; see ${this.logFile(p.name)}`);
      }
      try {
        const response = await fetch(`http://127.0.0.1:${p.port}/healthz`, {
          signal: AbortSignal.timeout(1000),
        });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${p.name} not alive within ${timeoutMs} ms; see ${this.logFile(p.name)}`);
  }

  /** SIGKILL, and wait for the exit. */
  async kill(name: string): Promise<void> {
    const p = this.get(name);
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    this.note(`SIGKILL ${name}`);
    p.child.kill('SIGKILL');
    await p.exited;
  }

  /** SIGTERM (a graceful stop), SIGKILL after the grace period. */
  async stop(name: string, graceMs = 30_000): Promise<void> {
    const p = this.get(name);
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    this.note(`SIGTERM ${name}`);
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
    await p.exited;
    clearTimeout(timer);
  }

  /** A processor pod rescheduled without its volume. */
  async wipeState(name: string): Promise<void> {
    this.note(`wiped the state directory of ${name}`);
    await rm(this.stateDir(name), { recursive: true, force: true });
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...this.processes.keys()].map((name) => this.stop(name, 10_000).catch(() => undefined)),
    );
    for (const log of this.logs.values()) log.end();
    this.logs.clear();
  }
}
