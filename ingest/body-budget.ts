// The bytes of request bodies held before their signature is checked, across every
// connection: what an unauthenticated client can make ingest hold. A body claims its
// bytes before they are read (its Content-Length, or each chunk of a chunked body) and
// gives them back once the handler has decided on it. Bodies over LARGE_BODY_BYTES
// share a smaller part of the budget, so that a few big bodies (GitHub's largest, or
// an attacker's stalled ones) never leave ordinary deliveries without room. Pure:
// plain numbers, no I/O.

/** A body larger than this is "large": it draws on the large part of the budget too. */
export const LARGE_BODY_BYTES = 1024 * 1024;

export interface BodyBudgetLimits {
  /** Bytes all bodies may hold together. */
  totalBytes: number;
  /** Bytes bodies over LARGE_BODY_BYTES may hold together (at most totalBytes). */
  largeBytes: number;
}

/** One body's share of the budget. */
export interface BodyClaim {
  bytes: number;
  released: boolean;
}

export type Refusal = 'budget' | 'large_budget';

export class BodyBudget {
  private held = 0;
  private heldLarge = 0;

  constructor(private readonly limits: BodyBudgetLimits) {}

  /** Bytes held now by every body (for the gauge). */
  get heldBytes(): number {
    return this.held;
  }

  /** A claim of no bytes yet; grow it before reading. */
  open(): BodyClaim {
    return { bytes: 0, released: false };
  }

  /**
   * Grows `claim` by `bytes` if the budget has room, and says which limit refused it
   * otherwise (the claim is then unchanged).
   */
  grow(claim: BodyClaim, bytes: number): Refusal | undefined {
    if (claim.released) throw new Error('body claim already released');
    const after = claim.bytes + bytes;
    const largeBefore = claim.bytes > LARGE_BODY_BYTES ? claim.bytes : 0;
    const largeAfter = after > LARGE_BODY_BYTES ? after : 0;
    if (this.heldLarge - largeBefore + largeAfter > this.limits.largeBytes) return 'large_budget';
    if (this.held + bytes > this.limits.totalBytes) return 'budget';
    this.heldLarge += largeAfter - largeBefore;
    this.held += bytes;
    claim.bytes = after;
    return undefined;
  }

  /** Gives the claim's bytes back; a second release does nothing. */
  release(claim: BodyClaim): void {
    if (claim.released) return;
    claim.released = true;
    this.held -= claim.bytes;
    if (claim.bytes > LARGE_BODY_BYTES) this.heldLarge -= claim.bytes;
  }
}
