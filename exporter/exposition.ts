// Prometheus text exposition (format 0.0.4), written by hand because the view's
// series change one at a time: each series keeps its rendered lines, and a scrape
// only joins strings (prom-client would rebuild every label set per scrape).
import type { Labels } from '../schemas/model.js';

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function formatLabels(labels: Labels, extra?: [string, string]): string {
  const parts = Object.keys(labels).map((name) => `${name}="${escapeLabelValue(labels[name] ?? '')}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

export function sampleLine(name: string, labels: Labels, value: number): string {
  return `${name}${formatLabels(labels)} ${formatValue(value)}\n`;
}

/** Histogram lines from non-cumulative bucket counts (the last slot is +Inf). */
export function histogramLines(
  name: string,
  labels: Labels,
  buckets: readonly number[],
  bucketCounts: readonly number[],
  sum: number,
  count: number,
): string {
  let out = '';
  let cumulative = 0;
  for (let i = 0; i <= buckets.length; i++) {
    cumulative += bucketCounts[i] ?? 0;
    const le = i < buckets.length ? String(buckets[i]) : '+Inf';
    out += `${name}_bucket${formatLabels(labels, ['le', le])} ${cumulative}\n`;
  }
  out += `${name}_sum${formatLabels(labels)} ${formatValue(sum)}\n`;
  out += `${name}_count${formatLabels(labels)} ${count}\n`;
  return out;
}

export function familyHeader(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}
