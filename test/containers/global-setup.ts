// The containers project needs a container engine. Without one it is skipped with one
// line saying so, unless CI=true, where that is a failure. With one: the images the
// Dockerfile and docker-compose.yml name are made present (scripts/images.sh: kept,
// pulled, or assembled where no registry answers), then runstream's image is built
// from the project's own Dockerfile, unchanged, as RUNSTREAM_TEST_IMAGE (runstream:test).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { docker, engineProblem } from '../support/docker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the containers tests cannot run here; empty when they can. */
    containersSkipped: string;
    runstreamImage: string;
  }
}

const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

export default async function setup(project: TestProject): Promise<void> {
  const image = process.env.RUNSTREAM_TEST_IMAGE ?? 'runstream:test';
  project.provide('runstreamImage', image);
  const problem = await engineProblem();
  if (problem) {
    const why = `no container engine answers (${problem})`;
    if (process.env.CI === 'true') throw new Error(`containers: ${why}; CI=true requires one`);
    console.log(`containers: skipped: ${why}. Start Docker to run them; CI=true makes this a failure.`);
    project.provide('containersSkipped', why);
    return;
  }
  project.provide('containersSkipped', '');

  let started = Date.now();
  const images = await run('bash', [join(root, 'scripts', 'images.sh'), 'node', 'kafka', 'prometheus'], {
    cwd: root,
    timeout: 20 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`scripts/images.sh failed:\n${error.stderr ?? error.message}`);
  });
  console.log(`${images.stderr.trim()}\ncontainers: base images ready in ${seconds(started)} s`);

  // The legacy builder unless told otherwise: BuildKit fetches the Dockerfile's
  // `# syntax=` frontend from a registry, and none may answer.
  started = Date.now();
  await docker(['build', '--network', 'host', '-t', image, '.'], {
    cwd: root,
    env: { DOCKER_BUILDKIT: process.env.DOCKER_BUILDKIT ?? '0' },
    timeoutMs: 20 * 60_000,
  });
  const size = Number(await docker(['image', 'inspect', '--format', '{{.Size}}', image]));
  console.log(`containers: ${image} built in ${seconds(started)} s, ${Math.round(size / 1e6)} MB`);
}

const seconds = (since: number) => Math.round((Date.now() - since) / 1000);
