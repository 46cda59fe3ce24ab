// Which hosts are this machine's own (loopback): where plain http, a development
// secret or a test server is acceptable because nothing crosses a network.
import { isIPv4 } from 'node:net';

/**
 * True for `localhost`, any 127.0.0.0/8 address and `::1`, as a URL's hostname gives
 * them (`[::1]`) or bare. Names are compared exactly: `localhost.example` is not loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}
