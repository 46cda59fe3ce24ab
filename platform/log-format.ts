// Readable log lines for a terminal: pino's JSON line as `time LEVEL role message
// key=value...`, colored by level. JSON stays the format for anything else (a
// collector parses it); RUNSTREAM_LOG_FORMAT chooses.

export type LogFormat = 'json' | 'pretty';

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const RESET = '\x1b[0m';
/** pino's own fields, shown in the line's head rather than as key=value. */
const HEAD = new Set(['level', 'time', 'pid', 'hostname', 'name', 'role', 'msg']);

function text(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** One pino JSON line as a readable line (a line that is not JSON is passed through). */
export function prettyLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const [name, tint] = LEVELS[level] ?? [String(level), ''];
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const head = `${time} ${color ? `${tint}${name}${RESET}` : name} ${entry.role ?? ''}`.trimEnd();
  const fields: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(entry)) {
    if (HEAD.has(key)) continue;
    if ((key === 'err' || key === 'error') && value && typeof value === 'object') {
      const err = value as { message?: unknown; stack?: unknown };
      fields.push(`${key}=${text(err.message ?? value)}`);
      if (level >= 50 && typeof err.stack === 'string')
        stack = `\n    ${err.stack.split('\n').join('\n    ')}`;
      continue;
    }
    fields.push(`${key}=${text(value)}`);
  }
  return `${head} ${entry.msg ?? ''}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}${stack}\n`;
}

/** A pino destination that writes readable lines to stdout (or `out`). */
export function prettyDestination(
  color: boolean,
  out: NodeJS.WritableStream = process.stdout,
): { write(line: string): void } {
  return { write: (line) => void out.write(prettyLine(line, color)) };
}
