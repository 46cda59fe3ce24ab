// Validates rendered Kubernetes objects against the API schema and the Prometheus
// Operator CRDs, twice: the JSON schemas (kubernetes-models, ajv: types, required
// fields, enums, patterns) and the same models' TypeScript types, which reject what
// JSON schemas let through: a misspelt field ("readinesProbe") is an excess property.
import { join } from 'node:path';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import ts from 'typescript';
import { root } from './deploy-contract.js';

/** A rendered object, as far as every kind shares it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

interface Model {
  validate(): void;
}

interface Kind {
  model: new (data: never) => Model;
  /** The module and interface of its TypeScript type. */
  module: string;
  type: string;
}

const OPERATOR = '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
const KINDS: Record<string, Kind> = {
  'v1/Namespace': { model: Namespace, module: 'kubernetes-models/v1/Namespace', type: 'INamespace' },
  'v1/ServiceAccount': {
    model: ServiceAccount,
    module: 'kubernetes-models/v1/ServiceAccount',
    type: 'IServiceAccount',
  },
  'v1/ConfigMap': { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  'v1/Service': { model: Service, module: 'kubernetes-models/v1/Service', type: 'IService' },
  'apps/v1/Deployment': {
    model: Deployment,
    module: 'kubernetes-models/apps/v1/Deployment',
    type: 'IDeployment',
  },
  'apps/v1/StatefulSet': {
    model: StatefulSet,
    module: 'kubernetes-models/apps/v1/StatefulSet',
    type: 'IStatefulSet',
  },
  'batch/v1/Job': { model: Job, module: 'kubernetes-models/batch/v1/Job', type: 'IJob' },
  'batch/v1/CronJob': { model: CronJob, module: 'kubernetes-models/batch/v1/CronJob', type: 'ICronJob' },
  'autoscaling/v2/HorizontalPodAutoscaler': {
    model: HorizontalPodAutoscaler,
    module: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    type: 'IHorizontalPodAutoscaler',
  },
  'policy/v1/PodDisruptionBudget': {
    model: PodDisruptionBudget,
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    type: 'IPodDisruptionBudget',
  },
  'networking.k8s.io/v1/Ingress': {
    model: Ingress,
    module: 'kubernetes-models/networking.k8s.io/v1/Ingress',
    type: 'IIngress',
  },
  'networking.k8s.io/v1/NetworkPolicy': {
    model: NetworkPolicy,
    module: 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    type: 'INetworkPolicy',
  },
  'monitoring.coreos.com/v1/PodMonitor': {
    model: PodMonitor,
    module: `${OPERATOR}/PodMonitor`,
    type: 'IPodMonitor',
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    model: ServiceMonitor,
    module: `${OPERATOR}/ServiceMonitor`,
    type: 'IServiceMonitor',
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    model: PrometheusRule,
    module: `${OPERATOR}/PrometheusRule`,
    type: 'IPrometheusRule',
  },
};

const describe = (o: KubeObject) => `${o.kind}/${o.metadata?.name}`;

/** JSON-schema problems (and kinds the pack has no schema for), one line each. */
function jsonSchemaProblems(objects: readonly KubeObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    const kind = KINDS[`${object.apiVersion}/${object.kind}`];
    if (!kind) {
      problems.push(`${describe(object)}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new kind.model(object as never).validate();
    } catch (error) {
      problems.push(`${describe(object)}: ${(error as Error).message}`);
    }
  }
  return problems;
}

/** Type errors of the objects as object literals of their models' types. */
function typeProblems(objects: readonly KubeObject[]): string[] {
  const checked = objects
    .map((object, index) => ({ object, index, kind: KINDS[`${object.apiVersion}/${object.kind}`] }))
    .filter((entry): entry is { object: KubeObject; index: number; kind: Kind } => entry.kind !== undefined);
  const imports = [
    ...new Set(checked.map(({ kind }) => `import type { ${kind.type} } from '${kind.module}';`)),
  ];
  const lines = checked.map(
    ({ object, index, kind }) => `export const o${index}: ${kind.type} = ${JSON.stringify(object)};`,
  );
  // Inside the repository, so the packages resolve from its node_modules.
  const fileName = join(root, 'test', '__rendered_objects__.ts');
  const source = [...imports, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === fileName ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
    if (diagnostic.file?.fileName !== fileName || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const entry = checked[line - imports.length];
    return `${entry ? describe(entry.object) : 'rendered objects'}: ${message}`;
  });
}

/** Every schema problem of the objects, as readable lines (none when all are valid). */
export function schemaProblems(objects: readonly KubeObject[]): string[] {
  return [...jsonSchemaProblems(objects), ...typeProblems(objects)];
}
