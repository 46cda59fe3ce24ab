// One configuration catalogue: every variable the code reads is declared once, the
// readers go through the declarations (a bad value names its variable), and --help and
// the README's tables are made from them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { environmentHelp, SETTINGS, withSettings } from '../../../cli/settings.js';
import { readExporterConfig } from '../../../exporter/config.js';
import { readGitHubConfig } from '../../../github/config.js';
import { readIngestConfig } from '../../../ingest/config.js';
import { ConfigError, readCommonConfig } from '../../../platform/config.js';
import type { Command, Env } from '../../../platform/setting.js';
import { readProcessorConfig } from '../../../processor/config.js';
import { readArchiveLimits } from '../../../replay/config.js';
import { root } from '../../support/deploy-contract.js';

const PRODUCT = ['cli', 'platform', 'ingest', 'processor', 'exporter', 'schemas', 'github', 'replay', 'demo'];

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [readFileSync(join(root, dir, entry.name), 'utf8')]
        : [],
  );
}

const names = SETTINGS.map((s) => s.name);

describe('the configuration catalogue', () => {
  it('declares every variable the product mentions, each once', () => {
    const code = PRODUCT.flatMap(sources).join('\n');
    const constants = new Set([...code.matchAll(/\bconst ([A-Z][A-Z0-9_]+)\b/g)].map((m) => m[1]));
    const mentioned = new Set(
      [...code.matchAll(/\b(?:RUNSTREAM|KAFKA)_[A-Z0-9_]*[A-Z0-9]\b/g)]
        .map((m) => m[0])
        .filter((name) => !constants.has(name)),
    );
    expect([...mentioned].filter((name) => !names.includes(name)).sort()).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
    for (const setting of SETTINGS) {
      expect(setting.meaning, setting.name).not.toBe('');
      expect(setting.commands.length, setting.name).toBeGreaterThan(0);
    }
  });

  it("feeds the readers: a value a setting's parser refuses fails naming that variable", () => {
    const readers: Array<[Command, (env: Env, name: string) => unknown]> = [
      ['ingest', (env) => readIngestConfig({ RUNSTREAM_WEBHOOK_SECRET: 's', ...env })],
      ['processor', readProcessorConfig],
      ['exporter', readExporterConfig],
      [
        'replay',
        (env, name) => {
          readCommonConfig(env);
          readArchiveLimits(env);
          // The App's key and installation are read once an App id is given.
          return readGitHubConfig(
            /_APP_(PRIVATE|INSTALL)/.test(name) ? { RUNSTREAM_GITHUB_APP_ID: '1', ...env } : env,
          );
        },
      ],
    ];
    // Text taken as it is (undefined), or a setting that needs another one first.
    const taken: Record<string, string | undefined> = {
      RUNSTREAM_HOST: undefined,
      RUNSTREAM_STATE_DIR: undefined,
      RUNSTREAM_PROCESSOR_GROUP: undefined,
      RUNSTREAM_WEBHOOK_SECRET: undefined,
      RUNSTREAM_GITHUB_APP_ID: 'RUNSTREAM_GITHUB_APP_PRIVATE_KEY_FILE',
    };
    const expected = (name: string) =>
      name.startsWith('KAFKA_SASL_') && name !== 'KAFKA_SASL_MECHANISM'
        ? 'KAFKA_SASL_MECHANISM'
        : name in taken
          ? taken[name]
          : name;
    let checked = 0;
    for (const setting of SETTINGS) {
      for (const [command, read] of readers) {
        if (!setting.commands.includes(command)) continue;
        // The exporter reads credentials only for scale sets; replay's reader checks them.
        if (command === 'exporter' && /^RUNSTREAM_GITHUB_(?!CONFIG_URL)/.test(setting.name)) continue;
        let variable: string | undefined;
        try {
          read({ [setting.name]: 'not a value!' }, setting.name);
        } catch (error) {
          expect(error, setting.name).toBeInstanceOf(ConfigError);
          variable = (error as ConfigError).variable;
        }
        expect(variable, `${setting.name} read by ${command}`).toBe(expected(setting.name));
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("makes each command's --help from the settings that command reads", () => {
    const help = environmentHelp('processor');
    expect(help).toContain('RUNSTREAM_STATE_DIR');
    expect(help).toContain('RUNSTREAM_STORE_CACHE_SIZE');
    expect(help).toContain('KAFKA_SASL_MECHANISM');
    expect(help).not.toContain('RUNSTREAM_INGEST_PORT');
    const all = environmentHelp('all');
    for (const name of names.filter((n) =>
      SETTINGS.find((s) => s.name === n)!.commands.some((c) =>
        ['ingest', 'processor', 'exporter'].includes(c),
      ),
    )) {
      expect(all).toContain(name);
    }
    expect(environmentHelp('runners')).toContain('RUNSTREAM_GITHUB_CONFIG_URL');
  });

  it("matches the README's configuration tables (npm run docs:settings writes them)", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(withSettings(readme)).toBe(readme);
    for (const name of names) expect(readme).toContain(`| \`${name}\` |`);
  });
});
