// The Grafana dashboard (deploy/grafana/runstream.json) as the tests read it: its
// panels' queries and its variables, and Grafana's substitution of the variables.
import { readRepoFile } from './deploy-contract.js';

export interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type: string; uid: string };
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}

export interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  allValue?: string;
  includeAll?: boolean;
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

export const DASHBOARD = 'deploy/grafana/runstream.json';

export function readDashboard(): Dashboard {
  return JSON.parse(readRepoFile(DASHBOARD)) as Dashboard;
}

/** Panels that show data (rows only group them). */
export function dataPanels(dashboard: Dashboard): Panel[] {
  return dashboard.panels.filter((p) => p.type !== 'row');
}

/** The query variables, with their `label_values(<selector>, <label>)` split. */
export function queryVariables(
  dashboard: Dashboard,
): Array<{ name: string; selector: string; label: string }> {
  return dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => {
      const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const match = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(query);
      if (!match) throw new Error(`variable ${v.name}: not label_values(selector, label): ${query}`);
      return { name: v.name, selector: match[1]!, label: match[2]! };
    });
}

/** Variables an expression uses ($name or ${name}). */
export function variablesUsed(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\$\{?([a-zA-Z_]+)\}?/g)].map((m) => m[1]!))];
}

const escapeRegex = (value: string) => value.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/**
 * The expression as Grafana sends it: every variable replaced by its value, "All" by
 * the allValue (.*), a chosen value regex-escaped (the variables are multi-value).
 */
export function substitute(expr: string, values: Record<string, string | 'All'>): string {
  return expr.replace(/\$\{?([a-zA-Z_]+)\}?/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) return whole;
    return value === 'All' ? '.*' : escapeRegex(value);
  });
}
