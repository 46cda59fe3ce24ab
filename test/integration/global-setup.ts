// Integration tests run against a real broker: KAFKA_BROKERS when set, otherwise one
// started here from the Maven jars on free ports, and stopped by its pid afterwards.
import type { TestProject } from 'vitest/node';
import { startJarBroker } from '../support/broker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.KAFKA_BROKERS;
  if (given) {
    project.provide('kafkaBrokers', given);
    return async () => {};
  }
  const broker = await startJarBroker('runstream-test-kafka-');
  project.provide('kafkaBrokers', broker.brokers.join(','));
  return () => broker.destroy();
}
