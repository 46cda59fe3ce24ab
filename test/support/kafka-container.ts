// A single-node KRaft broker in a container, through testcontainers, for the
// integration suite when RUNSTREAM_TEST_KAFKA=testcontainers (global-setup.ts). The
// image is the official apache/kafka (or any image with its KAFKA_* contract); it is
// configured like the jar broker (scripts/kafka.sh) and listens on a free host port,
// the same inside, so the address it advertises is the one the tests dial.
// No Ryuk reaper is assumed (TESTCONTAINERS_RYUK_DISABLED=true where its image cannot
// be pulled): the container is removed by stop(), which global-setup's teardown calls
// pass or fail, and it carries the label dev.runstream.test=integration.
import { freePort } from './broker.js';
import { composeDefault } from './compose-file.js';

export interface KafkaContainer {
  brokers: string[];
  image: string;
  stop(): Promise<void>;
}

/** RUNSTREAM_TEST_KAFKA_IMAGE, else the compose file's Kafka image at KAFKA_VERSION. */
export function testKafkaImage(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RUNSTREAM_TEST_KAFKA_IMAGE) return env.RUNSTREAM_TEST_KAFKA_IMAGE;
  const image = composeDefault('KAFKA_IMAGE');
  return env.KAFKA_VERSION ? `${image.slice(0, image.lastIndexOf(':'))}:${env.KAFKA_VERSION}` : image;
}

function brokerEnv(port: number): Record<string, string> {
  return {
    CLUSTER_ID: 'MkU3OEVBNTcwNTJENDM2Qg',
    KAFKA_NODE_ID: '1',
    KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
    KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
    KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
    KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_LOG_DIRS: '/tmp/kraft-combined-logs',
    KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
    // As scripts/kafka.sh's single node: quick groups, a cleaner that compacts soon.
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    KAFKA_LOG_CLEANER_DEDUPE_BUFFER_SIZE: '2097152',
    KAFKA_LOG_CLEANER_BACKOFF_MS: '1000',
    KAFKA_NUM_PARTITIONS: '1',
    KAFKA_HEAP_OPTS: '-Xmx512m -Xms512m',
  };
}

export async function startKafkaContainer(image = testKafkaImage()): Promise<KafkaContainer> {
  // Loaded only here: the jar broker path needs neither testcontainers nor its Node.
  const { GenericContainer, Wait } = await import('testcontainers');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      const started = await new GenericContainer(image)
        .withEnvironment(brokerEnv(port))
        .withExposedPorts({ container: port, host: port })
        .withLabels({ 'dev.runstream.test': 'integration' })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .withStartupTimeout(240_000)
        .start();
      return {
        brokers: [`127.0.0.1:${port}`],
        image,
        async stop() {
          await started.stop({ remove: true, removeVolumes: true });
        },
      };
    } catch (error) {
      const message = String((error as Error).message);
      if (attempt >= 3 || !/address already in use|port is already allocated/i.test(message)) {
        throw new Error(`Kafka container from ${image} did not start: ${message}`);
      }
    }
  }
}
