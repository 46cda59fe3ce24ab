// The configuration catalogue: every setting of every module, gathered here (the
// composition root), made into each command's --help and the README's configuration
// table. The declarations live beside their readers; this only lists and renders them.
import { EXPORTER_SETTINGS } from '../exporter/config.js';
import { GITHUB_SETTINGS } from '../github/config.js';
import { INGEST_SETTINGS } from '../ingest/config.js';
import { COMMON_SETTINGS } from '../platform/config.js';
import { KAFKA_SECURITY_SETTINGS } from '../platform/kafka-security.js';
import type { Command, Section, SettingDoc } from '../platform/setting.js';
import { PROCESSOR_SETTINGS } from '../processor/config.js';
import { REPLAY_SETTINGS } from '../replay/config.js';
import { METRIC_SETTINGS } from '../schemas/metric-settings.js';

export const SETTINGS: readonly SettingDoc[] = [
  ...COMMON_SETTINGS,
  ...KAFKA_SECURITY_SETTINGS,
  ...INGEST_SETTINGS,
  ...PROCESSOR_SETTINGS,
  ...EXPORTER_SETTINGS,
  ...METRIC_SETTINGS,
  ...GITHUB_SETTINGS,
  ...REPLAY_SETTINGS,
];

const SECTIONS: ReadonlyArray<{ id: Section; title: string; intro?: string }> = [
  { id: 'kafka', title: 'Kafka and topics' },
  {
    id: 'security',
    title: 'Kafka security',
    intro:
      'TLS, mutual TLS and SASL (PLAIN, SCRAM, OAUTHBEARER), for every role and command; the ACLs each role needs, per-platform settings (Confluent Cloud, MSK, Aiven, Strimzi) and what `topics verify` checks: [docs/kafka-platform.md](docs/kafka-platform.md). Every role logs in and checks its ACLs at start: a wrong credential, an untrusted certificate, an expired token or a missing ACL stops it with one line naming the cause. Processors and exporters also verify the topics and refuse to start on a problem that would corrupt state (a changelog that is not compacted, partition counts that differ).',
  },
  { id: 'roles', title: 'Roles: ports, webhook secret, state' },
  { id: 'processing', title: 'Processing' },
  { id: 'lifecycle', title: 'Lifecycle: expiry and retention' },
  {
    id: 'metrics',
    title: 'Metrics: labels, filters, buckets (cardinality)',
    intro:
      'What the `github_actions_` families count and with which labels: [docs/metrics.md](docs/metrics.md). Each of these changes what the processors count, so a change takes a reprocess ([docs/replay.md](docs/replay.md#rebuilding-all-state-reprocess)); processors and exporters must be given the same values.',
  },
  {
    id: 'github',
    title: 'GitHub API',
    intro:
      "For `replay --github`, the exporter's scale-set statistics and `runstream runners` ([docs/github-client.md](docs/github-client.md)).",
  },
  {
    id: 'replay',
    title: 'Replay',
    intro:
      'Limits of `replay --file`: a file beyond one is refused whole, before anything is published ([docs/replay.md](docs/replay.md#limits)).',
  },
  { id: 'logging', title: 'Logging' },
];

/** The commands whose settings a command reads (`all` runs three roles). */
export function commandsOf(command: Command | 'all' | 'verify'): readonly Command[] {
  if (command === 'all') return ['ingest', 'processor', 'exporter'];
  // verify recomputes with the processors' rules: it must read their settings.
  return command === 'verify' ? ['processor'] : [command];
}

const REPROCESS = 'changing it takes a reprocess (docs/replay.md)';

const plain = (markdown: string) => markdown.replace(/`/g, '').replace(/\[([^\]]+)\]\([^)]+\)/g, '$1');

function wrap(words: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of words.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join(`\n${indent}`);
}

/** The "Environment" block of a command's --help: its settings, their defaults and meanings. */
export function environmentHelp(command: Command | 'all' | 'verify'): string {
  const commands = commandsOf(command);
  const settings = SETTINGS.filter((s) => s.commands.some((c) => commands.includes(c)));
  const width = Math.max(...settings.map((s) => s.name.length)) + 2;
  const indent = ' '.repeat(width + 2);
  const lines = settings.map((s) => {
    const notes = [s.shown && `default ${plain(s.shown)}`, s.reprocess && REPROCESS].filter(Boolean);
    const meaning = `${plain(s.meaning)}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
    return `  ${s.name.padEnd(width)}${wrap(meaning, Math.max(40, 110 - indent.length), indent)}`;
  });
  return `\nEnvironment (all of it: README "Configuration"; durations take ms, s, m, h, d):\n${lines.join('\n')}`;
}

const escapeCell = (value: string) => value.replace(/\|/g, '\\|');

/** The README's configuration tables, one per section, from the catalogue. */
export function settingsMarkdown(): string {
  const parts: string[] = [];
  for (const section of SECTIONS) {
    const settings = SETTINGS.filter((s) => s.section === section.id);
    if (settings.length === 0) continue;
    parts.push(`### ${section.title}\n`);
    if (section.intro) parts.push(`${section.intro}\n`);
    parts.push('| variable | default | read by | meaning |', '|---|---|---|---|');
    for (const s of settings) {
      const meaning = `${s.meaning}${s.reprocess ? ` (${REPROCESS.replace('docs/replay.md', '[docs/replay.md](docs/replay.md)')})` : ''}`;
      parts.push(
        `| \`${s.name}\` | ${escapeCell(s.shown)} | ${s.commands.join(', ')} | ${escapeCell(meaning)} |`,
      );
    }
    parts.push('');
  }
  return parts.join('\n');
}

export const README_MARKERS = {
  start:
    '<!-- settings: generated from the declarations by `npm run docs:settings`; edit those, not this -->',
  end: '<!-- /settings -->',
} as const;

/** The README with its configuration block replaced by the catalogue's. */
export function withSettings(readme: string): string {
  const start = readme.indexOf(README_MARKERS.start);
  const end = readme.indexOf(README_MARKERS.end);
  if (start < 0 || end < start) throw new Error('README.md has no settings markers');
  return `${readme.slice(0, start + README_MARKERS.start.length)}\n\n${settingsMarkdown()}\n${readme.slice(end)}`;
}
