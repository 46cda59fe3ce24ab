// Each role's own prom-client registry (never the global one, so `runstream all`
// can serve three roles from one process without name clashes).
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { VERSION } from './version.js';

export function createRoleRegistry(role: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `runstream_${role}_` });
  const info = new Gauge({
    name: `runstream_${role}_build_info`,
    help: 'runstream build information; always 1',
    labelNames: ['version', 'node'],
    registers: [registry],
  });
  info.set({ version: VERSION, node: process.versions.node }, 1);
  return registry;
}
