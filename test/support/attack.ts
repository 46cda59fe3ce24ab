// The hostile clients of issue 24, on loopback, for the attack test and its benchmark:
// bodies announced big, sent almost whole, then stalled; request headers sent one byte
// at a time; connections that send nothing. Each kind keeps its number of connections
// open until the attack ends (a closed one is reopened after a pause), and every
// connection's life is recorded from the client side: when it connected, when it
// closed, the status the server answered, and whether the client closed it (only the
// final cleanup does).
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { root } from './deploy-contract.js';
import { examples, signedRequest } from './webhooks.js';

export type HostileKind = 'stalled_body' | 'slow_headers' | 'idle';

export interface HostileConnection {
  kind: HostileKind;
  connectedAt?: number;
  closedAt?: number;
  /** The status of the server's answer, if one arrived. */
  status?: number;
  /** Closed by the client (the cleanup), not by the server. */
  closedByClient: boolean;
}

export interface AttackPlan {
  port: number;
  /** Connections announcing `announcedBytes`, sending `sentBytes` at once, then stalling. */
  stalledBodies: number;
  announcedBytes: number;
  sentBytes: number;
  /** Connections sending their request headers one byte every `slowByteMs`. */
  slowHeaders: number;
  slowByteMs: number;
  /** Connections that send nothing. */
  idle: number;
  /** Pause before a closed connection is replaced. */
  reopenMs: number;
  /** An X-GitHub-Event header value of the attacker's choosing (for the log checks). */
  eventHeader: string;
}

const SLOW_HEAD = Buffer.from(
  'POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-GitHub-Event: workflow_job\r\n',
);

export class Attack {
  readonly connections: HostileConnection[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = true;
  private readonly body: Buffer;

  constructor(private readonly plan: AttackPlan) {
    this.body = Buffer.alloc(plan.sentBytes, 0x20);
  }

  /** Opens every connection, a batch every few milliseconds (as the listen backlog allows). */
  async start(): Promise<void> {
    const kinds: HostileKind[] = [
      ...Array<HostileKind>(this.plan.stalledBodies).fill('stalled_body'),
      ...Array<HostileKind>(this.plan.slowHeaders).fill('slow_headers'),
      ...Array<HostileKind>(this.plan.idle).fill('idle'),
    ];
    for (let i = 0; i < kinds.length; i += 50) {
      for (const kind of kinds.slice(i, i + 50)) this.open(kind);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops reopening; connections still open stay open (for the server to close). */
  stopReopening(): void {
    this.running = false;
  }

  open(kind: HostileKind): void {
    if (!this.running) return;
    const record: HostileConnection = { kind, closedByClient: false };
    this.connections.push(record);
    const socket = connect({ host: '127.0.0.1', port: this.plan.port });
    this.sockets.add(socket);
    let answer = '';
    let drip: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      record.connectedAt = Date.now();
      if (kind === 'stalled_body') {
        socket.write(
          'POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            `X-GitHub-Event: ${this.plan.eventHeader}\r\nX-GitHub-Delivery: ${randomUUID()}\r\n` +
            `X-Hub-Signature-256: sha256=${'0'.repeat(64)}\r\nContent-Length: ${this.plan.announcedBytes}\r\n\r\n`,
        );
        socket.write(this.body);
      } else if (kind === 'slow_headers') {
        let sent = 0;
        drip = setInterval(() => {
          socket.write(SLOW_HEAD.subarray(sent % SLOW_HEAD.length, (sent % SLOW_HEAD.length) + 1));
          sent += 1;
        }, this.plan.slowByteMs);
        this.timers.add(drip);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      if (record.status !== undefined) return;
      answer += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (match) record.status = Number(match[1]);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      record.closedAt = Date.now();
      this.sockets.delete(socket);
      if (drip) {
        clearInterval(drip);
        this.timers.delete(drip);
      }
      if (this.running) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.open(kind);
        }, this.plan.reopenMs);
        this.timers.add(timer);
      }
    });
  }

  /** Connections still open. */
  get openCount(): number {
    return this.sockets.size;
  }

  /** Closes whatever is still open (marking it closed by the client) and every timer. */
  destroy(): void {
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const record of this.connections) if (record.closedAt === undefined) record.closedByClient = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

export interface ValidDelivery {
  id: string;
  sentAt: number;
  status: number;
  latencyMs: number;
}

/**
 * POSTs a real signed workflow_job delivery every `everyMs` until `until()` says stop,
 * each answer awaited at most `timeoutMs` (status 0 when none came).
 */
export async function deliverSteadily(
  url: string,
  secret: string,
  everyMs: number,
  timeoutMs: number,
  until: () => boolean,
): Promise<ValidDelivery[]> {
  const payloads = examples('workflow_job');
  const sent: Array<Promise<ValidDelivery>> = [];
  for (let i = 0; !until(); i++) {
    const request = await signedRequest('workflow_job', payloads[i % payloads.length], secret);
    const id = request.headers['x-github-delivery']!;
    const sentAt = Date.now();
    sent.push(
      fetch(url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(timeoutMs),
      }).then(
        async (response) => {
          await response.arrayBuffer();
          return { id, sentAt, status: response.status, latencyMs: Date.now() - sentAt };
        },
        () => ({ id, sentAt, status: 0, latencyMs: Date.now() - sentAt }),
      ),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, sentAt + everyMs - Date.now())));
  }
  return Promise.all(sent);
}

/** Samples a process's resident memory (MiB) from /proc until stopped; `peakMiB` is the kernel's high-water mark. */
export class RssSampler {
  readonly samples: Array<{ at: number; rssMiB: number }> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    everyMs = 250,
  ) {
    this.timer = setInterval(() => {
      void this.read().then(
        ({ rssMiB }) => this.samples.push({ at: Date.now(), rssMiB }),
        () => undefined,
      );
    }, everyMs);
  }

  async read(): Promise<{ rssMiB: number; peakMiB: number }> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** What the attacker process is asked: the plan, how long to attack, how long to wait for the server's closes. */
export interface AttackRun {
  plan: AttackPlan;
  attackMs: number;
  drainMs: number;
}

/** The argument the attacker process is forked with; importing this file does nothing else. */
const ATTACKER_FLAG = '--runstream-attacker';

/**
 * Runs an attack in a process of its own, so that the attacker's work does not share an
 * event loop (or a process's CPU time) with the test that measures the server: it
 * attacks for `attackMs`, stops reopening, waits at most `drainMs` for the server to
 * close what is still open, then closes the rest itself and reports every connection.
 */
export class AttackerProcess {
  private readonly child: ChildProcess;
  readonly result: Promise<HostileConnection[]>;

  constructor(run: AttackRun) {
    this.child = fork(fileURLToPath(import.meta.url), [ATTACKER_FLAG], {
      cwd: root,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.result = new Promise((resolve, reject) => {
      this.child.once('message', (connections: HostileConnection[]) => resolve(connections));
      this.child.once('exit', (code) => reject(new Error(`attacker exited (${code}) without a report`)));
    });
    this.child.send(run);
  }

  /** Ends the attacker if it still runs (by its pid). */
  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

const MiB = 1024 * 1024;

/**
 * The attack issue 24 measured, on ingest's `port`: 16 connections announcing 24 MiB,
 * sending 23 MiB and stalling; 200 sending a header byte every `slowByteMs`; 500
 * sending nothing; each replaced a second after it is closed.
 */
export function issueAttack(port: number, eventHeader: string, slowByteMs = 5_000): AttackPlan {
  return {
    port,
    stalledBodies: 16,
    announcedBytes: 24 * MiB,
    sentBytes: 23 * MiB,
    slowHeaders: 200,
    slowByteMs,
    idle: 500,
    reopenMs: 1_000,
    eventHeader,
  };
}

export interface AttackOutcome {
  /** Ingest's memory before the attack, and at its end (with the high-water mark). */
  before: { rssMiB: number; peakMiB: number };
  after: { rssMiB: number; peakMiB: number };
  answered: ValidDelivery[];
  connections: HostileConnection[];
}

/**
 * Runs `run` from an attacker process while one signed delivery a second goes to the
 * ingest (`pid`) on the plan's port, each answer awaited at most `answerTimeoutMs`, and
 * samples its memory throughout. `onAttacker` hears the attacker, for a teardown to stop.
 */
export async function attackWhileDelivering(options: {
  pid: number;
  secret: string;
  run: AttackRun;
  answerTimeoutMs: number;
  onAttacker(attacker: AttackerProcess): void;
}): Promise<AttackOutcome> {
  const { run } = options;
  const rss = new RssSampler(options.pid);
  try {
    const before = await rss.read();
    const attacker = new AttackerProcess(run);
    options.onAttacker(attacker);
    const started = Date.now();
    const answered = await deliverSteadily(
      `http://127.0.0.1:${run.plan.port}/webhook`,
      options.secret,
      1_000,
      options.answerTimeoutMs,
      () => Date.now() - started > run.attackMs,
    );
    const connections = await attacker.result;
    rss.stop();
    return { before, after: await rss.read(), answered, connections };
  } finally {
    rss.stop();
  }
}

if (process.argv.includes(ATTACKER_FLAG)) {
  process.once('message', async (run: AttackRun) => {
    const attack = new Attack(run.plan);
    const startedAt = Date.now();
    await attack.start();
    await new Promise((r) => setTimeout(r, Math.max(0, startedAt + run.attackMs - Date.now())));
    attack.stopReopening();
    const drainBy = Date.now() + run.drainMs;
    while (attack.openCount > 0 && Date.now() < drainBy) await new Promise((r) => setTimeout(r, 100));
    attack.destroy();
    process.send?.(attack.connections, () => process.disconnect?.());
  });
}
