// What a deployment artefact (docker-compose.yml, the Kubernetes pack) may ask of
// runstream, checked against the code itself: the CLI's command tree, the variables
// the sources read, and the ports the roles' own configuration readers derive.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import ts from 'typescript';
import { readExporterConfig } from '../../exporter/main.js';
import { readIngestConfig } from '../../ingest/main.js';
import type { Env } from '../../platform/config.js';
import { readProcessorConfig } from '../../processor/main.js';

export const root = join(import.meta.dirname, '..', '..');
const SOURCE_DIRS = ['platform', 'ingest', 'processor', 'exporter', 'github', 'replay', 'cli'];
const VARIABLE = /\b(RUNSTREAM_[A-Z_]+|KAFKA_[A-Z_]+)\b/g;
/** What a deployment may set for a runstream container, and the code must read. */
export const OURS = /^(RUNSTREAM_|KAFKA_)/;

export function readRepoFile(path: string): string {
  return readFileSync(join(root, path), 'utf8');
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
export function variablesIn(source: string, fileName = 'source.ts'): Set<string> {
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

/** Every RUNSTREAM_ and KAFKA_ variable some source of the product reads. */
export function variablesReadByCode(): Set<string> {
  const names = new Set<string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(dir))
      for (const name of variablesIn(readRepoFile(file), file)) names.add(name);
  }
  return names;
}

/** Problems with `args` as a command line of the CLI (empty when it is a runnable command). */
export function commandProblems(program: Command, args: readonly string[]): string[] {
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

export type Role = 'ingest' | 'processor' | 'exporter';

/** The roles a CLI command runs (`all` runs the three). */
export function rolesOf(args: readonly string[]): Role[] {
  const command = args[0];
  if (command === 'all') return ['ingest', 'processor', 'exporter'];
  return command === 'ingest' || command === 'processor' || command === 'exporter' ? [command] : [];
}

/** The environment less the Kafka TLS and SASL settings, whose files exist only where the role runs. */
function withoutKafkaSecurity(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^KAFKA_(SSL|SASL)/.test(name)));
}

/**
 * The HTTP port a role serves with this environment, as the role's own configuration
 * reader derives it (defaults included). The webhook secret is stood in for, since
 * only the port is wanted and a secret file exists only where the role runs.
 */
export function portOf(role: Role, withKafka: Env): number {
  const env = withoutKafkaSecurity(withKafka);
  switch (role) {
    case 'ingest':
      return readIngestConfig({
        ...env,
        RUNSTREAM_WEBHOOK_SECRET: 'stand-in',
        RUNSTREAM_WEBHOOK_SECRET_FILE: undefined,
      }).port;
    case 'processor':
      return readProcessorConfig(env).port;
    case 'exporter':
      return readExporterConfig(env).port;
  }
}

/** The processor's RocksDB root with this environment (defaults included). */
export function stateDirOf(env: Env): string {
  return readProcessorConfig(withoutKafkaSecurity(env)).stateDir;
}

/** One runstream container of a deployment artefact, as the checks see it. */
export interface ContainerSpec {
  /** Where it is, for the messages (a compose service, a Kubernetes workload). */
  name: string;
  /** The CLI arguments after the entrypoint. */
  args: readonly string[];
  /** The variables it sets (values are not checked here). */
  variables: Iterable<string>;
  /**
   * What the artefact says it needs beyond this release (a Kubernetes component
   * marked `runstream.dev/requires-command` / `-variables`); accepted only while
   * the code lacks it.
   */
  requires?: { command?: string; variables?: readonly string[] };
}

/**
 * Every problem of one container: a command or option the CLI lacks, a variable no
 * code reads, or a "requires" marker the code has caught up with (so it must go).
 */
export function containerProblems(program: Command, read: Set<string>, container: ContainerSpec): string[] {
  const { name, args, requires } = container;
  const problems: string[] = [];
  const commandLine = args.filter((a) => !a.startsWith('-')).join(' ');
  const cliProblems = commandProblems(program, args);
  if (requires?.command !== undefined) {
    if (requires.command !== commandLine) {
      problems.push(`${name}: marked as requiring "${requires.command}" but runs "${commandLine}"`);
    } else if (cliProblems.length === 0) {
      problems.push(`${name}: "${requires.command}" exists now; drop the requires-command marker`);
    }
  } else {
    for (const problem of cliProblems) problems.push(`${name}: ${problem}`);
  }
  const pending = new Set(requires?.variables ?? []);
  for (const variable of pending) {
    if (read.has(variable)) problems.push(`${name}: the code reads ${variable} now; drop it from the marker`);
  }
  for (const variable of container.variables) {
    if (OURS.test(variable) && !read.has(variable) && !pending.has(variable)) {
      problems.push(`${name}: sets ${variable}, which no code reads`);
    }
  }
  return problems;
}
