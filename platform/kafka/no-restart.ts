// kafkajs' restart of a crashed consumer, for the consumers' adapters
// (group-consumer.ts, partition-consumer.ts).

/**
 * kafkajs' `restartOnFailure` for a consumer that is never restarted once its owner
 * disconnected it. kafkajs restarts a consumer that crashed on a retriable error (a lost
 * broker) after a delay, and its disconnect() only cancels a restart already scheduled:
 * a crash that ends after disconnect() returned (a restart under way, still retrying its
 * connection to a broker that is gone) scheduled another, which reconnected and crashed
 * again, forever. The process never exited after its roles stopped with the broker gone.
 */
export function noRestartOnceStopped(stopped: { readonly value: boolean }): () => Promise<boolean> {
  return async () => !stopped.value;
}
