// kafkajs' `ssl` and `sasl` options from runstream's TLS and SASL settings
// (platform/kafka-security.ts reads and checks them).
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import type { KafkaSasl, KafkaSecurity } from '../kafka-security.js';

/** kafkajs' `ssl` and `sasl` options: a fresh `sasl` object per client (kafkajs keeps state on it). */
export function kafkaClientSecurity(security: KafkaSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { tls, sasl } = security;
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (tls) {
    out.ssl = {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca ? { ca: [tls.ca] } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key.reveal() } : {}),
    };
  }
  if (sasl) out.sasl = saslOptions(sasl);
  return out;
}

function saslOptions(sasl: KafkaSasl): SASLOptions {
  if (sasl.mechanism === 'oauthbearer') return { mechanism: 'oauthbearer', oauthBearerProvider: sasl.token };
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password.reveal() };
}
