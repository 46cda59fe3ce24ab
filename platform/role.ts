// The start-up every role shares: the start check (login, ACLs, topics: one line and
// a non-zero exit for what it finds), its Kafka client and registry, an HTTP app with
// /healthz, /readyz (Kafka reachable, then the role's own readiness) and, unless the
// role serves it itself, /metrics; then the role's runtime, the listening socket, and
// one close that undoes it all in order.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { type CommonConfig, ConfigError } from './config.js';
import { createHttpApp, type Readiness, registerOpsRoutes, type ServerLimits } from './http.js';
import { createKafka } from './kafka/index.js';
import type { KafkaPort } from './kafka-port.js';
import { kafkaPreflight } from './kafka-preflight.js';
import { KafkaReachability } from './kafka-reachability.js';
import { kafkaEndpoint } from './kafka-security.js';
import type { Logger } from './log.js';
import { createRoleRegistry } from './metrics.js';

/** A started role: what `runstream all` and the CLI hold and stop. */
export interface RoleHandle {
  role: string;
  /** The bound HTTP port (useful when configured as 0). */
  port: number;
  /** The bound port of /metrics when the role serves it on a port of its own. */
  metricsPort?: number;
  close(): Promise<void>;
}

/** What a role runs once its parts are built. */
export interface RoleRuntime {
  /** Ready beyond Kafka being reachable (restored, caught up). */
  readiness(): Readiness | Promise<Readiness>;
  close(): Promise<void>;
}

export interface RoleParts {
  kafka: KafkaPort;
  registry: Registry;
  app: FastifyInstance;
  logger: Logger;
}

export interface RoleSpec<R extends RoleRuntime> {
  role: 'ingest' | 'processor' | 'exporter';
  /** `metricsPort`: /metrics (with /healthz and /readyz) on a port of its own, not on `port`. */
  config: CommonConfig & { port: number; metricsPort?: number };
  /** The processor's consumer group, for the start check of its ACLs. */
  groupId?: string;
  logger: Logger;
  /** Builds and starts the runtime; it may add its own routes to the app. */
  create(parts: RoleParts): Promise<R>;
  /** Whether /metrics serves the role's registry (the exporter serves its own). */
  serveRegistry?: boolean;
  /** Timeouts and connection cap of a role reachable from outside (platform/http.ts). */
  serverLimits?: ServerLimits;
  /** Fields for the "started" line. */
  describe?(runtime: R): Record<string, unknown>;
}

/** Listens on a port; a port taken or not allowed is the operator's setting to change. */
async function listen(app: FastifyInstance, variable: string, host: string, port: number): Promise<number> {
  try {
    await app.listen({ port, host });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL') throw error;
    throw new ConfigError(
      code === 'EADDRNOTAVAIL' ? 'RUNSTREAM_HOST' : variable,
      `cannot listen on ${host}:${port} (${code})`,
    );
  }
  return (app.server.address() as { port: number }).port;
}

export async function startRole<R extends RoleRuntime>(
  spec: RoleSpec<R>,
): Promise<RoleHandle & { runtime: R }> {
  const { role, config, logger } = spec;
  await kafkaPreflight(config, { role, ...(spec.groupId ? { groupId: spec.groupId } : {}) }, logger);
  const kafka = createKafka({ ...kafkaEndpoint(config), clientId: `runstream-${role}`, logger });
  const registry = createRoleRegistry(role);
  const reachability = new KafkaReachability(kafka);
  const app = createHttpApp(logger, spec.serverLimits);
  const metricsApp = config.metricsPort === undefined ? undefined : createHttpApp(logger);
  let runtime: R | undefined;
  const readiness = async () => {
    const kafkaState = await reachability.check();
    if (!kafkaState.ok) return { ready: false, detail: kafkaState.detail };
    return runtime ? runtime.readiness() : { ready: false, detail: 'starting' };
  };
  const served = spec.serveRegistry === false ? {} : { registry };
  registerOpsRoutes(app, { ...(metricsApp ? {} : served), readiness });
  if (metricsApp) registerOpsRoutes(metricsApp, { ...served, readiness });
  const portVariable = `RUNSTREAM_${role.toUpperCase()}_PORT`;
  let port = 0;
  let metricsPort: number | undefined;
  try {
    runtime = await spec.create({ kafka, registry, app, logger });
    if (metricsApp) {
      metricsPort = await listen(
        metricsApp,
        `RUNSTREAM_${role.toUpperCase()}_METRICS_PORT`,
        config.host,
        config.metricsPort!,
      );
    }
    port = await listen(app, portVariable, config.host, config.port);
  } catch (error) {
    await app.close().catch(() => undefined);
    await metricsApp?.close().catch(() => undefined);
    await runtime?.close().catch(() => undefined);
    await reachability.close().catch(() => undefined);
    throw error;
  }
  logger.info(
    { port, ...(metricsPort === undefined ? {} : { metricsPort }), ...spec.describe?.(runtime) },
    `${role} started`,
  );
  const started = runtime;
  return {
    role,
    port,
    ...(metricsPort === undefined ? {} : { metricsPort }),
    runtime: started,
    async close() {
      // fastify.close waits for requests in flight (ingest's wait for their produce).
      await app.close();
      await metricsApp?.close();
      await started.close();
      await reachability.close().catch(() => undefined);
      logger.info(`${role} stopped`);
    },
  };
}
