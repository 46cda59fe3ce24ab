// Renders the Kubernetes pack offline with `kubectl kustomize` (no cluster needed):
// an overlay as it is, or an overlay with some of the pack's components, the way an
// operator's own kustomization would include them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { root } from './deploy-contract.js';
import type { KubeObject } from './k8s-schema.js';

export const PACK = join(root, 'deploy', 'kubernetes');

export interface Variant {
  overlay: 'single-node' | 'production';
  components?: readonly string[];
}

export function variantName(variant: Variant): string {
  return [variant.overlay, ...(variant.components ?? [])].join(' + ');
}

function kustomize(dir: string): string {
  try {
    return execFileSync('kubectl', ['kustomize', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const { code, stderr } = error as { code?: string; stderr?: string };
    if (code === 'ENOENT')
      throw new Error('kubectl is not installed; the Kubernetes pack is rendered with it');
    throw new Error(`kubectl kustomize ${dir} failed: ${stderr ?? String(error)}`);
  }
}

export function parseObjects(yamlText: string): KubeObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

/** Any kustomization directory of the repository (deploy/keda, ...), rendered offline. */
export function renderDirectory(dir: string): KubeObject[] {
  return parseObjects(kustomize(dir));
}

export function render(variant: Variant): KubeObject[] {
  const overlay = join(PACK, 'overlays', variant.overlay);
  if (!variant.components?.length) return parseObjects(kustomize(overlay));
  const dir = mkdtempSync(join(tmpdir(), 'runstream-kustomize-'));
  try {
    const components = variant.components.map((c) => `  - ${relative(dir, join(PACK, 'components', c))}`);
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(dir, overlay)}`,
        'components:',
        ...components,
        '',
      ].join('\n'),
    );
    return parseObjects(kustomize(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
