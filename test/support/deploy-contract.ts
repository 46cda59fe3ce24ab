// What a deployment artefact (docker-compose.yml, the Kubernetes pack) may ask of
// runstream, checked against the code itself: the CLI's command tree, the variables
// of its configuration catalogue, and the ports the roles' own configuration readers derive.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SETTINGS } from '../../cli/settings.js';
import { readExporterConfig } from '../../exporter/main.js';
import { readIngestConfig } from '../../ingest/main.js';
import type { Env } from '../../platform/config.js';
import { readProcessorConfig } from '../../processor/main.js';

export const root = join(import.meta.dirname, '..', '..');
/** What a deployment may set for a runstream container, and the code must read. */
export const OURS = /^(RUNSTREAM_|KAFKA_)/;

export function readRepoFile(path: string): string {
  return readFileSync(join(root, path), 'utf8');
}

/** Every RUNSTREAM_ and KAFKA_ variable the product reads: its configuration catalogue. */
export function variablesReadByCode(): Set<string> {
  return new Set(SETTINGS.map((s) => s.name));
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

/** The port a role serves /metrics on: ingest's own metrics port when it has one, else its port. */
export function metricsPortOf(role: Role, withKafka: Env): number {
  if (role !== 'ingest') return portOf(role, withKafka);
  const config = readIngestConfig({
    ...withoutKafkaSecurity(withKafka),
    RUNSTREAM_WEBHOOK_SECRET: 'stand-in',
    RUNSTREAM_WEBHOOK_SECRET_FILE: undefined,
  });
  return config.metricsPort ?? config.port;
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
