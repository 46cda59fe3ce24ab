// The development secret: what `runstream all` verifies webhooks with when no secret is
// configured, and what `runstream demo` signs with by default. Anyone can sign with it, so
// an ingest given it listens on loopback only (DESIGN.md "Interfaces"): `all` binds
// 127.0.0.1 by default with it, and every ingest refuses it on any other address.
import { isLoopbackHost } from './loopback.js';
import { ConfigError } from './setting.js';

export const DEV_SECRET = 'dev-secret';

/**
 * Refuses the development secret among an ingest's secrets unless it binds loopback:
 * one line naming `variable`, the setting the secrets came from.
 */
export function refuseDevSecretOffLoopback(
  secrets: readonly string[],
  host: string,
  variable: string,
  hostVariable: string,
): void {
  if (!secrets.includes(DEV_SECRET) || isLoopbackHost(host)) return;
  throw new ConfigError(
    variable,
    `the development secret "${DEV_SECRET}" is refused off loopback (${hostVariable} is ${host}): set the secret GitHub signs with, or ${hostVariable}=127.0.0.1`,
  );
}
