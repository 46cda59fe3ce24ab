// The operational endpoints every role serves: /healthz (alive), /readyz (ready,
// with the reason when not), /metrics (the role's own registry).
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from './log.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready (or what is ready), for humans and probes' logs. */
  detail: string;
}

/**
 * What a server allows a client, for a role reachable from outside (ingest). Node's own
 * server enforces each: a request whose headers are not complete `headersTimeoutMs`
 * after its first byte, or that is not complete (body included) `requestTimeoutMs`
 * after it, gets 408 and its connection is closed; a connection that sends nothing is
 * closed `headersTimeoutMs` after connecting, one kept alive and idle
 * `keepAliveTimeoutMs` after an answer; beyond `maxConnections` a new connection is
 * closed as it is accepted (the server's 'drop' event).
 */
export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

/** How often Node looks for connections past their headers or request timeout (its default is 30 s). */
function checkingIntervalMs(limits: ServerLimits): number {
  return Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)));
}

/**
 * A fastify app for a role. Per-request lines (info) are dropped: metrics count requests.
 * Without `limits`, fastify's defaults: no headers or request timeout (for servers
 * reached only from inside the cluster).
 */
export function createHttpApp(logger: Logger, limits?: ServerLimits): FastifyInstance {
  const level = logger.isLevelEnabled('warn') ? 'warn' : logger.level;
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }, { level }) as FastifyBaseLogger,
    // No pino child per request (its only binding, fastify's counter reqId, tells an
    // operator nothing): making one cost ingest about 1/40 of its CPU per delivery.
    childLoggerFactory: (parent) => parent,
    ...(limits === undefined
      ? {}
      : {
          requestTimeout: limits.requestTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          http: {
            headersTimeout: limits.headersTimeoutMs,
            connectionsCheckingInterval: checkingIntervalMs(limits),
          },
        }),
  });
  if (limits !== undefined) app.server.maxConnections = limits.maxConnections;
  return app;
}

export interface OpsRoutesOptions {
  /** Served on /metrics; omitted when the role serves /metrics itself (the exporter). */
  registry?: Registry;
  readiness: () => Promise<Readiness> | Readiness;
}

export function registerOpsRoutes(app: FastifyInstance, options: OpsRoutesOptions): void {
  app.get('/healthz', async (_req, reply) => reply.code(200).type('text/plain').send('ok\n'));
  app.get('/readyz', async (_req, reply) => {
    const state = await options.readiness();
    return reply
      .code(state.ready ? 200 : 503)
      .type('text/plain')
      .send(`${state.ready ? 'ready' : 'not ready'}: ${state.detail}\n`);
  });
  const registry = options.registry;
  if (registry) {
    app.get('/metrics', async (_req, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  }
}
