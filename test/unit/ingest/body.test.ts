// readBody against a real HTTP server and client on loopback.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type BodyReaderOptions, BodyRefusedError, readBody, releaseBody } from '../../../ingest/body.js';
import { BodyBudget } from '../../../ingest/body-budget.js';

const MiB = 1024 * 1024;

interface Outcome {
  body?: Buffer;
  error?: Error;
  heldAtEnd: number;
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server whose requests are read by readBody; each outcome resolves in order. */
async function serve(options: BodyReaderOptions): Promise<{ port: number; next(): Promise<Outcome> }> {
  const outcomes: Array<(o: Outcome) => void> = [];
  const pending: Outcome[] = [];
  const deliver = (o: Outcome) => {
    const waiter = outcomes.shift();
    if (waiter) waiter(o);
    else pending.push(o);
  };
  server = createServer((req: IncomingMessage, res) => {
    readBody(req, options).then(
      (body) => {
        const heldAtEnd = options.budget.heldBytes;
        releaseBody(req, options);
        deliver({ body, heldAtEnd });
        res.end('ok');
      },
      (error: Error) => {
        deliver({ error, heldAtEnd: options.budget.heldBytes });
        res.writeHead(error instanceof BodyRefusedError ? error.statusCode : 400, { connection: 'close' });
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    next: () => {
      const ready = pending.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => outcomes.push(resolve));
    },
  };
}

function send(port: number, headers: Record<string, string>, chunks: Buffer[]): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

function options(totalBytes: number, largeBytes = totalBytes, maxBytes = 25 * MiB): BodyReaderOptions {
  return { budget: new BodyBudget({ totalBytes, largeBytes }), maxBytes, onHeldChange: () => undefined };
}

describe('readBody', () => {
  it('reads a Content-Length body whole, claiming it while held, and gives it back', async () => {
    const opts = options(4 * MiB);
    const { port, next } = await serve(opts);
    const body = randomBytes(3 * MiB);
    expect(await send(port, { 'content-length': String(body.length) }, [body])).toBe(200);
    const outcome = await next();
    expect(outcome.body?.equals(body)).toBe(true);
    expect(outcome.heldAtEnd).toBe(body.length);
    expect(opts.budget.heldBytes).toBe(0);
  });

  it('reads a chunked body, claiming its buffer as it grows', async () => {
    const opts = options(4 * MiB);
    const { port, next } = await serve(opts);
    const parts = Array.from({ length: 40 }, () => randomBytes(10_000));
    expect(await send(port, {}, parts)).toBe(200);
    const outcome = await next();
    expect(outcome.body?.equals(Buffer.concat(parts))).toBe(true);
    expect(outcome.heldAtEnd).toBeGreaterThanOrEqual(400_000);
    expect(outcome.heldAtEnd).toBeLessThanOrEqual(2 * 400_000);
    expect(opts.budget.heldBytes).toBe(0);
  });

  it('refuses a Content-Length that does not fit before reading any of it: 503', async () => {
    const opts = options(MiB);
    const { port, next } = await serve(opts);
    const held = opts.budget.open();
    opts.budget.grow(held, MiB - 1000);
    const status = send(port, { 'content-length': '2000' }, [Buffer.alloc(2000)]);
    const outcome = await next();
    expect(outcome.error).toBeInstanceOf(BodyRefusedError);
    expect((outcome.error as BodyRefusedError).statusCode).toBe(503);
    expect((outcome.error as BodyRefusedError).headers['retry-after']).toMatch(/^\d+$/);
    expect(opts.budget.heldBytes).toBe(MiB - 1000);
    expect([503, -1]).toContain(await status);
  });

  it('refuses a chunked body once it outgrows the budget (503) or 25 MB (413), holding nothing after', async () => {
    const opts = options(MiB, MiB, 2 * MiB);
    const { port, next } = await serve(opts);
    void send(
      port,
      {},
      Array.from({ length: 30 }, () => Buffer.alloc(64 * 1024)),
    );
    const overBudget = await next();
    expect((overBudget.error as BodyRefusedError).statusCode).toBe(503);
    expect(opts.budget.heldBytes).toBe(0);

    const roomy = options(10 * MiB, 10 * MiB, 2 * MiB);
    const second = await serve(roomy);
    void send(
      second.port,
      {},
      Array.from({ length: 40 }, () => Buffer.alloc(64 * 1024)),
    );
    const tooLarge = await second.next();
    expect((tooLarge.error as BodyRefusedError).statusCode).toBe(413);
    expect(roomy.budget.heldBytes).toBe(0);
  });

  it('refuses a Content-Length over 25 MB without claiming anything: 413', async () => {
    const opts = options(64 * MiB);
    const { port, next } = await serve(opts);
    void send(port, { 'content-length': String(25 * MiB + 1) }, [Buffer.alloc(1000)]);
    const outcome = await next();
    expect((outcome.error as BodyRefusedError).statusCode).toBe(413);
    expect(opts.budget.heldBytes).toBe(0);
  });

  it('gives the claim back when the client goes away mid-body', async () => {
    const opts = options(4 * MiB);
    const { port, next } = await serve(opts);
    const req = request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/',
      headers: { 'content-length': String(2 * MiB) },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(1000));
    while (opts.budget.heldBytes === 0) await new Promise((r) => setTimeout(r, 5));
    expect(opts.budget.heldBytes).toBe(2 * MiB);
    req.destroy();
    const outcome = await next();
    expect(outcome.error).toBeDefined();
    expect(opts.budget.heldBytes).toBe(0);
  });
});
