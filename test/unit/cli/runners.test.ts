// `runstream runners` as an operator runs it: the real CLI in a child process against
// the fake GitHub and Actions service over HTTP. Exit codes, the tables, the config
// files (mode 0600, the config and nothing else), and Ctrl-C through the AbortSignal.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { root } from '../../support/deploy-contract.js';
import type { FakeGitHub } from '../../support/fake-github.js';
import { generatePosts, startFake, TOKEN } from '../github/setup.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `runstream runners ...` against `fake`; `during` may act while it runs (e.g. send SIGINT). */
function runners(
  fake: FakeGitHub,
  args: string[],
  during?: (child: ReturnType<typeof spawn>) => Promise<void>,
): Promise<Run> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'cli', 'run.ts'), 'runners', ...args],
    {
      cwd: root,
      env: {
        ...process.env,
        RUNSTREAM_GITHUB_API_URL: fake.url,
        RUNSTREAM_GITHUB_TOKEN: TOKEN,
        RUNSTREAM_GITHUB_CONFIG_URL: 'https://github.com/octo-org',
        RUNSTREAM_GITHUB_CONCURRENCY: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return (async () => {
    await during?.(child);
    const code = await exited;
    clearTimeout(timer);
    return { code, stdout, stderr };
  })();
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const jitOf = (name: string) => Buffer.from(`jit:${name}`).toString('base64');

describe('runstream runners jit', () => {
  it('makes N configs in one batch, reports each, writes 0600 files and fails when one item failed', async () => {
    const fake = await startFake();
    fake.inject((r) => /"name":"ci-[0-9a-f]{8}-2"/.test(r.body ?? ''), {
      status: 400,
      body: { message: 'invalid runner name' },
    });
    const dir = await mkdtemp(join(tmpdir(), 'runstream-jit-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'configs');
    const run = await runners(fake, [
      'jit',
      '--scale-set',
      '7',
      '--count',
      '4',
      '--name-prefix',
      'ci',
      '--out',
      out,
    ]);

    expect(run.code).toBe(1);
    expect(generatePosts(fake)).toHaveLength(4);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^name +runner id +config file +result$/);
    expect(lines).toHaveLength(5);
    const rows = lines.slice(1).map((line) => line.split(/ {2,}/));
    expect(rows.map((r) => r[0])).toEqual(
      [0, 1, 2, 3].map((i) => expect.stringMatching(new RegExp(`^ci-[0-9a-f]{8}-${i}$`))),
    );
    const failed = rows[2] ?? [];
    expect(failed.slice(1)).toEqual(['-', '-', 'failed: HTTP 400: invalid runner name']);
    expect(run.stderr).toBe('3 of 4 runner configs generated (1 failed) for scale set 7 (scale-set-7)\n');

    const made = [...fake.runners.values()];
    expect(made).toHaveLength(3);
    expect((await readdir(out)).sort()).toEqual(made.map((r) => `${r.name}.jitconfig`).sort());
    expect((await stat(out)).mode & 0o777).toBe(0o700);
    for (const runner of made) {
      const row = rows.find((r) => r[0] === runner.name);
      expect(row?.[1]).toBe(String(runner.id));
      expect(row?.slice(2)).toEqual([join(out, `${runner.name}.jitconfig`), 'ok']);
      const file = join(out, `${runner.name}.jitconfig`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readFile(file, 'utf8')).toBe(jitOf(runner.name));
      // The secret is in its file only.
      expect(run.stdout + run.stderr).not.toContain(jitOf(runner.name));
    }
  });

  it('waits out a rate limit, warning on stderr, and keeps stdout the table', async () => {
    const fake = await startFake();
    fake.inject('/service/_apis/runtime/runnerscalesets/7/generatejitconfig', {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { message: 'slow down' },
    });
    const run = await runners(fake, ['jit', '--scale-set', '7', '--count', '2']);
    expect(run.code).toBe(0);
    expect(generatePosts(fake)).toHaveLength(3);
    expect(run.stdout).toMatch(/^name +runner id +result\n.* ok\n.* ok\n$/);
    const [warning, summary] = run.stderr.trimEnd().split('\n');
    expect(JSON.parse(warning ?? '')).toMatchObject({
      level: 40,
      reason: 'retry-after',
      waitMs: 1000,
      msg: 'GitHub request will be retried',
    });
    expect(summary).toBe(
      '2 of 2 runner configs generated for scale set 7 (scale-set-7); without --out the configs were not kept',
    );
  });

  it('stops sending on Ctrl-C and reports what was cancelled', async () => {
    const fake = await startFake();
    // POSTs hang, so both slots (RUNSTREAM_GITHUB_CONCURRENCY=2) hold one at Ctrl-C.
    fake.hold((r) => r.path.includes('/generatejitconfig'), 20_000);
    const run = await runners(fake, ['jit', '--scale-set', '7', '--count', '6'], async (child) => {
      await until('two POSTs in flight', () => generatePosts(fake).length === 2);
      child.kill('SIGINT');
    });
    expect(run.code).toBe(130);
    expect(generatePosts(fake)).toHaveLength(2);
    const results = run.stdout.trimEnd().split('\n').slice(1);
    expect(results).toHaveLength(6);
    expect(results.filter((line) => line.includes('cancelled after it was sent'))).toHaveLength(2);
    expect(results.filter((line) => line.includes('cancelled before it was sent'))).toHaveLength(4);
    expect(run.stderr).toMatch(/0 of 6 runner configs generated \(6 cancelled\)/);
  });

  it('names a scale set that does not exist as a usage error', async () => {
    const fake = await startFake();
    const run = await runners(fake, ['jit', '--scale-set', '99', '--count', '1']);
    expect(run).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'runstream: --scale-set: there is no runner scale set 99\n',
    });
    expect(generatePosts(fake)).toHaveLength(0);
  });
});

describe('runstream runners list and remove', () => {
  it("lists a scale set's runners, removes one by name, and fails on a name it does not have", async () => {
    const fake = await startFake();
    fake.addScaleSet({ id: 8, name: 'scale-set-8', runnerGroupId: 1 });
    for (const [id, name, scaleSet] of [
      [1, 'web-1', 7],
      [2, 'web-2', 7],
      [3, 'other-1', 8],
    ] as const) {
      fake.runners.set(id, { id, name, runnerScaleSetId: scaleSet });
    }
    const listed = await runners(fake, ['list', '--scale-set', '7']);
    expect(listed).toMatchObject({ code: 0, stderr: '2 runners in scale set 7 (scale-set-7)\n' });
    expect(listed.stdout).toBe('runner id  name\n1          web-1\n2          web-2\n');

    const removed = await runners(fake, ['remove', '--scale-set', '7', '--name', 'web-1']);
    expect(removed).toMatchObject({ code: 0, stdout: 'removed runner web-1 (id 1) from scale set 7\n' });
    expect([...fake.runners.keys()]).toEqual([2, 3]);

    // Gone already, and a runner of another scale set: neither is touched.
    for (const name of ['web-1', 'other-1']) {
      const missing = await runners(fake, ['remove', '--scale-set', '7', '--name', name]);
      expect(missing).toMatchObject({
        code: 1,
        stdout: '',
        stderr: `runstream: no runner named "${name}" in scale set 7 (scale-set-7)\n`,
      });
    }
    expect([...fake.runners.keys()]).toEqual([2, 3]);
    expect(fake.count('DELETE', '/service/')).toBe(1);
  });
});
