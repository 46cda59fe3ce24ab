// docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so they are
// checked against the code instead: every runstream service runs a real CLI command,
// sets only variables the code reads, processors keep separate state, Prometheus
// scrapes real services, and the image's entrypoint is the package's bin.
import { posix } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCli } from '../../../cli/main.js';
import {
  containerProblems,
  portOf,
  readRepoFile as read,
  rolesOf,
  variablesReadByCode,
} from '../../support/deploy-contract.js';

type Service = Record<string, unknown>;

function parseCompose(text: string): Record<string, Service> {
  const doc = parse(text, { merge: true }) as { services?: Record<string, Service> };
  return doc.services ?? {};
}

const PROVISIONING: Record<string, string> = { datasources: 'datasource.yml', dashboards: 'runstream.yml' };

/** The repository path bind-mounted (as a file, or within a folder) at a container path. */
function hostPathOf(service: Service, containerPath: string): string | undefined {
  for (const volume of ((service.volumes ?? []) as unknown[]).map(String)) {
    const [host, target] = volume.split(':') as [string, string | undefined];
    if (!host.startsWith('./') || !target) continue;
    const rest = posix.relative(target, containerPath);
    if (rest === '') return posix.normalize(host);
    if (!rest.startsWith('..')) return posix.join(host, rest);
  }
  return undefined;
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

/** Every problem of the runstream services of a compose file, as readable lines. */
function composeProblems(services: Record<string, Service>, program: Command, read: Set<string>): string[] {
  return Object.entries(services)
    .filter(([, service]) => isRunstream(service))
    .flatMap(([name, service]) =>
      containerProblems(program, read, {
        name,
        args: commandOf(service),
        variables: environmentOf(service).keys(),
      }),
    );
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
      const port = portOf('exporter', Object.fromEntries(environmentOf(service)));
      expect(targets).toContain(`${name}:${port}`);
    }
    for (const target of targets) {
      const [host, port] = target.split(':');
      const service = services[host!];
      expect(service, `${target} is a compose service`).toBeDefined();
      const [role] = rolesOf(commandOf(service!));
      expect(role, `${target} runs a role that serves /metrics`).toBeDefined();
      expect(Number(port), `${target} is the port its role serves`).toBe(
        portOf(role!, Object.fromEntries(environmentOf(service!))),
      );
    }
  });

  it('loads the recording rules and alerts into Prometheus', () => {
    const prometheus = services.prometheus!;
    const configPath = commandOf(prometheus)
      .find((a) => a.startsWith('--config.file='))!
      .split('=')[1]!;
    const config = parse(read(hostPathOf(prometheus, configPath)!)) as { rule_files?: string[] };
    expect(config.rule_files).toEqual(['rules.yml']);
    const rulesIn = posix.join(posix.dirname(configPath), config.rule_files![0]!);
    expect(hostPathOf(prometheus, rulesIn)).toBe('deploy/prometheus/rules.yml');
  });

  it('provisions Grafana with the dashboard, reading the Prometheus service', () => {
    const grafana = services.grafana!;
    const provisioned = (kind: string) =>
      parse(read(hostPathOf(grafana, `/etc/grafana/provisioning/${kind}/${PROVISIONING[kind]}`)!)) as {
        datasources?: Array<{ type: string; url: string; isDefault?: boolean }>;
        providers?: Array<{ options: { path: string } }>;
      };
    const [datasource] = provisioned('datasources').datasources!;
    expect(datasource).toMatchObject({ type: 'prometheus', isDefault: true });
    const url = new URL(datasource!.url);
    expect(String(services[url.hostname]?.image)).toMatch(/^prom\/prometheus:/);
    expect(url.port).toBe('9090');
    const [provider] = provisioned('dashboards').providers!;
    expect(hostPathOf(grafana, `${provider!.options.path}/runstream.json`)).toBe(
      'deploy/grafana/runstream.json',
    );
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
      expect.stringMatching(/^c: "topics" needs a subcommand \(create, plan, verify\)/),
      'd: "--prot" is not an option of "ingest"',
      'e: no command given',
    ]);
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
