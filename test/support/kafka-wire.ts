// Kafka's wire encodings, written here from the protocol's definition so tests can build
// bytes without the client under test.

/** Zigzag, then unsigned LEB128, over 64 bits: Kafka's varlong (and varint, in range). */
export function varlong(value: bigint): Buffer {
  let rest = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  while (rest >= 0x80n) {
    bytes.push(Number((rest & 0x7fn) | 0x80n));
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return Buffer.from(bytes);
}
