// What the tests read from docker-compose.yml itself, so that a name is written once.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const composeFile = join(import.meta.dirname, '..', '..', 'docker-compose.yml');

/** The default of `${NAME:-default}` in docker-compose.yml (an image name). */
export function composeDefault(name: string): string {
  const match = new RegExp(`\\$\\{${name}:-([^}]+)\\}`).exec(readFileSync(composeFile, 'utf8'));
  if (!match) throw new Error(`docker-compose.yml has no \${${name}:-...}`);
  return match[1]!;
}
