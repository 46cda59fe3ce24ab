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

/** A fastify app for a role. Per-request lines (info) are dropped: metrics count requests. */
export function createHttpApp(logger: Logger, bodyLimit?: number): FastifyInstance {
  const level = logger.isLevelEnabled('warn') ? 'warn' : logger.level;
  return Fastify({
    loggerInstance: logger.child({ component: 'http' }, { level }) as FastifyBaseLogger,
    ...(bodyLimit === undefined ? {} : { bodyLimit }),
  });
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
