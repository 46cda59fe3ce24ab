// The development secret: what `runstream all` verifies webhooks with when no secret is
// configured, and what `runstream demo` signs with by default. Anyone can sign with it, so
// an ingest given it listens on loopback only (DESIGN.md "Interfaces"): `all` binds
// 127.0.0.1 by default with it, and every ingest refuses it on any other address.
import { ConfigError } from './setting.js';

export const DEV_SECRET = 'dev-secret';

const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Whether an address the HTTP servers bind accepts connections from this machine only. */
export function isLoopback(host: string): boolean {
  const address = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (address === 'localhost' || IPV4_LOOPBACK.test(address)) return true;
  if (!address.includes(':')) return false;
  let canonical: string;
  try {
    // WHATWG URL parsing canonicalises IPv6 (0:0:0:0:0:0:0:1 is [::1], a mapped
    // ::ffff:127.0.0.1 is [::ffff:7f00:1]).
    canonical = new URL(`http://[${address}]/`).hostname;
  } catch {
    return false;
  }
  if (canonical === '[::1]') return true;
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}\]$/.exec(canonical);
  return mapped !== null && Number.parseInt(mapped[1]!, 16) >> 8 === 127;
}

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
  if (!secrets.includes(DEV_SECRET) || isLoopback(host)) return;
  throw new ConfigError(
    variable,
    `the development secret "${DEV_SECRET}" is refused off loopback (${hostVariable} is ${host}): set the secret GitHub signs with, or ${hostVariable}=127.0.0.1`,
  );
}
