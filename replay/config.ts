// `runstream replay --file` limits: what an archive may hold before it is refused
// whole (docs/replay.md "Limits"). Memory stays bounded by the line limit.
import { MAX_BODY_BYTES } from '../ingest/webhook.js';
import { bytesSetting, type Env, type SettingDoc } from '../platform/setting.js';

const MiB = 1024 ** 2;

export const REPLAY_MAX_LINE_BYTES = bytesSetting(
  {
    name: 'RUNSTREAM_REPLAY_MAX_LINE_BYTES',
    meaning:
      '`replay --file`: the longest archive line accepted (the default holds a 25 MiB body, the most ingest accepts, even if escaping doubles it); a longer line refuses the file',
    commands: ['replay'],
    section: 'replay',
  },
  // JSON escaping at most doubles a JSON body (only `"`, `\` and whitespace escape), plus the envelope.
  2 * MAX_BODY_BYTES + MiB,
);

export const REPLAY_MAX_BYTES = bytesSetting(
  {
    name: 'RUNSTREAM_REPLAY_MAX_BYTES',
    meaning:
      '`replay --file`: the most an archive may hold once decompressed (a gzip bomb stops here); a larger one is refused',
    commands: ['replay'],
    section: 'replay',
  },
  64 * 1024 ** 3,
  2 ** 50,
);

export const REPLAY_SETTINGS: readonly SettingDoc[] = [REPLAY_MAX_LINE_BYTES, REPLAY_MAX_BYTES];

export interface ArchiveLimits {
  /** Bytes of one line, its line break excluded. */
  maxLineBytes: number;
  /** Bytes of the whole archive once decompressed, line breaks included. */
  maxBytes: number;
}

export function readArchiveLimits(env: Env): ArchiveLimits {
  return { maxLineBytes: REPLAY_MAX_LINE_BYTES.read(env), maxBytes: REPLAY_MAX_BYTES.read(env) };
}
