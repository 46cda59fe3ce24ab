// Wires `runstream processor`: its runtime on the shared role scaffold.
import type { Logger } from '../platform/log.js';
import { type RoleHandle, startRole } from '../platform/role.js';
import type { ProcessorConfig } from './config.js';
import { createProcessorMetrics } from './metrics.js';
import { Processor } from './processor.js';

export { type ProcessorConfig, readProcessorConfig } from './config.js';

export async function startProcessor(
  config: ProcessorConfig,
  logger: Logger,
): Promise<RoleHandle & { processor: Processor }> {
  const handle = await startRole({
    role: 'processor',
    config,
    logger,
    groupId: config.groupId,
    describe: () => ({ groupId: config.groupId, stateDir: config.stateDir }),
    async create({ kafka, registry }) {
      const processor = new Processor(config, kafka, logger, createProcessorMetrics(registry));
      await processor.start();
      return processor;
    },
  });
  return { ...handle, processor: handle.runtime };
}
