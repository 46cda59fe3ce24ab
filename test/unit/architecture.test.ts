// The folders tell the architecture (docs/architecture.md), and these rules keep them
// honest: the contract (schemas/) and the adapters (platform/) import no role; the
// roles import neither each other nor the composition root; only the CLI starts the
// processor, through its entry points; and no module imports itself back in a cycle.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../support/deploy-contract.js';

const SOURCE_FOLDERS = [
  'cli',
  'demo',
  'exporter',
  'github',
  'ingest',
  'platform',
  'processor',
  'replay',
  'schemas',
];
const ROLES = ['ingest', 'processor', 'exporter'];

function sourceFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => normalize(join(folder, file)));
}

/** Relative imports of a file as source paths; `import type` only when `withTypes`. */
function importsOf(file: string, withTypes: boolean): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^import\s+(type\s+)?[^;]*?\sfrom\s+'(\.[^']+)'/gms)) {
    if (match[1] && !withTypes) continue;
    found.push(normalize(join(dirname(file), match[2]!)).replace(/\.js$/, '.ts'));
  }
  return found;
}

const files = SOURCE_FOLDERS.flatMap(sourceFiles);
const folderOf = (file: string) => file.split('/')[0]!;

/** Every source file a file imports, directly or through others (`import type` included). */
function reachedFrom(file: string): Set<string> {
  const reached = new Set<string>();
  const visit = (from: string) => {
    for (const next of importsOf(from, true)) {
      if (!files.includes(next) || reached.has(next)) continue;
      reached.add(next);
      visit(next);
    }
  };
  visit(file);
  return reached;
}

/** Applying a chunk of deliveries: the processor's delivery path (docs/architecture.md). */
const DELIVERY_PATH = ['processor/apply-chunk.ts', 'processor/delivery-record.ts'];
/** What restore, housekeeping and recount are made of, and what they share with the delivery path. */
const BESIDE_DELIVERY_PATH = [
  'processor/restorer.ts',
  'processor/housekeeping.ts',
  'processor/recount.ts',
  'processor/pending-changes.ts',
  'processor/state-reader.ts',
  'processor/gauges.ts',
  'processor/markers.ts',
];

describe('architecture', () => {
  it('reads every source folder', () => {
    expect(files.length).toBeGreaterThan(50);
    for (const folder of SOURCE_FOLDERS) expect(files.some((f) => folderOf(f) === folder)).toBe(true);
  });

  // Restore, housekeeping and recount share the processor's write buffer and state
  // reader, not its delivery path.
  it('restore, housekeeping, recount and what they share import nothing of the delivery path', () => {
    for (const file of [...DELIVERY_PATH, ...BESIDE_DELIVERY_PATH]) expect(files).toContain(file);
    const into = BESIDE_DELIVERY_PATH.flatMap((file) =>
      [...reachedFrom(file)]
        .filter((target) => DELIVERY_PATH.includes(target))
        .map((target) => ({ file, target })),
    );
    expect(into).toEqual([]);
  });

  it('every path docs/architecture.md quotes (`folder/file.ts`) exists', () => {
    const text = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
    const named = [...text.matchAll(/`([a-z-]+\/[\w./-]+\.ts)`/g)].map((match) => match[1]!);
    expect(named.length).toBeGreaterThan(30);
    const exists = (file: string) => {
      try {
        readFileSync(join(root, file));
        return true;
      } catch {
        return false;
      }
    };
    expect(named.filter((file) => !exists(file))).toEqual([]);
  });

  it('the contract and the adapters import no role, no CLI and no tool', () => {
    const upward = files
      .filter((file) => ['schemas', 'platform'].includes(folderOf(file)))
      .flatMap((file) => importsOf(file, true).map((target) => ({ file, target })))
      .filter(({ target }) => !['schemas', 'platform'].includes(folderOf(target)));
    expect(upward).toEqual([]);
  });

  it('a role imports no other role and not the CLI', () => {
    const across = files
      .filter((file) => ROLES.includes(folderOf(file)))
      .flatMap((file) => importsOf(file, true).map((target) => ({ file, target })))
      .filter(
        ({ file, target }) =>
          folderOf(target) !== folderOf(file) && [...ROLES, 'cli'].includes(folderOf(target)),
      );
    expect(across).toEqual([]);
  });

  it('outside processor/, only the CLI imports it, and only its entry points', () => {
    const into = files
      .filter((file) => folderOf(file) !== 'processor')
      .flatMap((file) => importsOf(file, true).map((target) => ({ file, target })))
      .filter(({ target }) => folderOf(target) === 'processor');
    for (const { file, target } of into) {
      expect({ file, target, cli: folderOf(file) === 'cli' }).toMatchObject({ cli: true });
      expect([
        'processor/main.ts',
        'processor/config.ts',
        'processor/reprocess.ts',
        'processor/verify.ts',
      ]).toContain(target);
    }
  });

  it('has no import cycle (value imports)', () => {
    const graph = new Map(
      files.map((file) => [file, importsOf(file, false).filter((t) => files.includes(t))]),
    );
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[][] = [];
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      path.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next]);
        else if (!state.has(next)) visit(next);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles.map((cycle) => cycle.map((f) => relative('.', f)).join(' -> '))).toEqual([]);
  });
});
