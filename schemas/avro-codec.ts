// Avro values with Confluent wire framing: magic byte 0, 4-byte big-endian schema id,
// then the Avro binary. The ids come from a SchemaRegistry; the built-in one is a
// static table (registry.ts), and a Confluent Schema Registry client can replace it
// without changing a byte on the wire.
import avro from 'avsc';

const MAGIC = 0;
const HEADER_BYTES = 5;
/** The scratch buffer encode writes into, shared (encoding is synchronous); larger records get their own. */
const MAX_SCRATCH_BYTES = 1024 * 1024;
let scratch = Buffer.allocUnsafe(64 * 1024);

type Resolver = ReturnType<avro.Type['createResolver']>;

export class DecodeError extends Error {
  constructor(
    readonly subject: string,
    problem: string,
  ) {
    super(`cannot decode ${subject}: ${problem}`);
    this.name = 'DecodeError';
  }
}

/**
 * A record framed with a schema id this build does not know: written by a newer
 * runstream. Unlike other decode errors it is no verdict on the record: a reader that must
 * not lose it stops rather than skip it (upgrade the readers first, see docs/operations.md).
 */
export class UnknownSchemaError extends DecodeError {
  constructor(subject: string, id: number) {
    super(subject, `unknown schema id ${id}, written by a newer runstream: upgrade this role`);
    this.name = 'UnknownSchemaError';
  }
}

export interface RegisteredSchema {
  id: number;
  subject: string;
  schema: object;
}

export interface SchemaRegistry {
  /** The id new records of this subject are written with. */
  writerId(subject: string): number;
  /** The writer schema behind an id, or undefined when unknown. */
  schemaById(id: number): RegisteredSchema | undefined;
  /** The schema readers of this subject decode into. */
  readerSchema(subject: string): object;
}

/**
 * Reads records of one subject, whatever registered version wrote them, into the reader
 * schema: the subject's latest by default, or a projection of it (fewer fields; the others
 * are skipped, never materialised).
 */
export class AvroDecoder<T> {
  private readonly reader: avro.Type;
  private readonly resolvers = new Map<number, avro.Type | Resolver>();

  constructor(
    protected readonly registry: SchemaRegistry,
    readonly subject: string,
    private readonly readerSchema: object = registry.readerSchema(subject),
  ) {
    this.reader = avro.Type.forSchema(readerSchema as avro.Schema, { wrapUnions: false });
  }

  /** The reader type, to write with when the reader schema is the writer's. */
  protected get type(): avro.Type {
    return this.reader;
  }

  decode(bytes: Buffer): T {
    if (bytes.length < HEADER_BYTES)
      throw new DecodeError(this.subject, `${bytes.length} bytes is shorter than the header`);
    if (bytes.readUInt8(0) !== MAGIC)
      throw new DecodeError(this.subject, `unknown magic byte ${bytes.readUInt8(0)}`);
    const id = bytes.readUInt32BE(1);
    const resolver = this.resolverFor(id);
    try {
      const body = bytes.subarray(HEADER_BYTES);
      const { value, offset } =
        resolver === this.reader
          ? this.reader.decode(body, 0)
          : this.reader.decode(body, 0, resolver as Resolver);
      // avsc signals a truncated buffer with offset -1; trailing bytes mean a wrong schema.
      if (offset !== body.length) {
        throw new DecodeError(
          this.subject,
          offset < 0 ? 'truncated record' : `${body.length - offset} trailing bytes`,
        );
      }
      return value as T;
    } catch (error) {
      if (error instanceof DecodeError) throw error;
      throw new DecodeError(this.subject, (error as Error).message);
    }
  }

  private resolverFor(id: number): avro.Type | Resolver {
    const known = this.resolvers.get(id);
    if (known) return known;
    const registered = this.registry.schemaById(id);
    if (!registered) throw new UnknownSchemaError(this.subject, id);
    if (registered.subject !== this.subject) {
      throw new DecodeError(this.subject, `schema id ${id} belongs to ${registered.subject}`);
    }
    const resolver =
      registered.schema === this.readerSchema
        ? this.reader
        : this.reader.createResolver(
            avro.Type.forSchema(registered.schema as avro.Schema, { wrapUnions: false }),
          );
    this.resolvers.set(id, resolver);
    return resolver;
  }
}

/** Writes records of one subject with its latest schema, and reads any version of them. */
export class AvroCodec<T> extends AvroDecoder<T> {
  private readonly writerId: number;

  constructor(registry: SchemaRegistry, subject: string) {
    super(registry, subject);
    this.writerId = registry.writerId(subject);
  }

  /**
   * One pass of the encoder into a scratch buffer kept between calls, then one copy
   * into a record of the exact size. (avsc's toBuffer writes twice into a zeroed
   * buffer when a record outgrows its 1 KB scratch: every Delivery does.)
   */
  encode(value: T): Buffer {
    let end = this.type.encode(value, scratch, HEADER_BYTES);
    if (end < 0) {
      // A negative end is the bytes missing: grow (kept up to a bound) and encode again.
      const needed = scratch.length - end;
      if (needed > MAX_SCRATCH_BYTES) {
        const own = Buffer.allocUnsafe(needed);
        return this.framed(own, this.type.encode(value, own, HEADER_BYTES));
      }
      scratch = Buffer.allocUnsafe(2 ** Math.ceil(Math.log2(needed)));
      end = this.type.encode(value, scratch, HEADER_BYTES);
    }
    const framed = Buffer.allocUnsafe(end);
    scratch.copy(framed, 0, 0, end);
    return this.framed(framed, end);
  }

  private framed(buffer: Buffer, end: number): Buffer {
    buffer.writeUInt8(MAGIC, 0);
    buffer.writeUInt32BE(this.writerId, 1);
    return end === buffer.length ? buffer : buffer.subarray(0, end);
  }

  /** A decoder of this subject's records without some fields: skipped, never copied out. */
  without<K extends keyof T & string>(...fields: K[]): AvroDecoder<Omit<T, K>> {
    const schema = this.registry.readerSchema(this.subject) as { fields: ReadonlyArray<{ name: string }> };
    const dropped: ReadonlySet<string> = new Set(fields);
    return new AvroDecoder(this.registry, this.subject, {
      ...schema,
      fields: schema.fields.filter((field) => !dropped.has(field.name)),
    });
  }
}
