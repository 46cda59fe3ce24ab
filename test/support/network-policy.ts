// What the NetworkPolicies of a rendered pack let through, worked out the way the
// Kubernetes API defines it: a pod selected by any policy of a type is isolated for
// that direction, and then allowed exactly the union of the rules of the policies that
// select it. A rule without ports allows every port, one without peers every peer.
// Peers and ports come back as readable strings for the tests to compare.
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { KubeObject } from './k8s-schema.js';

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

interface Peer {
  namespaceSelector?: LabelSelector;
  podSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface Rule {
  ports?: Array<{ protocol?: string; port?: number | string; endPort?: number }>;
  from?: Peer[];
  to?: Peer[];
}

interface PolicySpec {
  podSelector: LabelSelector;
  policyTypes?: Array<'Ingress' | 'Egress'>;
  ingress?: Rule[];
  egress?: Rule[];
}

export type Direction = 'Ingress' | 'Egress';

/** Whether a selector picks these labels ({} picks every pod). */
export function matches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  });
  return byLabel && byExpression;
}

function selectorText(selector: LabelSelector): string {
  const labels = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  const expressions = (selector.matchExpressions ?? []).map(
    (e) => `${e.key} ${e.operator} (${(e.values ?? []).join(',')})`,
  );
  return [...labels, ...expressions].join(',') || 'all';
}

function peerText(peer: Peer): string {
  if (peer.ipBlock) {
    const except = peer.ipBlock.except?.length ? ` except ${peer.ipBlock.except.join(',')}` : '';
    return `cidr ${peer.ipBlock.cidr}${except}`;
  }
  const parts: string[] = [];
  // A podSelector alone picks pods of the policy's own namespace.
  parts.push(peer.namespaceSelector ? `namespace ${selectorText(peer.namespaceSelector)}` : 'own namespace');
  if (peer.podSelector) parts.push(`pods ${selectorText(peer.podSelector)}`);
  return parts.join(' ');
}

function typesOf(spec: PolicySpec): Direction[] {
  return spec.policyTypes ?? ['Ingress', ...(spec.egress ? (['Egress'] as const) : [])];
}

const policiesOf = (objects: readonly KubeObject[]) =>
  objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.spec as PolicySpec);

/** Whether some policy isolates the pods with these labels in a direction. */
export function isolated(
  objects: readonly KubeObject[],
  labels: Record<string, string>,
  direction: Direction,
) {
  return policiesOf(objects).some((p) => typesOf(p).includes(direction) && matches(p.podSelector, labels));
}

/**
 * Everything a pod may receive (Ingress) or send (Egress), as sorted
 * `PROTOCOL port <- peer` / `PROTOCOL port -> peer` lines; named ports are resolved
 * against the container's. `all traffic` for a pod no policy isolates.
 */
export function allowed(
  objects: readonly KubeObject[],
  labels: Record<string, string>,
  direction: Direction,
  container?: IContainer,
): string[] {
  if (!isolated(objects, labels, direction)) return ['all traffic'];
  const arrow = direction === 'Ingress' ? '<-' : '->';
  const lines = new Set<string>();
  for (const policy of policiesOf(objects)) {
    if (!typesOf(policy).includes(direction) || !matches(policy.podSelector, labels)) continue;
    for (const rule of (direction === 'Ingress' ? policy.ingress : policy.egress) ?? []) {
      const peers = (direction === 'Ingress' ? rule.from : rule.to) ?? [];
      const peerTexts = peers.length === 0 ? ['anywhere'] : peers.map(peerText);
      const ports = (rule.ports ?? []).map((p) => {
        const number =
          typeof p.port === 'string'
            ? (container?.ports?.find((c) => c.name === p.port)?.containerPort ?? `unknown port ${p.port}`)
            : (p.port ?? 'every port');
        return `${p.protocol ?? 'TCP'} ${number}${p.endPort ? `-${p.endPort}` : ''}`;
      });
      for (const port of ports.length === 0 ? ['every port'] : ports)
        for (const peer of peerTexts) lines.add(`${port} ${arrow} ${peer}`);
    }
  }
  return [...lines].sort();
}
