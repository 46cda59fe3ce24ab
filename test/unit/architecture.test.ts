// The folders tell the architecture (docs/architecture.md), and these rules keep them
// honest: the contract (schemas/) and the adapters (platform/) import no role; the
// roles import neither each other nor the composition root; only the CLI starts the
// processor, through its entry points; kafkajs stays behind the Kafka port, in
// platform/kafka/, reached only through its entry point; and no module imports itself
// back in a cycle.
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
/** Where the Kafka client may be imported: the port's one adapter. */
const KAFKA_ADAPTER = 'platform/kafka/';
/** The adapter's one entry point: createKafka, for a role's start and the tools. */
const KAFKA_ENTRY = 'platform/kafka/index.ts';

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

/**
 * Every module a file names: static imports and re-exports (also `import type`), side-
 * effect imports, dynamic imports and requires (also createRequire(...)('x')).
 */
function specifiersOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const pattern =
    /(?:^\s*(?:import|export)\s[^;]*?\sfrom\s*|^\s*import\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\)\s*\(\s*)'([^']+)'/gms;
  return [...text.matchAll(pattern)].map((match) => match[1]!);
}

/** A specifier as a source path when it is relative, else as written (a package). */
function resolved(file: string, specifier: string): string {
  return specifier.startsWith('.')
    ? normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts')
    : specifier;
}

const files = SOURCE_FOLDERS.flatMap(sourceFiles);
/** What the Kafka rules cover: the production folders and the benchmarks. */
const kafkaRuleFiles = [...files, ...sourceFiles('bench')];
const folderOf = (file: string) => file.split('/')[0]!;

describe('architecture', () => {
  it('reads every source folder', () => {
    expect(files.length).toBeGreaterThan(50);
    for (const folder of SOURCE_FOLDERS) expect(files.some((f) => folderOf(f) === folder)).toBe(true);
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

  it('imports kafkajs only in platform/kafka/, the adapter of the Kafka port', () => {
    expect(kafkaRuleFiles.some((file) => file.startsWith(KAFKA_ADAPTER))).toBe(true);
    const outside = kafkaRuleFiles
      .filter((file) => !file.startsWith(KAFKA_ADAPTER))
      .flatMap((file) => specifiersOf(file).map((specifier) => ({ file, specifier })))
      .filter(({ specifier }) => specifier === 'kafkajs' || specifier.startsWith('kafkajs/'));
    expect(outside).toEqual([]);
  });

  it('reaches platform/kafka/ from outside only through its entry point', () => {
    const into = kafkaRuleFiles
      .filter((file) => !file.startsWith(KAFKA_ADAPTER))
      .flatMap((file) => specifiersOf(file).map((specifier) => ({ file, target: resolved(file, specifier) })))
      .filter(({ target }) => target.startsWith(KAFKA_ADAPTER) && target !== KAFKA_ENTRY);
    expect(into).toEqual([]);
    // The rule sees the entry point's users (else it could not fail).
    expect(
      kafkaRuleFiles.some((file) => specifiersOf(file).some((s) => resolved(file, s) === KAFKA_ENTRY)),
    ).toBe(true);
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
