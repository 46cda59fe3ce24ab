// The ACLs of docs/kafka-platform.md, read from its `kafka-acls` commands and granted
// through kafkajs as they are written there, so the tests run each role with exactly
// the documented ACLs and a missing one in the document fails them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import kafkajs, { type AclEntry } from 'kafkajs';
import { root } from './deploy-contract.js';
import type { PlumbingKafka } from './kafkajs.js';

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

export interface DocAcl {
  /** The principal as written (a variable such as $INGEST). */
  principal: string;
  operations: string[];
  resourceType: 'Topic' | 'Group' | 'TransactionalId';
  /** The resource name as written (with ${PREFIX} or $GROUP). */
  name: string;
  pattern: 'literal' | 'prefixed';
  line: string;
}

/** Every `kafka-acls ... --add` command of the document, continuation lines joined. */
export async function documentedAcls(): Promise<DocAcl[]> {
  const text = await readFile(join(root, 'docs', 'kafka-platform.md'), 'utf8');
  const commands = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.startsWith('kafka-acls ') && l.includes(' --add '));
  return commands.map((line) => {
    const words = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
    const value = (flag: string) => words[words.indexOf(flag) + 1];
    const operations = words.flatMap((w, i) => (w === '--operation' ? [words[i + 1] ?? ''] : []));
    const kinds = [
      ['--topic', 'Topic'],
      ['--group', 'Group'],
      ['--transactional-id', 'TransactionalId'],
    ] as const;
    const kind = kinds.find(([flag]) => words.includes(flag));
    const pattern = value('--resource-pattern-type');
    if (!kind || (pattern !== 'literal' && pattern !== 'prefixed') || !value('--allow-principal')) {
      throw new Error(`cannot read the ACL command: ${line}`);
    }
    return {
      principal: value('--allow-principal') ?? '',
      operations,
      resourceType: kind[1],
      name: value(kind[0]) ?? '',
      pattern,
      line,
    };
  });
}

const substitute = (text: string, vars: Record<string, string>) =>
  text.replace(/\$\{?([A-Z_]+)\}?/g, (whole, name: string) => vars[name] ?? whole);

const operationCode = (operation: string): number => {
  const code = (AclOperationTypes as unknown as Record<string, number>)[
    operation.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()
  ];
  if (code === undefined) throw new Error(`unknown ACL operation ${operation}`);
  return code;
};

/** kafkajs ACL entries for the documented ACLs, the document's variables substituted. */
export function aclEntries(acls: readonly DocAcl[], vars: Record<string, string>): AclEntry[] {
  return acls.flatMap((acl) =>
    acl.operations.map((operation) => ({
      resourceType: {
        Topic: AclResourceTypes.TOPIC,
        Group: AclResourceTypes.GROUP,
        TransactionalId: AclResourceTypes.TRANSACTIONAL_ID,
      }[acl.resourceType],
      resourceName: substitute(acl.name, vars),
      resourcePatternType:
        acl.pattern === 'literal' ? ResourcePatternTypes.LITERAL : ResourcePatternTypes.PREFIXED,
      principal: substitute(acl.principal, vars),
      host: '*',
      operation: operationCode(operation),
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
}

export async function grant(admin: ReturnType<PlumbingKafka['admin']>, entries: AclEntry[]): Promise<void> {
  await admin.createAcls({ acl: entries });
}
