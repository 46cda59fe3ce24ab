// docker-compose.yml and the Dockerfile cannot run here (no Docker engine), so they are
// checked against the code instead: every runstream service runs a real CLI command,
// sets only variables the code reads, processors keep separate state, Prometheus
// scrapes real services, and the image's entrypoint is the package's bin. Its exposure
// is checked on the file as Compose interpolates it: the webhook secret and Grafana's
// admin password are required, every port is published on 127.0.0.1 unless a variable
// widens it, Grafana lets no one in anonymously.
import { posix } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCli } from '../../../cli/main.js';
import { readIngestConfig } from '../../../ingest/config.js';
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

/** The image name with its variable unset: `${KAFKA_IMAGE:-apache/kafka:3.9.1}` is the default. */
function imageOf(service: Service | undefined): string {
  return String(service?.image ?? '').replace(/^\$\{[A-Z0-9_]+:-(.+)\}$/, '$1');
}

function isRunstream(service: Service): boolean {
  return service.build !== undefined || imageOf(service).startsWith('runstream');
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
    expect(imageOf(services.kafka)).toBe('apache/kafka:3.9.1');
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
    expect(imageOf(services[url.hostname])).toMatch(/^prom\/prometheus:/);
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

type Vars = Record<string, string | undefined>;

/**
 * Compose's variable interpolation (the Compose specification, which docker-compose 1.29
 * and v2 share): `$$`, `$VAR`, `${VAR}`, `${VAR:-default}` / `${VAR-default}` (unset or
 * empty / unset), `${VAR:?message}` / `${VAR?message}` (an error). Values only, after
 * the YAML is parsed, as Compose does; throws naming every missing required variable.
 */
function interpolate<T>(value: T, vars: Vars): T {
  const missing: string[] = [];
  const one = (text: string) =>
    text.replace(
      /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
      (_m, dollar?: string, braced?: string, op?: string, arg?: string, bare?: string) => {
        if (dollar) return '$';
        const name = (braced ?? bare)!;
        const set = vars[name];
        const absent = op?.startsWith(':') ? set === undefined || set === '' : set === undefined;
        if (op?.endsWith('-')) return absent ? arg! : set!;
        if (op?.endsWith('?')) {
          if (absent) missing.push(`${name} (${arg})`);
          return set ?? '';
        }
        return set ?? '';
      },
    );
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return one(node);
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  const result = walk(value) as T;
  if (missing.length > 0) throw new Error(`required variable not set: ${missing.join(', ')}`);
  return result;
}

/** What `docker compose` needs set (README "Running it with Docker Compose"). */
const REQUIRED = {
  RUNSTREAM_WEBHOOK_SECRET: 'secret-github-signs-with',
  GRAFANA_ADMIN_PASSWORD: 'grafana-admin-password',
};
const LOOPBACK = '127.0.0.1';

interface Published {
  hostIp: string;
  published: string;
  target: string;
}

/** A service's published ports, short (`[IP:][HOST:]CONTAINER[/proto]`) or long syntax. */
function publishedPorts(service: Service): Published[] {
  return ((service.ports ?? []) as unknown[]).map((port) => {
    if (port && typeof port === 'object') {
      const long = port as { host_ip?: string; published?: string | number; target?: string | number };
      return {
        hostIp: long.host_ip ?? '',
        published: String(long.published ?? ''),
        target: String(long.target),
      };
    }
    const parts = String(port)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = parts.pop()!;
    const published = parts.pop() ?? '';
    return { hostIp: parts.join(':'), published, target };
  });
}

/** Ports published beyond loopback, and a Grafana that lets someone in without the required password. */
function exposureProblems(services: Record<string, Service>): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(services)) {
    for (const port of publishedPorts(service)) {
      if (port.hostIp !== LOOPBACK) {
        problems.push(
          `${name}: publishes ${port.published || port.target} on ${port.hostIp || 'every interface'}`,
        );
      }
    }
  }
  const grafana = environmentOf(services.grafana ?? {});
  if (grafana.get('GF_AUTH_ANONYMOUS_ENABLED') !== 'false')
    problems.push('grafana: anonymous access is not off');
  if (grafana.get('GF_SECURITY_ADMIN_PASSWORD') !== REQUIRED.GRAFANA_ADMIN_PASSWORD) {
    problems.push('grafana: the admin password is not GRAFANA_ADMIN_PASSWORD');
  }
  return problems;
}

const composeDoc = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};
const resolve = (vars: Vars) => interpolate(composeDoc, vars).services;
const without = (name: string): Vars => ({ ...REQUIRED, [name]: undefined });

describe('docker-compose.yml exposure', () => {
  it('interpolates as Compose does (the oracle the checks below use)', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's syntax, not a template
    const doc = { a: '$$x ${A} $A ${B:-b} ${B-c} ${E:-e} ${E-f} ${A:?no}', b: ['${B?gone}'] };
    expect(() => interpolate(doc, { A: '1', E: '' })).toThrow('required variable not set: B (gone)');
    expect(interpolate(doc, { A: '1', B: '2', E: '' })).toEqual({ a: '$x 1 1 2 2 e  1', b: ['2'] });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's syntax, not a template
    expect(() => interpolate({ a: '${A:?set A}' }, { A: '' })).toThrow('A (set A)');
  });

  it('requires the webhook secret and the Grafana admin password: no default, unset or empty', () => {
    expect(() => resolve(REQUIRED)).not.toThrow();
    for (const name of Object.keys(REQUIRED)) {
      expect(() => resolve(without(name)), name).toThrow(`required variable not set: ${name} (set ${name}`);
      expect(() => resolve({ ...REQUIRED, [name]: '' }), name).toThrow(name);
    }
    for (const [name, service] of byCommand('ingest')) {
      expect(environmentOf(resolve(REQUIRED)[name]!).get('RUNSTREAM_WEBHOOK_SECRET'), name).toBe(
        REQUIRED.RUNSTREAM_WEBHOOK_SECRET,
      );
      expect(environmentOf(service).has('RUNSTREAM_WEBHOOK_SECRET_FILE'), name).toBe(false);
    }
  });

  it('publishes every port on 127.0.0.1 only, and Grafana asks everyone to log in', () => {
    const resolved = resolve(REQUIRED);
    expect(Object.values(resolved).flatMap(publishedPorts).length).toBeGreaterThanOrEqual(7);
    expect(exposureProblems(resolved)).toEqual([]);
  });

  it('widens only deliberately: INGEST_PUBLISH_ADDRESS the ingest ports, MONITORING_PUBLISH_ADDRESS the rest, Kafka never', () => {
    const addresses = (vars: Vars) =>
      Object.fromEntries(
        Object.entries(resolve({ ...REQUIRED, ...vars }))
          .filter(([, s]) => publishedPorts(s).length > 0)
          .map(([name, s]) => [name, [...new Set(publishedPorts(s).map((p) => p.hostIp))]]),
      );
    expect(addresses({ INGEST_PUBLISH_ADDRESS: '0.0.0.0' })).toEqual({
      kafka: [LOOPBACK],
      'ingest-1': ['0.0.0.0'],
      'ingest-2': ['0.0.0.0'],
      'exporter-1': [LOOPBACK],
      'exporter-2': [LOOPBACK],
      prometheus: [LOOPBACK],
      grafana: [LOOPBACK],
    });
    expect(addresses({ MONITORING_PUBLISH_ADDRESS: '10.0.0.5' })).toEqual({
      kafka: [LOOPBACK],
      'ingest-1': [LOOPBACK],
      'ingest-2': [LOOPBACK],
      'exporter-1': ['10.0.0.5'],
      'exporter-2': ['10.0.0.5'],
      prometheus: ['10.0.0.5'],
      grafana: ['10.0.0.5'],
    });
  });

  it("runs ingest where the development secret is refused (the container's address is not loopback)", () => {
    for (const [name] of byCommand('ingest')) {
      const env = (vars: Vars) => Object.fromEntries(environmentOf(resolve({ ...REQUIRED, ...vars })[name]!));
      expect(readIngestConfig(env({})).secrets, name).toEqual([REQUIRED.RUNSTREAM_WEBHOOK_SECRET]);
      expect(() => readIngestConfig(env({ RUNSTREAM_WEBHOOK_SECRET: 'dev-secret' })), name).toThrow(
        /^RUNSTREAM_WEBHOOK_SECRET: the development secret "dev-secret" is refused off loopback/,
      );
    }
  });

  it('finds a port on every interface or another address, anonymous Grafana, a default password', () => {
    const bad = interpolate(
      parse(`
services:
  a: { image: x, ports: ["8080:8080", "9000", "0.0.0.0:1:1/tcp", "127.0.0.1:2:2"] }
  b: { image: x, ports: [{ target: 3, published: 3 }, { target: 4, published: 4, host_ip: 127.0.0.1 }] }
  grafana:
    image: grafana/grafana
    environment: { GF_AUTH_ANONYMOUS_ENABLED: "true", GF_SECURITY_ADMIN_PASSWORD: "\${GRAFANA_ADMIN_PASSWORD:-admin}" }
`) as { services: Record<string, Service> },
      {},
    ).services;
    expect(exposureProblems(bad)).toEqual([
      'a: publishes 8080 on every interface',
      'a: publishes 9000 on every interface',
      'a: publishes 1 on 0.0.0.0',
      'b: publishes 3 on every interface',
      'grafana: anonymous access is not off',
      'grafana: the admin password is not GRAFANA_ADMIN_PASSWORD',
    ]);
  });
});
