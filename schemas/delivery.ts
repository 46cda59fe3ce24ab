// Avro schema of the Delivery envelope on `<prefix>deliveries`. Evolve additively
// only (new fields with defaults) and register each version in registry.ts.
export const deliverySchemaV1 = {
  type: 'record',
  name: 'Delivery',
  namespace: 'dev.runstream',
  doc: 'One GitHub webhook delivery, with the body exactly as received.',
  fields: [
    { name: 'id', type: 'string', doc: 'X-GitHub-Delivery GUID; the dedupe key' },
    { name: 'event', type: 'string', doc: 'X-GitHub-Event' },
    { name: 'action', type: ['null', 'string'], default: null },
    { name: 'hookId', type: ['null', 'string'], default: null, doc: 'X-GitHub-Hook-ID' },
    { name: 'installationTargetType', type: ['null', 'string'], default: null },
    { name: 'installationTargetId', type: ['null', 'string'], default: null },
    {
      name: 'receivedAt',
      type: { type: 'long', logicalType: 'timestamp-millis' },
      doc: 'when ingest accepted it',
    },
    { name: 'source', type: { type: 'enum', name: 'DeliverySource', symbols: ['webhook', 'replay'] } },
    { name: 'runId', type: ['null', 'long'], default: null, doc: 'workflow run id, also the record key' },
    { name: 'body', type: 'bytes', doc: 'the raw request body, byte-identical' },
  ],
} as const;

export interface Delivery {
  id: string;
  event: string;
  action: string | null;
  hookId: string | null;
  installationTargetType: string | null;
  installationTargetId: string | null;
  receivedAt: number;
  source: 'webhook' | 'replay';
  runId: number | null;
  body: Buffer;
}
