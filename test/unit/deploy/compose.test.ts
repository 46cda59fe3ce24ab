// docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so they are
// checked against the code instead: every runstream service runs a real CLI command,
// sets only variables the code reads, processors keep separate state, Prometheus
// scrapes real services, and the image's entrypoint is the package's bin.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCli } from '../../../cli/main.js';

const root = join(import.meta.dirname, '..', '..', '..');
const SOURCE_DIRS = ['platform', 'ingest', 'processor', 'exporter', 'github', 'replay', 'cli'];
const VARIABLE = /\b(RUNSTREAM_[A-Z_]+|KAFKA_BROKERS)\b/g;
/** What compose may set on a runstream service and the code must read. */
const OURS = /^(RUNSTREAM_|KAFKA_)/;

type Service = Record<string, unknown>;

function read(path: string): string {
  return readFileSync(join(root, path), 'utf8');
}

function parseCompose(text: string): Record<string, Service> {
  const doc = parse(text, { merge: true }) as { services?: Record<string, Service> };
  return doc.services ?? {};
}

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' });
  } catch {
    return []; // a folder not written yet
  }
  return entries.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => join(dir, f));
}

/** Variable names in the string literals (and `env.X` reads) of one TypeScript source. */
function variablesIn(source: string, fileName = 'source.ts'): Set<string> {
  const found = new Set<string>();
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const add = (text: string) => {
    for (const match of text.matchAll(VARIABLE)) found.add(match[1]!);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) add(node.text);
    else if (ts.isPropertyAccessExpression(node) && /(^|\.)env$/.test(node.expression.getText(file))) {
      add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function variablesReadByCode(): Set<string> {
  const names = new Set<string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(dir)) for (const name of variablesIn(read(file), file)) names.add(name);
  }
  return names;
}

function isRunstream(service: Service): boolean {
  return service.build !== undefined || String(service.image ?? '').startsWith('runstream');
}

function commandOf(service: Service): string[] {
  const command = service.command;
  if (Array.isArray(command)) return command.map(String);
  if (typeof command === 'string') return command.split(/\s+/).filter((t) => t !== '');
  return [];
}

function environmentOf(service: Service): Map<string, string> {
  const env = service.environment;
  const result = new Map<string, string>();
  if (Array.isArray(env)) {
    for (const entry of env.map(String)) {
      const eq = entry.indexOf('=');
      result.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
    }
  } else if (env && typeof env === 'object') {
    for (const [key, value] of Object.entries(env)) result.set(key, value == null ? '' : String(value));
  }
  return result;
}

/** Problems with `args` as a command line of the CLI (empty when it is a runnable command). */
function commandProblems(program: Command, args: readonly string[]): string[] {
  let command = program;
  let i = 0;
  for (; i < args.length && !args[i]!.startsWith('-'); i += 1) {
    const token = args[i]!;
    const sub = command.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (!sub) {
      const known = command.commands.map((c) => c.name()).join(', ');
      return [`"${token}" is not a command of "${command.name()}" (known: ${known})`];
    }
    command = sub;
  }
  const problems: string[] = [];
  if (command === program) problems.push('no command given');
  else if (command.commands.length > 0) {
    problems.push(
      `"${command.name()}" needs a subcommand (${command.commands.map((c) => c.name()).join(', ')})`,
    );
  }
  for (const token of args.slice(i)) {
    if (!token.startsWith('-')) continue; // an option's value
    const flag = token.split('=')[0]!;
    const known =
      flag === '--help' || flag === '-h' || command.options.some((o) => o.long === flag || o.short === flag);
    if (!known) problems.push(`"${flag}" is not an option of "${command.name()}"`);
  }
  return problems;
}

/** Every problem of the runstream services of a compose file, as readable lines. */
function composeProblems(services: Record<string, Service>, program: Command, read: Set<string>): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (!isRunstream(service)) continue;
    for (const problem of commandProblems(program, commandOf(service))) problems.push(`${name}: ${problem}`);
    for (const variable of environmentOf(service).keys()) {
      if (OURS.test(variable) && !read.has(variable)) {
        problems.push(`${name}: sets ${variable}, which no code reads`);
      }
    }
  }
  return problems;
}

/** The exec-form ENTRYPOINT of the Dockerfile's final stage. */
function entrypointOf(dockerfile: string): unknown {
  const lines = dockerfile.split('\n').filter((l) => /^\s*ENTRYPOINT\s/i.test(l));
  const last = lines.at(-1);
  if (!last) return undefined;
  const form = last.replace(/^\s*ENTRYPOINT\s+/i, '').trim();
  try {
    return JSON.parse(form) as unknown;
  } catch {
    return form; // shell form: never equal to the exec form below
  }
}

const services = parseCompose(read('docker-compose.yml'));
const runstream = Object.entries(services).filter(([, s]) => isRunstream(s));
const byCommand = (command: string) => runstream.filter(([, s]) => commandOf(s)[0] === command);

describe('docker-compose.yml', () => {
  it('runs every role twice, and the topics once, from the project image', () => {
    expect(byCommand('ingest')).toHaveLength(2);
    expect(byCommand('processor')).toHaveLength(2);
    expect(byCommand('exporter')).toHaveLength(2);
    expect(byCommand('topics').map(([, s]) => commandOf(s))).toEqual([['topics', 'create']]);
    expect(services.kafka?.image).toBe('apache/kafka:3.9.1');
  });

  it('uses only real CLI commands and variables the code reads', () => {
    const names = variablesReadByCode();
    expect(names).toContain('KAFKA_BROKERS');
    expect(names).toContain('RUNSTREAM_WEBHOOK_SECRET');
    expect(composeProblems(services, buildCli(), names)).toEqual([]);
  });

  it('gives every processor its own state volume at RUNSTREAM_STATE_DIR', () => {
    const volumes = new Set<string>();
    for (const [name, service] of byCommand('processor')) {
      const dir = environmentOf(service).get('RUNSTREAM_STATE_DIR');
      expect(dir, `${name} RUNSTREAM_STATE_DIR`).toMatch(/^\//);
      const mount = ((service.volumes ?? []) as unknown[]).map(String).find((v) => v.split(':')[1] === dir);
      expect(mount, `${name} mounts a volume at ${dir}`).toBeDefined();
      volumes.add(mount!.split(':')[0]!);
    }
    expect(volumes.size).toBe(byCommand('processor').length);
  });

  it('points Prometheus at the exporters on the port they serve', () => {
    const config = parse(read('deploy/prometheus/prometheus.yml')) as {
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = config.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    const exporters = byCommand('exporter');
    for (const [name, service] of exporters) {
      const port = environmentOf(service).get('RUNSTREAM_EXPORTER_PORT') ?? '9464';
      expect(targets).toContain(`${name}:${port}`);
    }
    const defaults: Record<string, [string, string]> = {
      ingest: ['RUNSTREAM_INGEST_PORT', '8080'],
      processor: ['RUNSTREAM_PROCESSOR_PORT', '9400'],
      exporter: ['RUNSTREAM_EXPORTER_PORT', '9464'],
    };
    for (const target of targets) {
      const [host, port] = target.split(':');
      const service = services[host!];
      expect(service, `${target} is a compose service`).toBeDefined();
      const [variable, fallback] = defaults[commandOf(service!)[0] ?? ''] ?? ['', ''];
      expect(port, `${target} is the port its role serves`).toBe(
        environmentOf(service!).get(variable) ?? fallback,
      );
    }
  });

  it('finds a misspelt variable, an unknown command or option, and a missing subcommand', () => {
    const program = buildCli();
    const read = new Set(['KAFKA_BROKERS', 'RUNSTREAM_INGEST_PORT']);
    const bad = parseCompose(`
services:
  a: { build: ., command: ["ingest"], environment: { RUNSTREAM_INGEST_PROT: "8080", KAFKA_BROKER: "k:9092" } }
  b: { image: runstream:dev, command: processer }
  c: { image: runstream:dev, command: ["topics"] }
  d: { image: runstream:dev, command: ["ingest", "--prot", "1"] }
  e: { image: runstream:dev }
  kafka: { image: apache/kafka:3.9.1, environment: { KAFKA_NODE_ID: 1 } }
`);
    const problems = composeProblems(bad, program, read);
    expect(problems).toEqual([
      'a: sets RUNSTREAM_INGEST_PROT, which no code reads',
      'a: sets KAFKA_BROKER, which no code reads',
      expect.stringMatching(/^b: "processer" is not a command of "runstream"/),
      expect.stringMatching(/^c: "topics" needs a subcommand \(create, plan\)/),
      'd: "--prot" is not an option of "ingest"',
      'e: no command given',
    ]);
  });

  it('collects names from string literals and env reads, not from comments', () => {
    const names = variablesIn(`
// RUNSTREAM_IN_A_COMMENT is not read
const a = readInt(env, 'RUNSTREAM_A', 1);
const b = process.env.RUNSTREAM_B ?? \`\${x} RUNSTREAM_C\`;
const other = config.RUNSTREAM_NOT_ENV;
`);
    expect([...names].sort()).toEqual(['RUNSTREAM_A', 'RUNSTREAM_B', 'RUNSTREAM_C']);
  });
});

describe('Dockerfile', () => {
  it("runs the package's bin, which loads the built CLI entry", () => {
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
    const bin = pkg.bin.runstream;
    expect(bin).toBeDefined();
    expect(entrypointOf(read('Dockerfile'))).toEqual(['node', bin]);
    expect(read(bin!)).toContain("'../dist/cli/run.js'");
    expect(read('cli/run.ts')).toContain('await main(process.argv)');
  });

  it('finds an entrypoint other than the bin', () => {
    expect(entrypointOf('FROM x\nENTRYPOINT ["node", "dist/cli/main.js"]\n')).not.toEqual([
      'node',
      'bin/runstream.js',
    ]);
    expect(entrypointOf('FROM x\nENTRYPOINT node bin/runstream.js\n')).not.toEqual([
      'node',
      'bin/runstream.js',
    ]);
  });
});
