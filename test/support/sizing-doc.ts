// The memory sizing table of docs/operations.md ("Sizing a processor"), read as an
// operator reads it, so the tests hold each overlay's requests and limits to it.
import { readRepoFile } from './deploy-contract.js';
import { quantity } from './kubernetes-pack.js';

export interface SizingRow {
  overlay: string;
  /** The pod's largest memory peak the benchmarks measured (MB). */
  peakMb: number;
  /** The limit is at least the peak times this. */
  headroom: number;
  requestBytes: number;
  limitBytes: number;
}

const HEADING = '### Memory per pod';

/** The first Markdown table under the heading, as rows of cells keyed by column name. */
export function tableUnder(markdown: string, heading: string): Array<Record<string, string>> {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no "${heading}" section`);
  const lines = markdown.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  const [header, , ...body] = rows;
  if (!header || body.length === 0) throw new Error(`no table under "${heading}"`);
  return body.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i] ?? ''])));
}

/** Bytes of a cell such as `768Mi` (in backquotes or not). */
function bytes(cell: string, what: string): number {
  const value = quantity(cell.replaceAll('`', ''));
  if (value === undefined) throw new Error(`sizing table: ${what} "${cell}" is no Kubernetes quantity`);
  return value;
}

function number(cell: string, what: string): number {
  const value = Number(cell.replace(/[×x,\s]/g, ''));
  if (!Number.isFinite(value)) throw new Error(`sizing table: ${what} "${cell}" is no number`);
  return value;
}

export function sizingRows(markdown = readRepoFile('docs/operations.md')): SizingRow[] {
  return tableUnder(markdown, HEADING).map((row) => ({
    overlay: (row.overlay ?? '').replaceAll('`', ''),
    peakMb: number(row['measured peak (MB)'] ?? '', 'measured peak'),
    headroom: number(row.headroom ?? '', 'headroom'),
    requestBytes: bytes(row['memory request'] ?? '', 'memory request'),
    limitBytes: bytes(row['memory limit'] ?? '', 'memory limit'),
  }));
}
