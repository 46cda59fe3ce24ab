// A fake GitHub API and Actions service on loopback (node:http, 127.0.0.1, port 0) for
// tests and benchmarks: the registration handshake, GitHub App installation tokens,
// scale sets, runner groups, runners (names unique: AgentExistsException), JIT
// configs, and a webhook delivery log built from real example payloads, paged with a
// Link cursor and served with ETags (a 304 carries no body). It records every request
// and counts the requests in flight (now and at most), so tests prove behaviour by
// counting. Latency (for all requests or those that match), failures (by predicate, path or Nth request), 429s with
// Retry-After and a primary rate limit are configurable.
import { createVerify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type GeneratedDelivery, generateStream } from '../../demo/stream.js';

export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  method: string;
  /** Path and query, exactly as requested. */
  path: string;
  headers: IncomingMessage['headers'];
  /** Arrival time, ms since epoch. */
  at: number;
  /** Request body text (set once read, before injections are matched). */
  body?: string;
  /** Set when the answer was sent. */
  status?: number;
  /** Response body bytes sent. */
  bytes?: number;
  endedAt?: number;
}

export interface FakeGitHubOptions {
  /** Delay before every answer, ms (mutable later through `latencyMs`). */
  latencyMs?: number;
  /** Deliveries in the log (workflow events from real payloads; every 10th a push). */
  deliveries?: number;
  /** Admin token lifetime, seconds (default 3600). */
  adminTokenTtlSeconds?: number;
  /** Installation token lifetime, seconds (default 3600). */
  installationTokenTtlSeconds?: number;
  /** When given, app JWTs (installation tokens, /app/hook) must verify with this key. */
  appPublicKey?: KeyObject | string;
}

export interface FakeRunner {
  id: number;
  name: string;
  runnerScaleSetId: number;
}

export interface FakeScaleSet {
  id: number;
  name: string;
  runnerGroupId: number;
  runnerGroupName: string;
  /** Overrides the fake's shared `statistics` for this scale set. */
  statistics?: FakeStatistics;
}

export interface FakeStatistics {
  totalAvailableJobs: number;
  totalAcquiredJobs: number;
  totalAssignedJobs: number;
  totalRunningJobs: number;
  totalRegisteredRunners: number;
  totalBusyRunners: number;
  totalIdleRunners: number;
}

export interface FakeAnswer {
  status: number;
  headers?: Record<string, string>;
  /** JSON body; `undefined` sends none. */
  body?: unknown;
}

export type RequestMatch = string | RegExp | ((r: RecordedRequest) => boolean);

export interface FakeLogDelivery {
  id: number;
  guid: string;
  event: string;
  action: string | null;
  deliveredAt: number;
  payload: unknown;
}

/** A primary rate limit on the REST routes (not the Actions service). */
export interface FakeRateLimit {
  limit: number;
  remaining: number;
  resetAtMs: number;
}

const SERVICE_PREFIX = '/service';

function matches(match: RequestMatch, r: RecordedRequest): boolean {
  if (typeof match === 'string') return r.path.startsWith(match);
  if (match instanceof RegExp) return match.test(r.path);
  return match(r);
}

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** TCP connections accepted (keep-alive reuses them). */
  connections = 0;
  latencyMs: number;
  readonly runners = new Map<number, FakeRunner>();
  readonly scaleSets = new Map<number, FakeScaleSet>();
  readonly runnerGroups = new Map<string, { id: number; name: string }>();
  readonly log: FakeLogDelivery[];
  /** Statistics of every scale set without its own. */
  statistics: FakeStatistics = {
    totalAvailableJobs: 3,
    totalAcquiredJobs: 2,
    totalAssignedJobs: 2,
    totalRunningJobs: 1,
    totalRegisteredRunners: 4,
    totalBusyRunners: 1,
    totalIdleRunners: 3,
  };
  /** Generate POSTs that create the runner but answer 502, as a lost response looks. */
  loseNextGenerateResponses = 0;
  rateLimit: FakeRateLimit | undefined;
  url = '';
  private server: Server | undefined;
  private nextRunnerId = 1;
  private nextToken = 1;
  private readonly registrationTokens = new Set<string>();
  private readonly adminTokens = new Set<string>();
  private readonly installationTokens = new Set<string>();
  private injections: Array<{ match: RequestMatch; answer: FakeAnswer; remaining: number }> = [];
  private readonly holds: Array<{ match: RequestMatch; ms: number }> = [];

  constructor(private readonly options: FakeGitHubOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0;
    this.log = buildLog(options.deliveries ?? 0);
    this.runnerGroups.set('Default', { id: 1, name: 'Default' });
    this.addScaleSet({ id: 7, name: 'scale-set-7', runnerGroupId: 1 });
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', () => {
      this.connections += 1;
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  addScaleSet(s: {
    id: number;
    name: string;
    runnerGroupId: number;
    statistics?: FakeStatistics;
  }): FakeScaleSet {
    const group = [...this.runnerGroups.values()].find((g) => g.id === s.runnerGroupId);
    const scaleSet = { ...s, runnerGroupName: group?.name ?? `group-${s.runnerGroupId}` };
    this.scaleSets.set(s.id, scaleSet);
    return scaleSet;
  }

  /** The next `count` requests that match get `answer` instead (a string matches a path prefix). */
  inject(match: RequestMatch, answer: FakeAnswer, count = 1): void {
    this.injections.push({ match, answer, remaining: count });
  }

  /** Requests that match are answered `ms` later than the others (e.g. to be in flight at a cancel). */
  hold(match: RequestMatch, ms: number): void {
    this.holds.push({ match, ms });
  }

  /** The `n`th request from now (1 = the next one) gets `answer`. */
  injectNth(n: number, answer: FakeAnswer): void {
    const seq = this.requests.length + n;
    this.inject((r) => r.seq === seq, answer, 1);
  }

  /** Revokes every admin token issued so far: the next service call answers 401. */
  revokeAdminTokens(): void {
    this.adminTokens.clear();
  }

  /** Requests with this method whose path (with query) starts with `pathPrefix`. */
  count(method: string, pathPrefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)).length;
  }

  /** Forgets recorded requests and the in-flight maximum (e.g. after a warm-up). */
  resetRecords(): void {
    this.requests.length = 0;
    this.maxInFlight = this.inFlight;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const recorded: RecordedRequest = {
      seq: this.requests.length + 1,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      at: Date.now(),
    };
    this.requests.push(recorded);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let answer: FakeAnswer;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      recorded.body = Buffer.concat(chunks).toString('utf8');
      const delay = this.latencyMs + (this.holds.find((h) => matches(h.match, recorded))?.ms ?? 0);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      const injected = this.injections.find((i) => i.remaining > 0 && matches(i.match, recorded));
      if (injected) {
        injected.remaining -= 1;
        answer = { body: { message: 'injected failure' }, ...injected.answer };
      } else {
        const text = recorded.body;
        let body: Record<string, unknown> = {};
        try {
          if (text !== '') body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          answer = { status: 400, body: { message: 'Problems parsing JSON' } };
        }
        answer ??= this.route(recorded, body);
      }
    } catch (error) {
      answer = { status: 500, body: { message: (error as Error).message } };
    } finally {
      this.inFlight -= 1;
    }
    const payload = answer.body === undefined ? '' : JSON.stringify(answer.body);
    recorded.status = answer.status;
    recorded.bytes = Buffer.byteLength(payload);
    recorded.endedAt = Date.now();
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end(payload);
  }

  private route(r: RecordedRequest, body: Record<string, unknown>): FakeAnswer {
    const url = new URL(r.path, 'http://fake');
    const path = url.pathname;
    if (path.startsWith(`${SERVICE_PREFIX}/`)) {
      const token = /^Bearer (.+)$/.exec(r.headers.authorization ?? '')?.[1];
      if (!token || !this.adminTokens.has(token) || jwtExpired(token)) {
        return { status: 401, body: { message: 'admin token missing, revoked or expired' } };
      }
      return this.service(r.method, path.slice(SERVICE_PREFIX.length), url.searchParams, body);
    }
    if (r.method === 'POST' && path === '/actions/runner-registration') return this.register(r, body);
    return this.rest(r, path, url.searchParams);
  }

  /** api.github.com routes, behind the primary rate limit when one is set. */
  private rest(r: RecordedRequest, path: string, q: URLSearchParams): FakeAnswer {
    const limit = this.rateLimit;
    if (limit && Date.now() >= limit.resetAtMs) {
      limit.remaining = limit.limit;
      limit.resetAtMs = Date.now() + 3_600_000;
    }
    const limitHeaders = (): Record<string, string> =>
      limit
        ? {
            'x-ratelimit-limit': String(limit.limit),
            'x-ratelimit-remaining': String(limit.remaining),
            'x-ratelimit-reset': String(Math.ceil(limit.resetAtMs / 1000)),
          }
        : {};
    if (limit && limit.remaining <= 0) {
      return { status: 403, headers: limitHeaders(), body: { message: 'API rate limit exceeded' } };
    }
    const answer = this.restRoute(r, path, q);
    // A 304 does not count against the primary limit.
    if (limit && answer.status !== 304) limit.remaining -= 1;
    return { ...answer, headers: { ...limitHeaders(), ...answer.headers } };
  }

  private restRoute(r: RecordedRequest, path: string, q: URLSearchParams): FakeAnswer {
    const appJwt = /^Bearer (.+)$/.exec(r.headers.authorization ?? '')?.[1];
    const installation = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (r.method === 'POST' && installation) {
      if (!appJwt || !this.validAppJwt(appJwt))
        return { status: 401, body: { message: 'A JSON web token could not be decoded' } };
      const token = `ghs_fake${this.nextToken++}`;
      this.installationTokens.add(token);
      const ttl = this.options.installationTokenTtlSeconds ?? 3600;
      return { status: 201, body: { token, expires_at: new Date(Date.now() + ttl * 1000).toISOString() } };
    }
    if (!r.headers.authorization) return { status: 401, body: { message: 'Requires authentication' } };
    if (
      r.method === 'POST' &&
      /^\/(orgs\/[^/]+|repos\/[^/]+\/[^/]+|enterprises\/[^/]+)\/actions\/runners\/registration-token$/.test(
        path,
      )
    ) {
      const token = `registration-token-${this.nextToken++}`;
      this.registrationTokens.add(token);
      return { status: 201, body: { token, expires_at: new Date(Date.now() + 3_600_000).toISOString() } };
    }
    const deliveries =
      /^\/(repos\/[^/]+\/[^/]+\/hooks\/\d+|orgs\/[^/]+\/hooks\/\d+|app\/hook)\/deliveries(?:\/(\d+))?$/.exec(
        path,
      );
    if (deliveries && r.method === 'GET') {
      if (deliveries[1] === 'app/hook' && (!appJwt || !this.validAppJwt(appJwt))) {
        return { status: 401, body: { message: 'app hook deliveries need the app JWT' } };
      }
      return this.deliveryLog(r, q, deliveries[2]);
    }
    return { status: 404, body: { message: 'Not Found' } };
  }

  private register(r: RecordedRequest, body: Record<string, unknown>): FakeAnswer {
    const token = /^RemoteAuth (.+)$/.exec(r.headers.authorization ?? '')?.[1];
    if (!token || !this.registrationTokens.has(token))
      return { status: 401, body: { message: 'bad RemoteAuth' } };
    if (body.runner_event !== 'register' || typeof body.url !== 'string') {
      return { status: 400, body: { message: 'expected {url, runner_event: "register"}' } };
    }
    const exp = Math.floor(Date.now() / 1000) + (this.options.adminTokenTtlSeconds ?? 3600);
    const jwt = `${b64({ alg: 'none' })}.${b64({ exp, n: this.nextToken++ })}.sig`;
    this.adminTokens.add(jwt);
    return { status: 200, body: { url: `${this.url}${SERVICE_PREFIX}/`, token: jwt } };
  }

  private validAppJwt(jwt: string): boolean {
    const [header, payload, signature] = jwt.split('.');
    if (!header || !payload || !signature) return false;
    const key = this.options.appPublicKey;
    if (!key) return true;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iat?: number; exp?: number };
    const now = Date.now() / 1000;
    if (
      !(
        typeof claims.exp === 'number' &&
        claims.exp > now &&
        typeof claims.iat === 'number' &&
        claims.iat <= now + 60
      )
    ) {
      return false;
    }
    return createVerify('RSA-SHA256')
      .update(`${header}.${payload}`)
      .verify(key, Buffer.from(signature, 'base64url'));
  }

  private scaleSetBody(s: FakeScaleSet) {
    return {
      id: s.id,
      name: s.name,
      runnerGroupId: s.runnerGroupId,
      runnerGroupName: s.runnerGroupName,
      statistics: s.statistics ?? this.statistics,
    };
  }

  private service(
    method: string,
    path: string,
    q: URLSearchParams,
    body: Record<string, unknown>,
  ): FakeAnswer {
    const scaleSetsPath = '/_apis/runtime/runnerscalesets';
    const agentsPath = '/_apis/distributedtask/pools/0/agents';
    if (method === 'GET' && path === scaleSetsPath) {
      const found = [...this.scaleSets.values()].filter(
        (s) => s.name === q.get('name') && String(s.runnerGroupId) === q.get('runnerGroupId'),
      );
      return { status: 200, body: { count: found.length, value: found.map((s) => this.scaleSetBody(s)) } };
    }
    const byId = /^\/_apis\/runtime\/runnerscalesets\/(\d+)$/.exec(path);
    if (method === 'GET' && byId) {
      const scaleSet = this.scaleSets.get(Number(byId[1]));
      if (!scaleSet)
        return {
          status: 404,
          body: { typeName: 'RunnerScaleSetNotFoundException', message: 'no such scale set' },
        };
      return { status: 200, body: this.scaleSetBody(scaleSet) };
    }
    const generate = /^\/_apis\/runtime\/runnerscalesets\/(\d+)\/generatejitconfig$/.exec(path);
    if (method === 'POST' && generate) return this.generate(Number(generate[1]), body);
    if (method === 'GET' && path === '/_apis/runtime/runnergroups/') {
      const group = this.runnerGroups.get(q.get('groupName') ?? '');
      return { status: 200, body: group ? { count: 1, value: [group] } : { count: 0, value: [] } };
    }
    if (method === 'GET' && path === agentsPath) {
      const name = q.get('agentName');
      const found = [...this.runners.values()].filter((x) => name === null || x.name === name);
      return { status: 200, body: { count: found.length, value: found } };
    }
    const agent = /^\/_apis\/distributedtask\/pools\/0\/agents\/(\d+)$/.exec(path);
    if (agent && (method === 'GET' || method === 'DELETE')) {
      const runner = this.runners.get(Number(agent[1]));
      if (!runner) {
        return {
          status: 404,
          body: {
            typeName: 'GitHub.DistributedTask.WebApi.AgentNotFoundException, Sdk',
            message: `no runner ${agent[1]}`,
          },
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

  private generate(scaleSetId: number, body: Record<string, unknown>): FakeAnswer {
    if (!this.scaleSets.has(scaleSetId)) {
      return {
        status: 404,
        body: { typeName: 'RunnerScaleSetNotFoundException', message: `no scale set ${scaleSetId}` },
      };
    }
    const name = body.name;
    if (typeof name !== 'string' || name === '') return { status: 400, body: { message: 'name required' } };
    if ([...this.runners.values()].some((x) => x.name === name)) {
      return {
        status: 409,
        body: {
          typeName: 'GitHub.DistributedTask.WebApi.AgentExistsException, Sdk',
          message: `runner ${name} exists`,
        },
      };
    }
    const runner = { id: this.nextRunnerId++, name, runnerScaleSetId: scaleSetId };
    this.runners.set(runner.id, runner);
    if (this.loseNextGenerateResponses > 0) {
      this.loseNextGenerateResponses -= 1;
      return { status: 502, body: { message: 'bad gateway (the runner was created)' } };
    }
    return { status: 200, body: { runner, encodedJITConfig: Buffer.from(`jit:${name}`).toString('base64') } };
  }

  private deliveryLog(r: RecordedRequest, q: URLSearchParams, id: string | undefined): FakeAnswer {
    if (id !== undefined) {
      const d = this.log.find((x) => x.id === Number(id));
      if (!d) return { status: 404, body: { message: 'Not Found' } };
      return conditional(r, `"delivery-${d.id}"`, {
        ...summary(d),
        request: { headers: requestHeaders(d), payload: d.payload },
      });
    }
    const perPage = Math.min(100, Math.max(1, Number(q.get('per_page') ?? 30)));
    const start = Number(q.get('cursor') ?? 0);
    const page = this.log.slice(start, start + perPage);
    const answer = conditional(
      r,
      `W/"page-${start}-${perPage}-${page[0]?.id ?? 'none'}-${page.length}"`,
      page.map(summary),
    );
    if (start + perPage < this.log.length) {
      const pathname = new URL(r.path, 'http://fake').pathname;
      answer.headers = {
        ...answer.headers,
        link: `<${this.url}${pathname}?per_page=${perPage}&cursor=${start + perPage}>; rel="next"`,
      };
    }
    return answer;
  }
}

/** 304 without a body when If-None-Match names the current ETag; otherwise 200 with it. */
function conditional(r: RecordedRequest, etag: string, body: unknown): FakeAnswer {
  if (r.headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
  return { status: 200, headers: { etag }, body };
}

function jwtExpired(jwt: string): boolean {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString() || '{}') as {
    exp?: number;
  };
  return typeof payload.exp === 'number' && payload.exp * 1000 <= Date.now();
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

/** Newest first, as GitHub lists them, a minute apart: workflow events from real payloads, every 10th a push. */
function buildLog(count: number): FakeLogDelivery[] {
  if (count === 0) return [];
  const start = Date.UTC(2026, 10, 1);
  // The events happen before the log delivers them (a replay keeps delivered_at as receivedAt).
  const stream: GeneratedDelivery[] = generateStream({
    seed: 4242,
    runs: Math.ceil(count / 5) + 5,
    duplicateRate: 0,
    startMs: start - 3 * 3_600_000,
  });
  const out: FakeLogDelivery[] = [];
  for (let i = 0; i < count; i++) {
    const d = stream[i % stream.length]!;
    const isPush = i % 10 === 9;
    out.push({
      id: 1_000_000 + i,
      guid: isPush
        ? `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`
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
