// What a line of kafkajs' log means to an operator. kafkajs logs at ERROR every error
// answer of every request and every failed attempt inside its retries, although the
// request is retried and usually succeeds: a clean start logged some thirty error lines
// while topics and groups settled. runstream's own code sees the outcome (a retry that
// ran out, a refusal) as a thrown error and reports it once, saying what to do. So a
// condition the client or runstream handles is debug; what is left keeps its level.
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';

const { logLevel } = kafkajs;

export type OperatorLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

interface ProtocolError {
  type: string;
  retriable: boolean;
  message: string;
}

// kafkajs' table of Kafka's error codes (it exports no types for it; the shape is checked).
const { errorCodes } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  errorCodes: ProtocolError[];
};
if (!Array.isArray(errorCodes) || !errorCodes.every((e) => typeof e.message === 'string')) {
  throw new Error('kafkajs/src/protocol/error.js no longer exports its errorCodes table');
}
const byMessage = new Map(errorCodes.map((e) => [e.message, e]));

/**
 * Answers the client or runstream handles although Kafka marks them not retriable:
 * group membership changes (the consumer rejoins, and runstream logs each assignment)
 * and fencing (the processor reports a fenced task itself and reopens it).
 */
const HANDLED_TYPES = new Set([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'MEMBER_ID_REQUIRED',
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
]);

/** kafkajs' warning for any idempotent producer whose retries are bounded (EOS_NOTE says why that is safe here). */
export const EOS_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/** Said once per process instead of EOS_WARNING once per producer. */
export const EOS_NOTE =
  'idempotent producers retry a bounded number of times, which kafkajs warns "may invalidate EoS guarantees"; ' +
  "it does not here: ingest's publisher replaces its producer after any failed send, and a processor's " +
  'transactional producer is spent after a failed transaction and replaced by one that fences it, so no ' +
  'sequence number is ever reused (docs/kafkajs-notes.md)';

/** The level a kafkajs line is logged at (kafkajs' INFO is detail: debug). */
export function operatorLevel(
  level: number,
  message: string,
  extra: Readonly<Record<string, unknown>>,
): OperatorLevel {
  if (level === logLevel.ERROR) return errorLevel(message, extra);
  if (level === logLevel.WARN) return message === EOS_WARNING ? 'debug' : 'warn';
  if (level === logLevel.INFO) return 'debug';
  return 'trace';
}

function errorLevel(message: string, extra: Readonly<Record<string, unknown>>): OperatorLevel {
  // An attempt inside kafkajs' retrier: the caller sees the final outcome.
  if (typeof extra.retryCount === 'number') return 'debug';
  // The consumer crashed and restarts, or rejoins its group: the processor reports a crash itself.
  if (/^(Crash: |Restarting the consumer|The coordinator is not aware of this member)/.test(message)) {
    return 'debug';
  }
  if (message.startsWith('Response ') && typeof extra.error === 'string') {
    const answer = byMessage.get(extra.error);
    if (answer && (answer.retriable || HANDLED_TYPES.has(answer.type))) return 'debug';
    // Refused for good (an ACL, a bad request): the caller fails and says so; this is the detail.
    return 'warn';
  }
  // A lost or refused connection is retried; while it lasts it is worth seeing, not acting on.
  if (/^Connection (error|timeout)/.test(message)) return 'warn';
  return 'error';
}
