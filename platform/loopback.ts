// Which hosts are this machine's own (loopback): where plain http, a development
// secret or a test server is acceptable because nothing crosses a network.
const IPV4_LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/**
 * True for `localhost`, any 127.0.0.0/8 address and `::1` (in any IPv6 spelling, and
 * 127/8 mapped into IPv6), as a URL's hostname gives them (`[::1]`) or bare, as a bind
 * address or a URL host. Names are compared exactly: `localhost.example` is not loopback.
 */
export function isLoopbackHost(host: string): boolean {
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
