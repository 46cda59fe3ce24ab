// Which credentials each workload of a rendered pack can use, and whether they are its
// own role's only: the Kafka user it logs in as, the Secrets its pods mount, and the
// Secret each credential file lies in. The principals are docs/kafka-platform.md's.
import { dirname } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { readRepoFile } from './deploy-contract.js';
import type { KubeObject } from './k8s-schema.js';
import { environmentOf, isRunstream, type Workload, workloadsOf } from './kubernetes-pack.js';

export const WEBHOOK_SECRET_NAME = 'runstream-webhook';

/**
 * The Kafka user of each workload (by its app.kubernetes.io/component), from the
 * principals docs/kafka-platform.md grants ACLs to: the topics Job and the verify CronJob
 * run as the tools.
 */
export function documentedUsers(): Record<string, string> {
  const doc = readRepoFile('docs/kafka-platform.md');
  const principal = (variable: string) => {
    const found = new RegExp(`^${variable}=User:(\\S+)$`, 'm').exec(doc)?.[1];
    if (!found) throw new Error(`docs/kafka-platform.md defines no ${variable}=User:...`);
    return found;
  };
  const all = /`(User:(runstream-all))`/.exec(doc)?.[2];
  if (!all) throw new Error('docs/kafka-platform.md names no principal for `runstream all`');
  return {
    ingest: principal('INGEST'),
    processor: principal('PROCESSOR'),
    exporter: principal('EXPORTER'),
    topics: principal('TOOLS'),
    verify: principal('TOOLS'),
    all,
  };
}

/** A role's own Kafka Secret: runstream-kafka-<user without the runstream- prefix>. */
export const kafkaSecretOf = (user: string) => `runstream-kafka-${user.replace(/^runstream-/, '')}`;

function secretOfPath(workload: Workload, container: IContainer, path: string): string | undefined {
  const mount = container.volumeMounts?.find((m) => m.mountPath === dirname(path));
  return workload.template.spec?.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName;
}

/** Every way a workload uses credentials that are not its role's own, one line each. */
export function credentialProblems(objects: readonly KubeObject[], users: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const workload of workloadsOf(objects)) {
    const role = workload.template.metadata?.labels?.['app.kubernetes.io/component'] ?? '';
    const user = users[role];
    if (!user) {
      problems.push(`${workload.name}: no documented principal for role "${role}"`);
      continue;
    }
    const ownKafka = kafkaSecretOf(user);
    const allowedSecrets = new Set([
      ownKafka,
      ...(role === 'ingest' || role === 'all' ? [WEBHOOK_SECRET_NAME] : []),
    ]);
    for (const volume of workload.template.spec?.volumes ?? []) {
      const name =
        volume.secret?.secretName ?? volume.projected?.sources?.find((s) => s.secret)?.secret?.name;
      if (name && !allowedSecrets.has(name))
        problems.push(`${workload.name}: mounts Secret ${name}, not its own`);
    }
    for (const container of (workload.template.spec?.containers ?? []).filter(isRunstream)) {
      const env = environmentOf(container, objects);
      if (env.KAFKA_SASL_USERNAME !== user) {
        problems.push(`${workload.name}: logs in as ${env.KAFKA_SASL_USERNAME ?? 'nobody'}, not ${user}`);
      }
      for (const [name, value] of Object.entries(env)) {
        if (!/^KAFKA_.*_FILE$/.test(name)) continue;
        const secret = secretOfPath(workload, container, value);
        if (secret !== ownKafka)
          problems.push(`${workload.name}: ${name} is in ${secret ?? 'no Secret'}, not ${ownKafka}`);
      }
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef?.name;
        if (ref && !allowedSecrets.has(ref))
          problems.push(`${workload.name}: ${variable.name} reads Secret ${ref}`);
      }
    }
  }
  return problems;
}
