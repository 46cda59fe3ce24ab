// `npm run docs:settings`: writes the README's configuration tables from the catalogue
// (test/unit/cli/settings.test.ts fails while they differ).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withSettings } from './settings.js';

const path = join(import.meta.dirname, '..', 'README.md');
writeFileSync(path, withSettings(readFileSync(path, 'utf8')));
