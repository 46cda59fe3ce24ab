// Scriptable faults of the fake broker. A test names the request (and optionally the
// transactional id or topic) and what happens to its next occurrence(s):
//   fence             a newer producer of the id initialises just before the request arrives,
//                     so the request meets a stale epoch (PRODUCER_FENCED)
//   timeout           the request is lost: never applied; the client gets a retriable timeout
//   coordinatorMoved  a definite, retriable rejection (NOT_COORDINATOR); nothing applied
//   partialSend       one partition of a send is neither written nor acknowledged
//   late              the client gets a timeout, but the broker holds the request and applies
//                     it when the test calls deliverLate() (a delayed EndTxn, say)
//   before            runs the test's callback just before the request is applied (a late
//                     answer delivered while another request is in flight, say)
//   stall             (fetch) the partition's records stop arriving until the fault is cleared
export type Operation =
  | 'init'
  | 'send'
  | 'sendOffsets'
  | 'commit'
  | 'abort'
  | 'recordSend'
  | 'partitionOffsets'
  | 'committedOffsets'
  | 'describeGroup';

export type Fault =
  | { kind: 'fence' }
  | { kind: 'timeout' }
  | { kind: 'coordinatorMoved' }
  | { kind: 'partialSend'; topic: string; partition?: number }
  | { kind: 'late' }
  | { kind: 'before'; run: () => void };

interface Rule {
  op: Operation;
  fault: Fault;
  /** Only requests of this transactional id (or topic, for admin and record sends). */
  subject?: string;
  remaining: number;
}

export interface LateRequest {
  op: Operation;
  subject: string;
  /** Applies the request at the broker; throws what the broker would answer. */
  apply(): void;
}

/** What happened when a held request finally reached the broker. */
export type LateOutcome = { op: Operation; applied: true } | { op: Operation; applied: false; error: Error };

export class FaultScript {
  private readonly rules: Rule[] = [];
  private readonly held: LateRequest[] = [];
  private readonly stalls = new Set<string>();
  /** Every fault that fired, in order: what the test scripted actually happened. */
  readonly fired: Array<{ op: Operation; subject: string; kind: Fault['kind'] }> = [];

  /** The next `times` requests `op` (of `subject`, if given) meet `fault`. */
  inject(op: Operation, fault: Fault, options: { subject?: string; times?: number } = {}): void {
    this.rules.push({
      op,
      fault,
      remaining: options.times ?? 1,
      ...(options.subject !== undefined ? { subject: options.subject } : {}),
    });
  }

  /** The fault this request meets, if one is scripted (consumed). */
  take(op: Operation, subject: string): Fault | undefined {
    const rule = this.rules.find((r) => r.op === op && (r.subject === undefined || r.subject === subject));
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules.splice(this.rules.indexOf(rule), 1);
    this.fired.push({ op, subject, kind: rule.fault.kind });
    return rule.fault;
  }

  hold(request: LateRequest): void {
    this.held.push(request);
  }

  /** Requests the broker holds, not yet applied. */
  get pendingLate(): number {
    return this.held.length;
  }

  /** The oldest held request reaches the broker now. */
  deliverLate(): LateOutcome {
    const request = this.held.shift();
    if (!request) throw new Error('no late request is held');
    try {
      request.apply();
      return { op: request.op, applied: true };
    } catch (error) {
      return { op: request.op, applied: false, error: error as Error };
    }
  }

  stall(topic: string, partition: number): void {
    this.stalls.add(`${topic}/${partition}`);
  }

  unstall(topic: string, partition: number): void {
    this.stalls.delete(`${topic}/${partition}`);
  }

  stalled(topic: string, partition: number): boolean {
    return this.stalls.has(`${topic}/${partition}`);
  }
}
