// Where a runstream process's memory is, read from outside: its peak and current
// resident memory and its CPU time (Linux /proc) and, from its own /metrics (prom-client's default
// metrics under runstream_<role>_), how much of it is JS heap, Node buffers and the rest.
import { readFile } from 'node:fs/promises';
import type { Figures } from './types.js';

/** Peak and current resident memory of a process, in MB. */
export async function memoryOf(pid: number): Promise<{ peakMb: number; rssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { peakMb: Math.round(kb('VmHWM') / 1024), rssMb: Math.round(kb('VmRSS') / 1024) };
}

/**
 * CPU seconds (user + system) a process has used so far, from Linux /proc: what it cost,
 * whatever else the machine was doing meanwhile (wall-clock rates are not).
 */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at the state, field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ: Linux reports /proc CPU times in these ticks, 100 on every common platform. */
const CLOCK_TICKS_PER_SECOND = 100;

/** The memory of a role now, by kind (MB), from its /metrics at `url`; figures named `<name>_...`. */
export async function memoryBreakdown(url: string, role: string, name: string): Promise<Figures> {
  const text = await (await fetch(url)).text();
  const mb = (metric: string) =>
    Math.round(
      Number(new RegExp(`^runstream_${role}_${metric} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 1e6,
    );
  const rss = mb('process_resident_memory_bytes');
  const heap = mb('nodejs_heap_size_total_bytes');
  const external = mb('nodejs_external_memory_bytes');
  return {
    [`${name}_rss_mb`]: rss,
    [`${name}_js_heap_mb`]: heap,
    [`${name}_buffers_mb`]: external,
    // What neither the heap nor Node's buffers hold: native libraries (RocksDB's caches,
    // memtables and table readers in a processor) and the runtime itself.
    [`${name}_native_mb`]: rss - heap - external,
  };
}
