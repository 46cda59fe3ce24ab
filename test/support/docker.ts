// The container engine through its own CLI (docker, and docker compose or
// docker-compose 1.29 where the v2 plugin is missing), for the containers project:
// what an operator types, run by the tests, with clear errors when it fails.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DockerOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
}

async function exec(command: string, args: readonly string[], options: DockerOptions = {}): Promise<string> {
  try {
    const { stdout } = await run(command, [...args], {
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 120_000,
      cwd: options.cwd,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout.trim();
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    const said = (e.stderr || e.stdout || e.message).trim().split('\n').slice(-15).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed:\n${said}`);
  }
}

/** `docker <args>`: its stdout, trimmed. */
export function docker(args: readonly string[], options?: DockerOptions): Promise<string> {
  return exec('docker', args, options);
}

/** Undefined when an engine answers `docker version`, else why not (one line). */
export async function engineProblem(): Promise<string | undefined> {
  try {
    await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 15_000 });
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n').slice(1).join(' ').trim() || 'docker version failed';
  }
}

/** `docker compose` (v2) where it answers, else `docker-compose` (v1), as [command, ...args]. */
export async function composeCommand(): Promise<string[]> {
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    try {
      await exec(candidate[0]!, [...candidate.slice(1), 'version'], { timeoutMs: 15_000 });
      return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error('neither `docker compose` nor `docker-compose` answers');
}

export function compose(
  command: readonly string[],
  args: readonly string[],
  options?: DockerOptions,
): Promise<string> {
  return exec(command[0]!, [...command.slice(1), ...args], options);
}

/** The host port a container's port is published on (127.0.0.1). */
export async function publishedPort(container: string, port: string): Promise<number> {
  const out = await docker(['port', container, port]);
  const match = /:(\d+)\s*$/m.exec(out.split('\n')[0] ?? '');
  if (!match) throw new Error(`container ${container} publishes no ${port} (docker port said: ${out})`);
  return Number(match[1]);
}

/** GET with a timeout (and a timer that keeps the loop alive: docker-proxy's quirk). */
export async function httpGet(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  const keepAlive = setInterval(() => undefined, 1_000);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: response.status, body: await response.text() };
  } finally {
    clearInterval(keepAlive);
  }
}

/** A URL inside a container, fetched by its own node (for ports it does not publish). */
export async function httpGetInside(container: string, url: string): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) })
    .then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e)); process.exit(1); })`;
  return docker(['exec', container, 'node', '-e', script], { timeoutMs: 30_000 });
}
