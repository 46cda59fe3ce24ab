// A fake GitHub API and Actions service on loopback, for tests and benchmarks: the
// registration handshake, scale sets, runner groups, runners, JIT configs and a
// webhook delivery log built from real example payloads. It records every request
// and the most requests it ever had in flight, with configurable latency, failures,
// 429s and ETags.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type GeneratedDelivery, generateStream } from '../../demo/stream.js';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  at: number;
}

export interface FakeGitHubOptions {
  latencyMs?: number;
  /** Deliveries in the log (workflow events from real payloads, plus some pushes). */
  deliveries?: number;
  /** Admin token lifetime, seconds. */
  adminTokenTtlSeconds?: number;
}

interface Runner {
  id: number;
  name: string;
  runnerScaleSetId: number;
}

type Injected = { status: number; headers?: Record<string, string>; body?: unknown };

export interface FakeLogDelivery {
  id: number;
  guid: string;
  event: string;
  action: string | null;
  deliveredAt: number;
  payload: unknown;
}

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  latencyMs: number;
  readonly runners = new Map<number, Runner>();
  readonly log: FakeLogDelivery[];
  private server: Server | undefined;
  private nextRunnerId = 1;
  private injections: Array<{ match: (r: RecordedRequest) => boolean; answer: Injected; remaining: number }> =
    [];
  /** Make a generate POST succeed but answer 500, as a lost response would look. */
  loseNextGenerateResponses = 0;
  statistics = {
    totalAvailableJobs: 3,
    totalAcquiredJobs: 2,
    totalAssignedJobs: 2,
    totalRunningJobs: 1,
    totalRegisteredRunners: 4,
    totalBusyRunners: 1,
    totalIdleRunners: 3,
  };
  url = '';

  constructor(private readonly options: FakeGitHubOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.log = buildLog(options.deliveries ?? 0);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The next `count` requests matching `match` get `answer` instead. */
  inject(match: (r: RecordedRequest) => boolean, answer: Injected, count = 1): void {
    this.injections.push({ match, answer, remaining: count });
  }

  count(method: string, pathPrefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      at: Date.now(),
    };
    this.requests.push(recorded);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body =
      chunks.length > 0
        ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
        : {};
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const send = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      this.inFlight -= 1;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    const injected = this.injections.find((i) => i.remaining > 0 && i.match(recorded));
    if (injected) {
      injected.remaining -= 1;
      return send(
        injected.answer.status,
        injected.answer.body ?? { message: 'injected' },
        injected.answer.headers,
      );
    }
    try {
      const answer = this.route(recorded, body);
      send(answer.status, answer.body, answer.headers);
    } catch (error) {
      send(500, { message: (error as Error).message });
    }
  }

  private route(r: RecordedRequest, body: Record<string, unknown>): Injected {
    const url = new URL(r.path, 'http://fake');
    const path = url.pathname;
    const q = url.searchParams;
    if (
      r.method === 'POST' &&
      /^\/(orgs\/[^/]+|repos\/[^/]+\/[^/]+|enterprises\/[^/]+)\/actions\/runners\/registration-token$/.test(
        path,
      )
    ) {
      return {
        status: 201,
        body: { token: 'registration-token', expires_at: new Date(Date.now() + 3_600_000).toISOString() },
      };
    }
    if (r.method === 'POST' && path === '/actions/runner-registration') {
      if (r.headers.authorization !== 'RemoteAuth registration-token')
        return { status: 401, body: { message: 'bad remote auth' } };
      const exp = Math.floor(Date.now() / 1000) + (this.options.adminTokenTtlSeconds ?? 3600);
      const jwt = `${b64({ alg: 'none' })}.${b64({ exp })}.sig`;
      return { status: 200, body: { url: `${this.url}/service/`, token: jwt } };
    }
    if (path.startsWith('/service/')) {
      if (!r.headers.authorization?.startsWith('Bearer '))
        return { status: 401, body: { message: 'no admin token' } };
      return this.service(r.method, path.slice('/service'.length), q, body);
    }
    const deliveries =
      /^\/(repos\/[^/]+\/[^/]+\/hooks\/\d+|orgs\/[^/]+\/hooks\/\d+|app\/hook)\/deliveries(?:\/(\d+))?$/.exec(
        path,
      );
    if (deliveries && r.method === 'GET') return this.deliveryLog(r, q, deliveries[2]);
    return { status: 404, body: { message: `no route ${r.method} ${path}` } };
  }

  private service(method: string, path: string, q: URLSearchParams, body: Record<string, unknown>): Injected {
    const scaleSet = (id: number) => ({
      id,
      name: `scale-set-${id}`,
      runnerGroupId: 1,
      runnerGroupName: 'Default',
      statistics: this.statistics,
    });
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/_apis/runtime/runnerscalesets') {
      const name = q.get('name') ?? '';
      return {
        status: 200,
        body: name.startsWith('missing')
          ? { count: 0, value: [] }
          : { count: 1, value: [{ ...scaleSet(7), name }] },
      };
    }
    if (method === 'GET' && (m = /^\/_apis\/runtime\/runnerscalesets\/(\d+)$/.exec(path)))
      return { status: 200, body: scaleSet(Number(m[1])) };
    if (
      method === 'POST' &&
      (m = /^\/_apis\/runtime\/runnerscalesets\/(\d+)\/generatejitconfig$/.exec(path))
    ) {
      const name = String(body.name);
      if ([...this.runners.values()].some((x) => x.name === name)) {
        return {
          status: 409,
          body: {
            typeName: 'GitHub.DistributedTask.WebApi.AgentExistsException, Sdk',
            message: `runner ${name} exists`,
          },
        };
      }
      const runner = { id: this.nextRunnerId++, name, runnerScaleSetId: Number(m[1]) };
      this.runners.set(runner.id, runner);
      if (this.loseNextGenerateResponses > 0) {
        this.loseNextGenerateResponses -= 1;
        return { status: 502, body: { message: 'bad gateway (the runner was created)' } };
      }
      return {
        status: 200,
        body: { runner, encodedJITConfig: Buffer.from(`jit:${name}`).toString('base64') },
      };
    }
    if (method === 'GET' && path === '/_apis/runtime/runnergroups/') {
      const name = q.get('groupName') ?? '';
      return {
        status: 200,
        body: name === 'missing' ? { count: 0, value: [] } : { count: 1, value: [{ id: 1, name }] },
      };
    }
    if (path === '/_apis/distributedtask/pools/0/agents' && method === 'GET') {
      const found = [...this.runners.values()].filter((x) => x.name === q.get('agentName'));
      return { status: 200, body: { count: found.length, value: found } };
    }
    if ((m = /^\/_apis\/distributedtask\/pools\/0\/agents\/(\d+)$/.exec(path))) {
      const runner = this.runners.get(Number(m[1]));
      if (!runner) {
        return {
          status: 404,
          body: { typeName: 'GitHub.DistributedTask.WebApi.AgentNotFoundException', message: 'no runner' },
        };
      }
      if (method === 'DELETE') {
        this.runners.delete(runner.id);
        return { status: 204 };
      }
      return { status: 200, body: runner };
    }
    return { status: 404, body: { message: `no service route ${method} ${path}` } };
  }

  private deliveryLog(r: RecordedRequest, q: URLSearchParams, id: string | undefined): Injected {
    if (id !== undefined) {
      const d = this.log.find((x) => x.id === Number(id));
      if (!d) return { status: 404, body: { message: 'Not Found' } };
      const etag = `"delivery-${d.id}"`;
      if (r.headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
      return {
        status: 200,
        headers: { etag },
        body: { ...summary(d), request: { headers: requestHeaders(d), payload: d.payload } },
      };
    }
    const perPage = Math.min(100, Number(q.get('per_page') ?? 30));
    const start = Number(q.get('cursor') ?? 0);
    const page = this.log.slice(start, start + perPage);
    const headers: Record<string, string> = {};
    if (start + perPage < this.log.length) {
      headers.link = `<${this.url}${new URL(r.path, 'http://fake').pathname}?per_page=${perPage}&cursor=${start + perPage}>; rel="next"`;
    }
    return { status: 200, headers, body: page.map(summary) };
  }
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function summary(d: FakeLogDelivery) {
  return {
    id: d.id,
    guid: d.guid,
    delivered_at: new Date(d.deliveredAt).toISOString(),
    redelivery: false,
    status: 'OK',
    status_code: 202,
    event: d.event,
    action: d.action,
    installation_id: null,
    repository_id: 1,
  };
}

function requestHeaders(d: FakeLogDelivery): Record<string, string> {
  return {
    'X-GitHub-Delivery': d.guid,
    'X-GitHub-Event': d.event,
    'X-GitHub-Hook-ID': '4242',
    'Content-Type': 'application/json',
  };
}

/** Newest first, as GitHub lists them: workflow events from real payloads, every 10th a push. */
function buildLog(count: number): FakeLogDelivery[] {
  if (count === 0) return [];
  const stream: GeneratedDelivery[] = generateStream({
    seed: 4242,
    runs: Math.ceil(count / 5) + 5,
    duplicateRate: 0,
  });
  const start = Date.UTC(2026, 10, 1);
  const out: FakeLogDelivery[] = [];
  for (let i = 0; i < count; i++) {
    const d = stream[i % stream.length]!;
    const isPush = i % 10 === 9;
    out.push({
      id: 1_000_000 + i,
      guid: isPush
        ? `push-${i}`
        : i < stream.length
          ? d.id
          : `${d.id.slice(0, -6)}${String(i).padStart(6, '0')}`,
      event: isPush ? 'push' : d.event,
      action: isPush ? null : d.action,
      deliveredAt: start + i * 60_000,
      payload: isPush ? { ref: 'refs/heads/main' } : d.payload,
    });
  }
  return out.reverse();
}
