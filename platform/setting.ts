// One environment variable, declared once: its name, default, parser, meaning and the
// commands that read it. The declaration is what the config readers call, and what
// every command's --help and the README's configuration table are made from
// (cli/settings.ts gathers them). A bad value fails at start with one line naming the
// variable (ConfigError).

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/** The commands of `runstream` that read settings (`all` reads those of ingest, processor and exporter). */
export type Command =
  | 'ingest'
  | 'processor'
  | 'exporter'
  | 'topics'
  | 'replay'
  | 'export'
  | 'demo'
  | 'runners';

/** The parts of the configuration table. */
export type Section =
  | 'kafka'
  | 'security'
  | 'roles'
  | 'processing'
  | 'lifecycle'
  | 'metrics'
  | 'github'
  | 'replay'
  | 'logging';

export interface SettingDoc {
  name: string;
  /** The default as the table shows it: a value, a phrase ("broker default"), or '' for none. */
  shown: string;
  meaning: string;
  commands: readonly Command[];
  section: Section;
  /** Changing it changes what the metrics count: it takes a reprocess (docs/replay.md). */
  reprocess?: boolean;
}

export interface Setting<T> extends SettingDoc {
  read(env: Env): T;
}

type Doc = Omit<SettingDoc, 'shown'> & { shown?: string };

/** The variable's trimmed value, undefined when unset or blank. */
export function rawValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A setting parsed from its trimmed text; `fallback` when unset. */
export function setting<T>(doc: Doc, fallback: T, parse: (raw: string, name: string) => T): Setting<T> {
  return {
    shown: '',
    ...doc,
    read(env) {
      const raw = rawValue(env, doc.name);
      return raw === undefined ? fallback : parse(raw, doc.name);
    },
  };
}

/** Text as given (trimmed), or undefined: for readers that check several variables together. */
export function text(doc: Doc): Setting<string | undefined> {
  return setting<string | undefined>(doc, undefined, (raw) => raw);
}

export function stringSetting(doc: Doc, fallback: string): Setting<string> {
  return setting({ shown: fallback === '' ? '' : `\`${fallback}\``, ...doc }, fallback, (raw) => raw);
}

export function parseInteger(raw: string, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `expected an integer, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `expected ${min}..${max}, got ${value}`);
  return value;
}

export function intSetting(
  doc: Doc,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): Setting<number> {
  return setting({ shown: `\`${fallback}\``, ...doc }, fallback, (raw, name) =>
    parseInteger(raw, name, min, max),
  );
}

export function portSetting(doc: Doc, fallback: number): Setting<number> {
  return intSetting(doc, fallback, 0, 65_535);
}

export function parseBoolean(raw: string, name: string): boolean {
  const value = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

export function boolSetting(doc: Doc, fallback: boolean): Setting<boolean> {
  return setting({ shown: `\`${fallback}\``, ...doc }, fallback, parseBoolean);
}

export function choiceSetting<T extends string>(doc: Doc, fallback: T, values: readonly T[]): Setting<T> {
  return setting({ shown: `\`${fallback}\``, ...doc }, fallback, (raw, name) => {
    const value = values.find((v) => v === raw);
    if (value === undefined) throw new ConfigError(name, `expected ${values.join('|')}, got ${raw}`);
    return value;
  });
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "30s", "6h", "35d" (or a bare number of seconds) into milliseconds. */
export function parseDurationMs(raw: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (durationUnits[match[2] ?? 's'] ?? 1000));
}

function parseDuration(raw: string, name: string): number {
  const ms = parseDurationMs(raw);
  if (ms === undefined || ms <= 0) {
    throw new ConfigError(
      name,
      `expected a positive duration like 30s, 6h or 4d, got ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

/** Milliseconds as an operator writes them: the largest unit that still counts at least two (24h, 4d, 60s). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = durationUnits[unit]!;
    if (ms % size === 0 && ms / size >= 2) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A duration in milliseconds. */
export function durationSetting(doc: Doc, fallbackMs: number): Setting<number> {
  return setting({ shown: `\`${formatDuration(fallbackMs)}\``, ...doc }, fallbackMs, parseDuration);
}

const byteUnits: Record<string, number> = {
  '': 1,
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
};

function parseBytes(raw: string, name: string, below: number): number {
  const match = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(raw);
  const bytes = match ? Math.round(Number(match[1]) * byteUnits[match[2] ?? '']!) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes >= below) {
    throw new ConfigError(
      name,
      `expected a size such as 4MiB, 512KiB or a number of bytes below ${formatBytes(below)}, got ${JSON.stringify(raw)}`,
    );
  }
  return bytes;
}

function formatBytes(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    if (bytes % byteUnits[unit]! === 0 && bytes >= byteUnits[unit]!)
      return `${bytes / byteUnits[unit]!}${unit}`;
  }
  return String(bytes);
}

/** A size in bytes below `below` (4GiB unless given): a number, or one with KiB, MiB, GiB or TiB ("4MiB"). */
export function bytesSetting(doc: Doc, fallback: number, below = 2 ** 32): Setting<number> {
  return setting({ shown: `\`${formatBytes(fallback)}\``, ...doc }, fallback, (raw, name) =>
    parseBytes(raw, name, below),
  );
}
