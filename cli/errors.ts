// Whatever stops a command reaches the operator as one line on stderr, naming what to
// change where runstream knows it: a setting (ConfigError), a flag (UsageError), Kafka
// refusing this client, a port already taken. The stack is for RUNSTREAM_LOG_LEVEL=debug.
import { ConfigError } from '../platform/config.js';
import { explainConnectFailure, isAuthorizationFailure, KafkaAccessError } from '../platform/kafka-errors.js';
import { TopicPlanError } from '../platform/kafka-preflight.js';

/** A command-line flag with a value the command cannot use. */
export class UsageError extends Error {
  constructor(
    readonly flag: string,
    problem: string,
  ) {
    super(`${flag}: ${problem}`);
    this.name = 'UsageError';
  }
}

export interface Failure {
  /** What stderr shows: one line (a topic plan error lists its topics, one a line). */
  text: string;
  /** 2: the operator's input (a setting, a flag); 1: anything else. */
  exitCode: 1 | 2;
}

/** The messages of an error and its causes, each once, on one line. */
export function oneLine(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (!parts.some((part) => part.includes(message))) parts.push(message);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ').replace(/\s*\n\s*/g, ' ');
}

/** The failure of a command, as the operator sees it. `identity` names the Kafka principal. */
export function describeFailure(error: unknown, identity: () => string): Failure {
  if (error instanceof ConfigError) return { text: `configuration error: ${error.message}`, exitCode: 2 };
  if (error instanceof UsageError) return { text: error.message, exitCode: 2 };
  if (error instanceof KafkaAccessError) return { text: error.message, exitCode: 1 };
  if (error instanceof TopicPlanError) return { text: error.lines.join('\nrunstream: '), exitCode: 1 };
  if (isAuthorizationFailure(error)) {
    return {
      text: `${identity()} is not authorized: ${oneLine(error)} (see docs/kafka-platform.md for the ACLs)`,
      exitCode: 1,
    };
  }
  const refused = explainConnectFailure(error, identity());
  return { text: refused ?? oneLine(error), exitCode: 1 };
}
