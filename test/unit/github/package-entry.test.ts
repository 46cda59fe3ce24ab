// `runstream/github`, the package's entry point for code that wants the client: built,
// then imported by package name (self-reference through package.json `exports`) by a
// separate node process that batches JIT configs against the fake, and type-checked
// by tsc from the built declarations.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { root } from '../../support/deploy-contract.js';
import { startFake } from './setup.js';

const run = promisify(execFile);
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

beforeAll(async () => {
  await run(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, timeout: 120_000 });
}, 150_000);

const USE = `
const { ActionsServiceClient, HttpClient, TokenAuth, withCache } = await import('runstream/github');
const service = withCache(
  new ActionsServiceClient({
    http: new HttpClient({ concurrency: 4 }),
    auth: new TokenAuth('ghp_entry'),
    apiUrl: process.env.FAKE_URL,
    githubConfigUrl: 'https://github.com/octo-org',
  }),
  { ttl: 60_000, max: 100 },
);
const result = await service.batchGenerateJitConfigs(3, { namePrefix: 'entry' }, 7);
console.log(JSON.stringify({ succeeded: result.succeeded, names: result.items.map((i) => i.name) }));
`;

const TYPED = `
import { type ActionsService, batchGenerateJitConfigs, type JitBatchResult } from 'runstream/github';

export async function made(service: ActionsService): Promise<number> {
  const result: JitBatchResult = await batchGenerateJitConfigs(service, 2, { namePrefix: 'x' }, 7);
  return result.succeeded;
}

export function wrongCount(service: ActionsService) {
  // @ts-expect-error the count is a number
  return batchGenerateJitConfigs(service, '2', { namePrefix: 'x' }, 7);
}
`;

describe('runstream/github', () => {
  it('is importable by package name from the build, and batches for real', async () => {
    const fake = await startFake();
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', USE], {
      cwd: root,
      env: { ...process.env, FAKE_URL: fake.url },
      timeout: 60_000,
    });
    const answer = JSON.parse(stdout) as { succeeded: number; names: string[] };
    expect(answer.succeeded).toBe(3);
    expect([...fake.runners.values()].map((r) => r.name).sort()).toEqual([...answer.names].sort());
  });

  it('comes with its types', async () => {
    await mkdir(join(root, '.scratch'), { recursive: true });
    const dir = await mkdtemp(join(root, '.scratch', 'entry-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'use.ts'), TYPED);
    const args = [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext'];
    await run(process.execPath, [...args, '--types', 'node', join(dir, 'use.ts')], {
      cwd: root,
      timeout: 120_000,
    });
  });
});
