// Integration tests run against a real broker: KAFKA_BROKERS when set; else, with
// RUNSTREAM_TEST_KAFKA=testcontainers, one in a container (test/support/kafka-container.ts:
// RUNSTREAM_TEST_KAFKA_IMAGE, or apache/kafka at KAFKA_VERSION, the compose file's by
// default); else (RUNSTREAM_TEST_KAFKA=jars, the default, and the only choice where no
// container engine answers) one started here from the Maven jars on free ports. Either
// is stopped, and the container removed, when the tests end, pass or fail.
import type { TestProject } from 'vitest/node';
import { startJarBroker } from '../support/broker.js';
import { startKafkaContainer, testKafkaImage } from '../support/kafka-container.js';

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
  const choice = process.env.RUNSTREAM_TEST_KAFKA ?? 'jars';
  if (choice === 'testcontainers') {
    const started = Date.now();
    const broker = await startKafkaContainer(testKafkaImage());
    console.log(
      `integration: Kafka from ${broker.image} (testcontainers) on ${broker.brokers.join(',')}, ` +
        `ready in ${Math.round((Date.now() - started) / 1000)} s`,
    );
    project.provide('kafkaBrokers', broker.brokers.join(','));
    return () => broker.stop();
  }
  if (choice !== 'jars') {
    throw new Error(`RUNSTREAM_TEST_KAFKA is '${choice}'; expected 'jars' (the default) or 'testcontainers'`);
  }
  const broker = await startJarBroker('runstream-test-kafka-');
  project.provide('kafkaBrokers', broker.brokers.join(','));
  return () => broker.destroy();
}
