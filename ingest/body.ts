// Reads a webhook body under the body budget (body-budget.ts): its bytes are claimed
// before they are read, so a request that would not fit is refused before ingest holds
// any of it. A Content-Length body is claimed whole before its first byte is read: when
// it does not fit, 503 with Retry-After at once. A small body that follows is then read
// and dropped (nothing held), so that the client reads the 503 rather than a reset
// connection; a large one is not worth reading: its connection is closed. A chunked
// body is claimed as it grows: once it outgrows the budget, 503 and the connection is
// closed. Over 25 MB: 413, connection closed (fastify closes the connection after a
// body error unless told otherwise). The claim is given back once the handler has
// decided on the body (releaseBody), or when the request ends otherwise.
import type { IncomingMessage } from 'node:http';
import { type BodyBudget, type BodyClaim, LARGE_BODY_BYTES, type Refusal } from './body-budget.js';

/** Seconds a client is asked to wait before sending again when the budget is full. */
export const BUDGET_RETRY_AFTER_SECONDS = 10;

export class BodyRefusedError extends Error {
  readonly headers: Record<string, string>;

  constructor(
    readonly statusCode: 413 | 503 | 400,
    readonly reason: 'too_large' | 'over_budget' | 'bad_length' | 'aborted',
    message: string,
    /** Refused before any of a small body was read: the connection may read and drop it and stay open. */
    readonly drainable = false,
  ) {
    super(message);
    this.name = 'BodyRefusedError';
    this.headers = statusCode === 503 ? { 'retry-after': String(BUDGET_RETRY_AFTER_SECONDS) } : {};
  }
}

function overBudget(refusal: Refusal, drainable: boolean): BodyRefusedError {
  return new BodyRefusedError(
    503,
    'over_budget',
    refusal === 'large_budget'
      ? 'ingest holds as many large unverified bodies as it allows; redeliver later'
      : 'ingest holds as many unverified body bytes as it allows; redeliver later',
    drainable,
  );
}

export interface BodyReaderOptions {
  budget: BodyBudget;
  maxBytes: number;
  /** After every change of the bytes held (for the gauge). */
  onHeldChange(): void;
}

/** The first buffer of a chunked body; it doubles from there. */
const MIN_CHUNKED_CAPACITY = 64 * 1024;

/** The claims of bodies being read or waiting for their handler, by request. */
const claims = new WeakMap<IncomingMessage, BodyClaim>();

/** Gives back what `request`'s body holds of the budget (again: nothing). */
export function releaseBody(request: IncomingMessage, options: BodyReaderOptions): void {
  const claim = claims.get(request);
  if (claim === undefined) return;
  claims.delete(request);
  options.budget.release(claim);
  options.onHeldChange();
}

/** Reads `request`'s whole body, or fails with BodyRefusedError. */
export function readBody(request: IncomingMessage, options: BodyReaderOptions): Promise<Buffer> {
  const { budget, maxBytes } = options;
  const header = request.headers['content-length'];
  const declared = header === undefined ? undefined : Number(header);
  if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0)) {
    return Promise.reject(new BodyRefusedError(400, 'bad_length', 'invalid Content-Length'));
  }
  if (declared !== undefined && declared > maxBytes) {
    return Promise.reject(new BodyRefusedError(413, 'too_large', 'body over 25 MB'));
  }
  const claim = budget.open();
  claims.set(request, claim);
  if (declared !== undefined) {
    const refusal = budget.grow(claim, declared);
    if (refusal !== undefined) {
      releaseBody(request, options);
      return Promise.reject(overBudget(refusal, declared <= LARGE_BODY_BYTES));
    }
    options.onHeldChange();
  }

  return new Promise<Buffer>((resolve, reject) => {
    // Every byte is copied out of the socket's read buffers (a kept chunk would pin
    // its read buffer: a body of tiny chunks would hold far more than it claims).
    // Content-Length: one buffer of that size, claimed whole (its pages are touched as
    // bytes arrive). Chunked: a buffer that doubles, its capacity claimed as it grows.
    let buffer = declared === undefined ? Buffer.alloc(0) : Buffer.allocUnsafe(declared);
    let received = 0;
    const finish = (error: Error | undefined, body?: Buffer) => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
      if (error !== undefined) {
        releaseBody(request, options);
        request.pause();
        reject(error);
      } else resolve(body!);
    };
    const onData = (chunk: Buffer) => {
      const needed = received + chunk.length;
      if (needed > buffer.length) {
        if (declared !== undefined) {
          // Node's parser never passes more than Content-Length; checked all the same.
          finish(new BodyRefusedError(400, 'bad_length', 'body longer than its Content-Length'));
          return;
        }
        if (needed > maxBytes) {
          finish(new BodyRefusedError(413, 'too_large', 'body over 25 MB'));
          return;
        }
        const capacity = Math.min(maxBytes, Math.max(needed, 2 * buffer.length, MIN_CHUNKED_CAPACITY));
        const refusal = budget.grow(claim, capacity - buffer.length);
        if (refusal !== undefined) {
          finish(overBudget(refusal, false));
          return;
        }
        options.onHeldChange();
        const grown = Buffer.allocUnsafe(capacity);
        buffer.copy(grown, 0, 0, received);
        buffer = grown;
      }
      chunk.copy(buffer, received);
      received = needed;
    };
    const onEnd = () => {
      if (declared !== undefined && received !== declared) {
        finish(new BodyRefusedError(400, 'bad_length', 'body shorter than its Content-Length'));
        return;
      }
      finish(undefined, received === buffer.length ? buffer : buffer.subarray(0, received));
    };
    // The connection closed before the body ended (a timeout, or the client went away):
    // there is no one left to answer.
    const aborted = () => new BodyRefusedError(400, 'aborted', 'connection closed before the body ended');
    const onError = () => finish(aborted());
    const onClose = () => finish(aborted());
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
    request.resume();
  });
}
