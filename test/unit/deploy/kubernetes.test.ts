// The Kubernetes pack (deploy/kubernetes), rendered offline by `kubectl kustomize` in
// every variant an operator can pick: each object validates against the Kubernetes
// API schema and the Prometheus Operator CRDs, and every container, probe, port,
// Service and PodMonitor matches the CLI and the configuration the code reads (the
// checks docker-compose.yml goes through too: test/support/deploy-contract.ts).
import { join } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildCli } from '../../../cli/main.js';
import { readRepoFile, root, variablesReadByCode } from '../../support/deploy-contract.js';
import { type KubeObject, schemaProblems } from '../../support/k8s-schema.js';
import {
  environmentOf,
  isRunstream,
  packProblems,
  quantity,
  REQUIRES_COMMAND,
  SHUTDOWN_SECONDS,
  selected,
  type Workload,
  workloadsOf,
} from '../../support/kubernetes-pack.js';
import { render, type Variant, variantName } from '../../support/kustomize.js';
import { allowed, isolated } from '../../support/network-policy.js';
import { credentialProblems, documentedUsers, kafkaSecretOf } from '../../support/pack-credentials.js';
import { sizingRows } from '../../support/sizing-doc.js';

const VARIANTS: Variant[] = [
  { overlay: 'single-node' },
  { overlay: 'production' },
  { overlay: 'production', components: ['ingress'] },
  { overlay: 'production', components: ['topics-verify'] },
  { overlay: 'production', components: ['kafka-sasl'] },
  { overlay: 'single-node', components: ['kafka-sasl'] },
  { overlay: 'production', components: ['github-egress'] },
];

const program = buildCli();
const read = variablesReadByCode();
const rendered = new Map(VARIANTS.map((v) => [variantName(v), render(v)]));
const objectsOf = (variant: Variant) => rendered.get(variantName(variant))!;
const production = objectsOf({ overlay: 'production' });

function workload(objects: readonly KubeObject[], component: string): Workload {
  const found = workloadsOf(objects).filter(
    (w) => w.template.metadata?.labels?.['app.kubernetes.io/component'] === component,
  );
  expect(found, `one ${component} workload`).toHaveLength(1);
  return found[0]!;
}

const containerOf = (w: Workload): IContainer => w.template.spec!.containers.find(isRunstream)!;
const ofKind = (objects: readonly KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);
const copy = (objects: readonly KubeObject[]): KubeObject[] => structuredClone([...objects]);

describe.each(VARIANTS.map((v) => [variantName(v), v] as const))('kubernetes pack: %s', (_name, variant) => {
  const objects = objectsOf(variant);

  it('validates against the Kubernetes API schema and the Prometheus Operator CRDs', () => {
    expect(objects.length).toBeGreaterThan(5);
    expect(schemaProblems(objects)).toEqual([]);
  });

  it('matches the CLI and the configuration the code reads; probes, ports and scraping line up', () => {
    expect(packProblems(objects, program, read)).toEqual([]);
  });

  it('puts everything in the runstream namespace and runs the image of this version', () => {
    const version = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) {
      expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe('runstream');
    }
    for (const w of workloadsOf(objects)) expect(containerOf(w).image).toBe(`runstream:${version}`);
  });
});

describe('kubernetes pack: production overlay', () => {
  const ingest = workload(production, 'ingest');
  const processor = workload(production, 'processor');
  const exporter = workload(production, 'exporter');
  const selecting = (kind: string, w: Workload) =>
    ofKind(production, kind).filter((o) => {
      const spec = o.spec as { selector?: { matchLabels?: Record<string, string> } | Record<string, string> };
      const selector =
        spec.selector && 'matchLabels' in spec.selector ? spec.selector : { matchLabels: spec.selector };
      return selected([w], selector as { matchLabels?: Record<string, string> }).length === 1;
    });

  it('runs ingest as 2+ replicas behind a Service, autoscaled, with a disruption budget', () => {
    expect(ingest.kind).toBe('Deployment');
    expect(ingest.replicas).toBeGreaterThanOrEqual(2);
    expect(selecting('Service', ingest)).toHaveLength(1);
    expect(selecting('PodDisruptionBudget', ingest)).toHaveLength(1);
    const hpa = ofKind(production, 'HorizontalPodAutoscaler');
    expect(hpa.map((o) => (o.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name)).toEqual([
      ingest.object.metadata.name,
    ]);
    expect((hpa[0]!.spec as { minReplicas: number }).minReplicas).toBeGreaterThanOrEqual(2);
  });

  it('runs processors as a StatefulSet with a volume each, a long grace period and maxUnavailable 1', () => {
    expect(processor.kind).toBe('StatefulSet');
    expect(processor.replicas).toBeGreaterThanOrEqual(2);
    expect(processor.claimTemplates).toEqual(['state']);
    expect(processor.template.spec!.terminationGracePeriodSeconds!).toBeGreaterThan(SHUTDOWN_SECONDS);
    // The shutdown bound the grace period is sized on.
    expect(readRepoFile('cli/main.ts')).toContain(`shutdown took over ${SHUTDOWN_SECONDS} s`);
    const pdb = selecting('PodDisruptionBudget', processor);
    expect(pdb.map((o) => (o.spec as { maxUnavailable: number }).maxUnavailable)).toEqual([1]);
  });

  it('runs exporters as 2 replicas behind a Service, with a disruption budget', () => {
    expect(exporter.kind).toBe('Deployment');
    expect(exporter.replicas).toBe(2);
    expect(selecting('Service', exporter)).toHaveLength(1);
    expect(selecting('PodDisruptionBudget', exporter)).toHaveLength(1);
  });

  it('creates the topics with a Job, replicated three times', () => {
    const topics = workload(production, 'topics');
    expect(topics.kind).toBe('Job');
    const container = containerOf(topics);
    expect(container.args).toEqual(['topics', 'create']);
    expect(environmentOf(container, production).RUNSTREAM_REPLICATION_FACTOR).toBe('3');
  });

  it('spreads every long-running role across nodes', () => {
    for (const w of [ingest, processor, exporter]) {
      const keys = (w.template.spec!.topologySpreadConstraints ?? []).map((c) => c.topologyKey);
      expect(keys, w.name).toContain('kubernetes.io/hostname');
    }
  });

  it('sizes resources from the benchmarks (exporter 297 MB at 100k series; the processor: below)', () => {
    const memory = (w: Workload, which: 'requests' | 'limits') =>
      quantity(containerOf(w).resources?.[which]?.memory)! / 1e6;
    expect(memory(exporter, 'limits')).toBeGreaterThan(297 * 1.3);
  });

  it('scrapes every role with a PodMonitor and ships the rules as a PrometheusRule', () => {
    expect(ofKind(production, 'PodMonitor')).toHaveLength(3);
    expect(ofKind(production, 'PrometheusRule').map((o) => o.metadata.name)).toEqual(['runstream']);
  });
});

describe('kubernetes pack: single-node overlay', () => {
  const objects = objectsOf({ overlay: 'single-node' });

  it('runs one `runstream all` pod with a volume, and no Job (it creates its topics)', () => {
    const workloads = workloadsOf(objects);
    expect(workloads.map((w) => [w.kind, w.replicas, containerOf(w).args])).toEqual([
      ['StatefulSet', 1, ['all']],
    ]);
    expect(workloads[0]!.claimTemplates).toEqual(['state']);
  });
});

describe("kubernetes pack: memory as docs/operations.md's sizing table gives it", () => {
  const rows = sizingRows();
  const podOf = (overlay: string) => {
    const objects = objectsOf({ overlay: overlay as Variant['overlay'] });
    const workloads = workloadsOf(objects).filter((w) =>
      ['processor', 'all'].some(
        (role) =>
          w.template.metadata?.labels?.['app.kubernetes.io/component'] === role ||
          containerOf(w).args?.[0] === role,
      ),
    );
    expect(workloads, `${overlay}: one pod running the processor`).toHaveLength(1);
    return containerOf(workloads[0]!).resources;
  };

  it('has a row for each overlay', () => {
    expect(rows.map((r) => r.overlay).sort()).toEqual(['production', 'single-node']);
  });

  it.each(['production', 'single-node'])(
    '%s: requests and limits what the table says, the limit above the measured peak by the stated headroom',
    (overlay) => {
      const row = rows.find((r) => r.overlay === overlay)!;
      const resources = podOf(overlay);
      expect(quantity(resources?.limits?.memory)).toBe(row.limitBytes);
      expect(quantity(resources?.requests?.memory)).toBe(row.requestBytes);
      expect(row.headroom).toBeGreaterThanOrEqual(1.25);
      expect(row.limitBytes / 1e6).toBeGreaterThanOrEqual(row.peakMb * row.headroom);
      expect(row.requestBytes).toBeLessThanOrEqual(row.limitBytes);
    },
  );

  it('reads the table as written: another limit in the document is another limit', () => {
    const doc = readRepoFile('docs/operations.md');
    const edited = sizingRows(doc.replace(/(\| `production` \|[^\n]*)`768Mi` \|/, '$1`1Gi` |'));
    expect(edited.find((r) => r.overlay === 'production')!.limitBytes).toBe(2 ** 30);
    expect(() => sizingRows(doc.replace('### Memory per pod', '### Memory'))).toThrow(
      /no "### Memory per pod"/,
    );
  });
});

describe('kubernetes pack: components', () => {
  it('production runs `runstream verify` nightly, one at a time, pushing its result, with room for its store', () => {
    const cron = ofKind(production, 'CronJob')[0]!;
    const spec = cron.spec as { schedule: string; concurrencyPolicy: string };
    expect(spec.concurrencyPolicy).toBe('Forbid');
    expect(spec.schedule).toMatch(/^\S+ \S+ \* \* \*$/);
    const verify = workload(production, 'verify');
    const args = containerOf(verify).args ?? [];
    expect(args[0]).toBe('verify');
    const workDir = args.find((a) => a.startsWith('--work-dir='))?.slice('--work-dir='.length);
    const mount = containerOf(verify).volumeMounts?.find((m) => workDir?.startsWith(`${m.mountPath}/`));
    expect(verify.template.spec?.volumes?.find((v) => v.name === mount?.name)?.emptyDir).toBeDefined();
    expect(args.some((a) => /^--pushgateway=http/.test(a))).toBe(true);
    // The processors' settings (metric settings, limits): the same ConfigMap.
    expect(containerOf(verify).envFrom).toEqual(containerOf(workload(production, 'processor')).envFrom);
  });

  it('topics-verify runs `topics verify`, which exists now (no requires marker)', () => {
    const topics = workload(objectsOf({ overlay: 'production', components: ['topics-verify'] }), 'topics');
    expect(containerOf(topics).args).toEqual(['topics', 'verify']);
    expect(topics.object.metadata.annotations?.[REQUIRES_COMMAND]).toBeUndefined();
  });

  it('the Ingress exposes only /webhook of the ingest Service', () => {
    const [ingress] = ofKind(objectsOf({ overlay: 'production', components: ['ingress'] }), 'Ingress');
    const paths = (
      ingress!.spec as {
        rules: Array<{ http: { paths: Array<{ path: string; backend: { service: { name: string } } }> } }>;
      }
    ).rules.flatMap((r) => r.http.paths.map((p) => [p.path, p.backend.service.name]));
    expect(paths).toEqual([['/webhook', 'runstream-ingest']]);
  });
});

describe('kubernetes pack: kafka-sasl, one principal and one Secret per role', () => {
  const users = documentedUsers();
  const sasl = objectsOf({ overlay: 'production', components: ['kafka-sasl'] });

  it("logs every workload in as its own role's principal, with only its own Secret and files", () => {
    expect(users).toEqual({
      ingest: 'runstream-ingest',
      processor: 'runstream-processor',
      exporter: 'runstream-exporter',
      topics: 'runstream-tools',
      verify: 'runstream-tools',
      all: 'runstream-all',
    });
    for (const overlay of ['production', 'single-node'] as const) {
      expect(credentialProblems(objectsOf({ overlay, components: ['kafka-sasl'] }), users), overlay).toEqual(
        [],
      );
    }
    const logins = workloadsOf(sasl).map((w) => {
      const env = environmentOf(containerOf(w), sasl);
      const secrets = (w.template.spec!.volumes ?? []).flatMap((v) => v.secret?.secretName ?? []);
      return [w.name, env.KAFKA_SASL_USERNAME, secrets.sort()];
    });
    expect(logins).toEqual([
      ['Deployment/runstream-exporter', 'runstream-exporter', ['runstream-kafka-exporter']],
      ['Deployment/runstream-ingest', 'runstream-ingest', ['runstream-kafka-ingest', 'runstream-webhook']],
      ['StatefulSet/runstream-processor', 'runstream-processor', ['runstream-kafka-processor']],
      ['CronJob/runstream-verify', 'runstream-tools', ['runstream-kafka-tools']],
      ['Job/runstream-topics', 'runstream-tools', ['runstream-kafka-tools']],
    ]);
  });

  it("finds another role's Secret, user or credential file", () => {
    const objects = copy(sasl);
    const ingest = workload(objects, 'ingest');
    const volume = ingest.template.spec!.volumes!.find((v) => v.name === 'kafka-credentials')!;
    volume.secret!.secretName = kafkaSecretOf(users.processor!);
    containerOf(ingest).env!.find((e) => e.name === 'KAFKA_SASL_USERNAME')!.value = users.processor;
    const exporter = workload(objects, 'exporter');
    exporter.template.spec!.volumes!.push({ name: 'webhook', secret: { secretName: 'runstream-webhook' } });
    expect(credentialProblems(objects, users)).toEqual([
      'Deployment/runstream-exporter: mounts Secret runstream-webhook, not its own',
      'Deployment/runstream-ingest: mounts Secret runstream-kafka-processor, not its own',
      'Deployment/runstream-ingest: logs in as runstream-processor, not runstream-ingest',
      'Deployment/runstream-ingest: KAFKA_SSL_CA_FILE is in runstream-kafka-processor, not runstream-kafka-ingest',
      'Deployment/runstream-ingest: KAFKA_SASL_PASSWORD_FILE is in runstream-kafka-processor, not runstream-kafka-ingest',
    ]);
  });
});

describe('kubernetes pack: network policies of the production overlay', () => {
  const MONITORING = 'namespace kubernetes.io/metadata.name=monitoring';
  const GITHUB =
    'TCP 443 -> cidr 0.0.0.0/0 except 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,100.64.0.0/10';
  const roles = ['ingest', 'processor', 'exporter', 'topics'] as const;
  const podOf = (objects: readonly KubeObject[], role: string) => {
    const w = workload(objects, role);
    return { labels: w.template.metadata!.labels!, container: containerOf(w) };
  };
  /** Where KAFKA_BROKERS points: `<service>.<namespace>.svc:<port>`. */
  const kafka = () => {
    const brokers = environmentOf(podOf(production, 'processor').container, production).KAFKA_BROKERS!;
    const [host, port] = brokers.split(',')[0]!.split(':');
    return { namespace: host!.split('.')[1]!, port: Number(port) };
  };
  const egress = () => [
    'TCP 53 -> namespace kubernetes.io/metadata.name=kube-system pods k8s-app=kube-dns',
    `TCP ${kafka().port} -> namespace kubernetes.io/metadata.name=${kafka().namespace}`,
    'UDP 53 -> namespace kubernetes.io/metadata.name=kube-system pods k8s-app=kube-dns',
  ];

  it('isolates every pod of the namespace both ways', () => {
    expect(ofKind(production, 'NetworkPolicy').length).toBeGreaterThan(0);
    for (const labels of [{}, ...roles.map((r) => podOf(production, r).labels)]) {
      expect(isolated(production, labels, 'Ingress'), JSON.stringify(labels)).toBe(true);
      expect(isolated(production, labels, 'Egress'), JSON.stringify(labels)).toBe(true);
    }
  });

  it("lets anyone reach ingest's webhook port, and only the monitoring namespace every /metrics", () => {
    const ingress = (role: string) => {
      const { labels, container } = podOf(production, role);
      return allowed(production, labels, 'Ingress', container);
    };
    expect(ingress('ingest')).toEqual(['TCP 8080 <- anywhere', `TCP 9401 <- ${MONITORING}`]);
    expect(ingress('processor')).toEqual([`TCP 9400 <- ${MONITORING}`]);
    expect(ingress('exporter')).toEqual([`TCP 9464 <- ${MONITORING}`]);
    expect(ingress('topics')).toEqual([]);
  });

  it('lets every pod reach DNS and the Kafka brokers of KAFKA_BROKERS, and nothing else', () => {
    expect(kafka()).toEqual({ namespace: 'kafka', port: 9092 });
    for (const role of roles) {
      expect(allowed(production, podOf(production, role).labels, 'Egress'), role).toEqual(egress());
    }
  });

  it("with github-egress, lets the exporter (scale-set statistics) and no other role reach GitHub's API", () => {
    const objects = objectsOf({ overlay: 'production', components: ['github-egress'] });
    for (const role of roles) {
      const expected = role === 'exporter' ? [...egress(), GITHUB].sort() : egress();
      expect(allowed(objects, podOf(objects, role).labels, 'Egress'), role).toEqual(expected);
    }
  });

  it('reads policies as Kubernetes does: no rule ports or peers is everything, a pod no policy selects is open', () => {
    const objects = copy(production).filter(
      (o) => o.kind !== 'NetworkPolicy' || o.metadata.name !== 'runstream-default-deny',
    );
    const metrics = objects.find((o) => o.metadata.name === 'runstream-metrics')!;
    (metrics.spec as { ingress: Array<{ from?: unknown; ports?: unknown }> }).ingress = [{}];
    const { labels, container } = podOf(objects, 'processor');
    expect(allowed(objects, labels, 'Ingress', container)).toEqual(['every port <- anywhere']);
    expect(allowed(objects, { 'app.kubernetes.io/name': 'other' }, 'Egress')).toEqual(['all traffic']);
    expect(allowed(objects, podOf(objects, 'topics').labels, 'Ingress')).toEqual(['all traffic']);
  });
});

describe('kubernetes pack: the PrometheusRule', () => {
  it('is deploy/prometheus/rules.yml, generated (update with `npx vitest run -u test/unit/deploy`)', async () => {
    const rules = parse(readRepoFile('deploy/prometheus/rules.yml')) as unknown;
    const object = {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'runstream' },
      spec: rules,
    };
    const text = `# Generated from deploy/prometheus/rules.yml by test/unit/deploy/kubernetes.test.ts; do not edit.\n${stringify(object, { lineWidth: 0 })}`;
    await expect(text).toMatchFileSnapshot(
      join(root, 'deploy', 'kubernetes', 'base', 'prometheus-rule.yaml'),
    );
  });
});

describe('kubernetes pack checks find what is wrong', () => {
  const ingestIndex = production.findIndex(
    (o) => o.kind === 'Deployment' && o.metadata.name === 'runstream-ingest',
  );
  const mutate = (change: (container: IContainer, w: Workload, objects: KubeObject[]) => void): string[] => {
    const objects = copy(production);
    const w = workloadsOf([objects[ingestIndex]!])[0]!;
    change(containerOf(w), w, objects);
    return packProblems(objects, program, read);
  };

  it('a misspelt variable, an unknown command, a wrong probe, port or annotation, an inlined secret', () => {
    expect(
      mutate((c) => {
        c.env!.push({ name: 'RUNSTREAM_INGEST_PROT', value: '8080' });
        c.env!.push({ name: 'RUNSTREAM_WEBHOOK_SECRET', value: 'hunter2' });
      }),
    ).toEqual([
      'Deployment/runstream-ingest runstream: sets RUNSTREAM_INGEST_PROT, which no code reads',
      expect.stringMatching(/RUNSTREAM_WEBHOOK_SECRET is inlined/),
    ]);
    expect(mutate((c) => (c.args = ['ingester']))).toEqual(
      expect.arrayContaining([expect.stringMatching(/"ingester" is not a command of "runstream"/)]),
    );
    expect(mutate((c) => (c.readinessProbe!.httpGet!.path = '/ready'))).toEqual([
      'Deployment/runstream-ingest runstream: readinessProbe is not on /readyz',
    ]);
    expect(mutate((c) => (c.env!.find((e) => e.name === 'RUNSTREAM_INGEST_PORT')!.value = '8081'))).toEqual(
      expect.arrayContaining([
        'Deployment/runstream-ingest runstream: ingest serves 8081, not a containerPort',
        expect.stringMatching(/livenessProbe port http is not a port the container serves/),
      ]),
    );
    expect(mutate((_c, w) => (w.template.metadata!.annotations!['prometheus.io/port'] = '9999'))).toEqual([
      "Deployment/runstream-ingest runstream: prometheus.io/port 9999 is not a role's port",
    ]);
  });

  it('a command replacing the entrypoint, a root or writable container, no limits, a short grace period', () => {
    const problems = mutate((c, w) => {
      c.command = ['node', 'dist/cli/run.js'];
      c.securityContext!.readOnlyRootFilesystem = false;
      delete c.resources!.limits;
      w.template.spec!.securityContext!.runAsNonRoot = false;
      w.template.spec!.terminationGracePeriodSeconds = 30;
      delete w.template.spec!.enableServiceLinks;
    });
    for (const wanted of [
      /sets command/,
      /root filesystem is writable/,
      /no cpu request and limit/,
      /may run as root/,
      /terminationGracePeriodSeconds 30/,
      /service links/,
    ]) {
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(wanted)]));
    }
  });

  it('a Service, PodMonitor or budget that selects nothing, and a port no PodMonitor scrapes', () => {
    const problems = mutate((c, _w, objects) => {
      for (const [i, port] of c.ports!.entries()) port.name = `web${i}`;
      for (const o of objects)
        if (o.kind === 'PodDisruptionBudget') (o.spec as { selector: unknown }).selector = {};
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'Service/runstream-ingest: targetPort http is no port of Deployment/runstream-ingest',
        'PodMonitor/runstream-ingest: Deployment/runstream-ingest has no port named metrics',
        "Deployment/runstream-ingest: no PodMonitor scrapes the ingest's /metrics",
        'PodDisruptionBudget/runstream-exporter: selects 0 workloads',
      ]),
    );
  });

  it('a requires marker the code has caught up with, or one on the wrong command', () => {
    const withMarker = (command: string, args: string[]) =>
      mutate((c, w) => {
        w.object.metadata.annotations = { [REQUIRES_COMMAND]: command };
        c.args = args;
      });
    expect(withMarker('ingest', ['ingest'])).toEqual([
      'Deployment/runstream-ingest runstream: "ingest" exists now; drop the requires-command marker',
    ]);
    expect(withMarker('topics verify', ['ingest'])).toEqual([
      'Deployment/runstream-ingest runstream: marked as requiring "topics verify" but runs "ingest"',
    ]);
  });

  it('a misspelt field or a wrong type, against the schemas', () => {
    const objects = copy(production);
    const ingest = containerOf(workloadsOf([objects[ingestIndex]!])[0]!) as IContainer &
      Record<string, unknown>;
    ingest.readinesProbe = ingest.readinessProbe;
    (objects[ingestIndex]!.spec as Record<string, unknown>).replicas = 'two';
    const problems = schemaProblems(objects);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Deployment\/runstream-ingest: .*replicas must be integer/),
        expect.stringMatching(/^Deployment\/runstream-ingest: .*'"?readinesProbe"?' does not exist/),
      ]),
    );
  });
});
