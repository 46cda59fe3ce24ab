// Checks a rendered Kubernetes pack against the code: every runstream container runs
// a real CLI command with variables the code reads, serves its role's port with the
// probes on /healthz and /readyz, keeps secrets in mounted Secrets, runs hardened and
// sized; every Service, PodMonitor, PodDisruptionBudget and autoscaler points at
// something that exists. Returns readable lines, none when the pack is right.
import { dirname } from 'node:path';
import type { Command } from 'commander';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { Env } from '../../platform/config.js';
import {
  containerProblems,
  metricsPortOf,
  portOf,
  type Role,
  rolesOf,
  stateDirOf,
} from './deploy-contract.js';
import type { KubeObject } from './k8s-schema.js';

export const REQUIRES_COMMAND = 'runstream.dev/requires-command';
export const REQUIRES_VARIABLES = 'runstream.dev/requires-variables';
/** runstream exits at the latest this long after SIGTERM (cli/main.ts, runUntilSignal). */
export const SHUTDOWN_SECONDS = 30;

type WorkloadKind = 'Deployment' | 'StatefulSet' | 'Job' | 'CronJob';

export interface Workload {
  object: KubeObject;
  kind: WorkloadKind;
  name: string;
  replicas: number;
  template: IPodTemplateSpec;
  claimTemplates: string[];
}

interface WorkloadSpec {
  replicas?: number;
  /** A CronJob's: the Job it makes. */
  jobTemplate?: { spec?: WorkloadSpec };
  template?: IPodTemplateSpec;
  volumeClaimTemplates?: Array<{ metadata?: { name?: string } }>;
}

interface Selector {
  matchLabels?: Record<string, string>;
}

export function workloadsOf(objects: readonly KubeObject[]): Workload[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(o.kind))
    .map((object) => {
      const own = (object.spec ?? {}) as WorkloadSpec;
      const spec = object.kind === 'CronJob' ? (own.jobTemplate?.spec ?? {}) : own;
      return {
        object,
        kind: object.kind as WorkloadKind,
        name: `${object.kind}/${object.metadata.name}`,
        replicas: object.kind === 'Job' || object.kind === 'CronJob' ? 1 : (spec.replicas ?? 1),
        template: spec.template ?? {},
        claimTemplates: (spec.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? ''),
      };
    });
}

export const isRunstream = (container: IContainer) => /^runstream(:|$)/.test(container.image ?? '');

function runstreamContainers(workload: Workload): IContainer[] {
  return (workload.template.spec?.containers ?? []).filter(isRunstream);
}

function selects(selector: Selector | undefined, labels: Record<string, string> | undefined): boolean {
  const wanted = Object.entries(selector?.matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([k, v]) => labels?.[k] === v);
}

/** The workloads whose pods a selector picks. */
export function selected(workloads: readonly Workload[], selector: Selector | undefined): Workload[] {
  return workloads.filter((w) => selects(selector, w.template.metadata?.labels));
}

/** The container's environment as the code sees it: its ConfigMaps, then its own env. */
export function environmentOf(container: IContainer, objects: readonly KubeObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    Object.assign(env, (configMap?.data as Record<string, string> | undefined) ?? {});
  }
  for (const variable of container.env ?? []) env[variable.name] = variable.value ?? '';
  return env;
}

/** Resolves a probe's or Service's port (a name or a number) to a number. */
function portNumber(container: IContainer, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function probeProblems(where: string, container: IContainer, servesOn: number[]): string[] {
  const problems: string[] = [];
  const check = (what: string, probe: IProbe | undefined, path: string, required: boolean) => {
    if (!probe) {
      if (required) problems.push(`${where}: no ${what}`);
      return;
    }
    const port = portNumber(container, probe.httpGet?.port);
    if (probe.httpGet?.path !== path) problems.push(`${where}: ${what} is not on ${path}`);
    if (port === undefined || !servesOn.includes(port)) {
      problems.push(`${where}: ${what} port ${probe.httpGet?.port} is not a port the container serves`);
    }
  };
  check('livenessProbe', container.livenessProbe, '/healthz', true);
  check('readinessProbe', container.readinessProbe, '/readyz', true);
  check('startupProbe', container.startupProbe, '/healthz', false);
  return problems;
}

const QUANTITY = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G)?$/;
const FACTOR: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

export function quantity(value: string | number | undefined): number | undefined {
  if (typeof value === 'number') return value;
  const match = QUANTITY.exec(value ?? '');
  return match ? Number(match[1]) * (FACTOR[match[2] ?? ''] ?? 1) : undefined;
}

function resourceProblems(where: string, container: IContainer): string[] {
  const problems: string[] = [];
  for (const resource of ['cpu', 'memory']) {
    const request = quantity(container.resources?.requests?.[resource]);
    const limit = quantity(container.resources?.limits?.[resource]);
    if (request === undefined || limit === undefined)
      problems.push(`${where}: no ${resource} request and limit`);
    else if (request > limit) problems.push(`${where}: ${resource} request above its limit`);
  }
  return problems;
}

function securityProblems(where: string, template: IPodTemplateSpec, container: IContainer): string[] {
  const problems: string[] = [];
  const pod = template.spec?.securityContext;
  const own = container.securityContext;
  if (!(own?.runAsNonRoot ?? pod?.runAsNonRoot)) problems.push(`${where}: may run as root`);
  if ((own?.seccompProfile ?? pod?.seccompProfile)?.type !== 'RuntimeDefault') {
    problems.push(`${where}: no RuntimeDefault seccomp profile`);
  }
  if (own?.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
  if (own?.allowPrivilegeEscalation !== false) problems.push(`${where}: may escalate privileges`);
  if (!own?.capabilities?.drop?.includes('ALL')) problems.push(`${where}: keeps capabilities`);
  if (template.spec?.enableServiceLinks !== false) {
    problems.push(`${where}: service links would set RUNSTREAM_<SERVICE>_PORT=tcp://... variables`);
  }
  return problems;
}

/** A file variable must point into a mounted Secret, and the secret must not be inlined. */
function secretProblems(where: string, workload: Workload, container: IContainer): string[] {
  const problems: string[] = [];
  for (const variable of container.env ?? []) {
    if (/(SECRET|PASSWORD|TOKEN|PRIVATE_KEY)$/.test(variable.name) && variable.value !== undefined) {
      problems.push(`${where}: ${variable.name} is inlined; mount it from a Secret (${variable.name}_FILE)`);
    }
    if (!/(SECRET|PASSWORD|KEY)_FILE$/.test(variable.name) || variable.value === undefined) continue;
    const mount = container.volumeMounts?.find((m) => m.mountPath === dirname(variable.value!));
    const volume = workload.template.spec?.volumes?.find((v) => v.name === mount?.name);
    if (!volume?.secret?.secretName) {
      problems.push(`${where}: ${variable.name}=${variable.value} is not in a mounted Secret`);
    }
  }
  return problems;
}

function roleProblems(
  where: string,
  workload: Workload,
  container: IContainer,
  roles: readonly Role[],
  env: Env,
): string[] {
  const problems: string[] = [];
  const ports = (container.ports ?? []).map((p) => p.containerPort);
  const served = roles.map((role) => portOf(role, env));
  const metrics = roles.map((role) => metricsPortOf(role, env));
  for (const [i, role] of roles.entries()) {
    for (const port of new Set([served[i]!, metrics[i]!])) {
      if (!ports.includes(port)) problems.push(`${where}: ${role} serves ${port}, not a containerPort`);
    }
  }
  for (const port of ports) {
    if (!served.includes(port) && !metrics.includes(port))
      problems.push(`${where}: containerPort ${port} is served by no role`);
  }
  problems.push(...probeProblems(where, container, [...served, ...metrics]));
  if (roles.includes('processor')) {
    const stateDir = stateDirOf(env);
    const mount = container.volumeMounts?.find((m) => m.mountPath === stateDir);
    if (!mount || !workload.claimTemplates.includes(mount.name)) {
      problems.push(`${where}: RUNSTREAM_STATE_DIR ${stateDir} is not on a volume claimed per pod`);
    }
  }
  if (roles.includes('ingest') && !env.RUNSTREAM_WEBHOOK_SECRET_FILE) {
    problems.push(`${where}: ingest without RUNSTREAM_WEBHOOK_SECRET_FILE`);
  }
  const grace = workload.template.spec?.terminationGracePeriodSeconds ?? 30;
  const preStop = Number(container.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0);
  if (grace <= SHUTDOWN_SECONDS + preStop) {
    problems.push(`${where}: terminationGracePeriodSeconds ${grace} is not above a graceful shutdown`);
  }
  const annotations = workload.template.metadata?.annotations ?? {};
  if (annotations['prometheus.io/scrape'] !== 'true') problems.push(`${where}: no prometheus.io/scrape`);
  if (annotations['prometheus.io/path'] !== '/metrics')
    problems.push(`${where}: prometheus.io/path is not /metrics`);
  if (!metrics.includes(Number(annotations['prometheus.io/port']))) {
    problems.push(`${where}: prometheus.io/port ${annotations['prometheus.io/port']} is not a role's port`);
  }
  return problems;
}

function containerChecks(
  objects: readonly KubeObject[],
  program: Command,
  read: Set<string>,
  workload: Workload,
): string[] {
  const problems: string[] = [];
  const annotations = workload.object.metadata.annotations ?? {};
  const requiredVariables = annotations[REQUIRES_VARIABLES]?.split(/\s+/).filter((v) => v !== '');
  for (const container of runstreamContainers(workload)) {
    const where = `${workload.name} ${container.name}`;
    const env = environmentOf(container, objects);
    if (container.command)
      problems.push(`${where}: sets command, replacing the image's entrypoint (the bin)`);
    problems.push(
      ...containerProblems(program, read, {
        name: where,
        args: container.args ?? [],
        variables: Object.keys(env),
        requires: { command: annotations[REQUIRES_COMMAND], variables: requiredVariables },
      }),
    );
    problems.push(...securityProblems(where, workload.template, container));
    problems.push(...resourceProblems(where, container));
    problems.push(...secretProblems(where, workload, container));
    const roles = rolesOf(container.args ?? []);
    if (roles.length > 0) problems.push(...roleProblems(where, workload, container, roles, env));
  }
  return problems;
}

interface ServiceSpec {
  selector?: Record<string, string>;
  ports?: Array<{ name?: string; targetPort?: string | number }>;
}

function serviceProblems(object: KubeObject, workloads: readonly Workload[]): string[] {
  const spec = object.spec as ServiceSpec;
  const where = `Service/${object.metadata.name}`;
  const targets = selected(workloads, { matchLabels: spec.selector });
  if (targets.length !== 1) return [`${where}: selects ${targets.length} workloads`];
  const containers = runstreamContainers(targets[0]!);
  return (spec.ports ?? [])
    .filter((port) => !containers.some((c) => portNumber(c, port.targetPort) !== undefined))
    .map((port) => `${where}: targetPort ${port.targetPort} is no port of ${targets[0]!.name}`);
}

interface PodMonitorSpec {
  selector?: Selector;
  podMetricsEndpoints?: Array<{ port?: string; path?: string }>;
}

function podMonitorProblems(object: KubeObject, workloads: readonly Workload[]): string[] {
  const spec = object.spec as PodMonitorSpec;
  const where = `PodMonitor/${object.metadata.name}`;
  const targets = selected(workloads, spec.selector);
  if (targets.length === 0) return [`${where}: selects no pods`];
  const problems: string[] = [];
  for (const endpoint of spec.podMetricsEndpoints ?? []) {
    if (endpoint.path !== '/metrics') problems.push(`${where}: path ${endpoint.path} is not /metrics`);
    for (const target of targets) {
      if (!runstreamContainers(target).some((c) => c.ports?.some((p) => p.name === endpoint.port))) {
        problems.push(`${where}: ${target.name} has no port named ${endpoint.port}`);
      }
    }
  }
  return problems;
}

/** Every role port of every long-running workload is scraped by some PodMonitor. */
function scrapeCoverageProblems(objects: readonly KubeObject[], workloads: readonly Workload[]): string[] {
  const monitors = objects.filter((o) => o.kind === 'PodMonitor').map((o) => o.spec as PodMonitorSpec);
  const problems: string[] = [];
  for (const workload of workloads.filter((w) => w.kind !== 'Job' && w.kind !== 'CronJob')) {
    for (const container of runstreamContainers(workload)) {
      const env = environmentOf(container, objects);
      for (const role of rolesOf(container.args ?? [])) {
        const port = container.ports?.find((p) => p.containerPort === metricsPortOf(role, env));
        const scraped = monitors.some(
          (m) =>
            selects(m.selector, workload.template.metadata?.labels) &&
            m.podMetricsEndpoints?.some((e) => e.port === port?.name),
        );
        if (!scraped) problems.push(`${workload.name}: no PodMonitor scrapes the ${role}'s /metrics`);
      }
    }
  }
  return problems;
}

function targetProblems(objects: readonly KubeObject[], workloads: readonly Workload[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const where = `${object.kind}/${object.metadata.name}`;
    if (object.kind === 'PodDisruptionBudget') {
      const count = selected(workloads, (object.spec as { selector?: Selector }).selector).length;
      if (count !== 1) problems.push(`${where}: selects ${count} workloads`);
    }
    if (object.kind === 'HorizontalPodAutoscaler') {
      const target = (object.spec as { scaleTargetRef?: { kind?: string; name?: string } }).scaleTargetRef;
      if (!workloads.some((w) => w.name === `${target?.kind}/${target?.name}`)) {
        problems.push(`${where}: scales ${target?.kind}/${target?.name}, which is not in the pack`);
      }
    }
    if (object.kind === 'Secret')
      problems.push(`${where}: secrets are created by the operator, never shipped`);
  }
  return problems;
}

export function packProblems(objects: readonly KubeObject[], program: Command, read: Set<string>): string[] {
  const workloads = workloadsOf(objects);
  return [
    ...workloads.flatMap((w) => containerChecks(objects, program, read, w)),
    ...objects.filter((o) => o.kind === 'Service').flatMap((o) => serviceProblems(o, workloads)),
    ...objects.filter((o) => o.kind === 'PodMonitor').flatMap((o) => podMonitorProblems(o, workloads)),
    ...scrapeCoverageProblems(objects, workloads),
    ...targetProblems(objects, workloads),
  ];
}
