// Turns what kafkajs reports about a refused login, an untrusted certificate or a
// missing ACL into one line an operator can act on. kafkajs hides two of these: a group
// or transactional id that is not allowed surfaces as KafkaJSGroupCoordinatorNotFound,
// the broker's real answer only in its own error log (docs/kafkajs-notes.md).
import { TokenUnavailableError } from './kafka-oauth.js';
import type { KafkaErrorFacts } from './kafka-port.js';

/** Kafka refused this client (login, certificate, authorization): retrying will not help. */
export class KafkaAccessError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KafkaAccessError';
  }
}

const AUTHORIZATION_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);

/** Node's codes for a server certificate it does not trust. */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** An error and its causes, as the port's error contract describes them (platform/kafka-port.ts). */
function* chain(error: unknown): Generator<KafkaErrorFacts> {
  for (let e = error, depth = 0; e && depth < 10; e = (e as KafkaErrorFacts).cause, depth++) {
    yield e as KafkaErrorFacts;
  }
}

const COORDINATOR_SETTLING = new Set([
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
]);

/** A group coordinator still loading or moving (a fresh cluster, a broker restarting): worth asking again. */
export function isCoordinatorSettling(error: unknown): boolean {
  for (const e of chain(error)) if (COORDINATOR_SETTLING.has(e.type ?? '')) return true;
  return false;
}

/**
 * A transaction request whose outcome is unknown (it may still reach the broker), with
 * what the client reported of it; undefined when the error is a definite answer.
 */
export function uncertainRequestOf(error: unknown): { request?: string; producerEpoch?: number } | undefined {
  for (const e of chain(error)) {
    if (e.uncertain !== true) continue;
    return {
      ...(typeof e.request === 'string' ? { request: e.request } : {}),
      ...(typeof e.producerEpoch === 'number' ? { producerEpoch: e.producerEpoch } : {}),
    };
  }
  return undefined;
}

const REJOIN_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/**
 * A heartbeat's answer that the member must rejoin the group: a rebalance under way (a
 * member left or joined), a generation that ended, a membership the coordinator forgot.
 * The client's fetch loop rejoins when one of these is thrown to it.
 */
export function isRejoinNeeded(error: unknown): boolean {
  return REJOIN_TYPES.has((error as KafkaErrorFacts | undefined)?.type ?? '');
}

/** Whether the brokers refused a consumer's session timeout (outside group.min/max.session.timeout.ms). */
export function isSessionTimeoutRefused(error: unknown): boolean {
  for (const e of chain(error)) if (e.type === 'INVALID_SESSION_TIMEOUT') return true;
  return false;
}

/** Whether the broker said "not authorized" anywhere in the error's causes. */
export function isAuthorizationFailure(error: unknown): boolean {
  for (const e of chain(error)) if (AUTHORIZATION_TYPES.has(e.type ?? '')) return true;
  return false;
}

/**
 * One line for a failure to log in or to set up TLS, naming the identity and what to
 * change; undefined for anything else (a broker down, a timeout: worth retrying).
 */
export function explainConnectFailure(error: unknown, identity: string): string | undefined {
  for (const e of chain(error)) {
    if (e instanceof TokenUnavailableError) return `Kafka login of ${identity} impossible: ${e.message}`;
    if (e.type === 'ILLEGAL_SASL_STATE' || e.type === 'SASL_AUTHENTICATION_FAILED') {
      // kafkajs takes a refused OAUTHBEARER token for a login and fails the next request.
      return `Kafka refused the login of ${identity}: ${e.message} (an expired or invalid token, or the wrong KAFKA_SASL_MECHANISM)`;
    }
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      return `Kafka refused the login of ${identity}: ${e.message} (check KAFKA_SASL_MECHANISM and the credentials)`;
    }
    const code = e.code ?? '';
    if (UNTRUSTED_CERTIFICATE.has(code)) {
      return `the Kafka brokers' TLS certificate is not trusted (${code}: ${e.message}): set KAFKA_SSL_CA_FILE to the CA bundle that signed it`;
    }
    if (/^ERR_SSL_.*(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN)/.test(code)) {
      return `the Kafka brokers refused the TLS client certificate (${code}): they require one their CA signed; check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE`;
    }
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
      return `the Kafka brokers do not speak TLS on that port (${code}): unset KAFKA_SSL or use their TLS listener`;
    }
  }
  return undefined;
}

/** A newer producer took this transactional id (or the broker expired our transaction). */
export function isProducerFenced(error: unknown): boolean {
  for (const e of chain(error)) {
    if (e.type === 'INVALID_PRODUCER_EPOCH' || e.type === 'PRODUCER_FENCED') return true;
  }
  return false;
}
