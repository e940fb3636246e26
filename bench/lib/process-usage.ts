// CPU time and memory of processes, read from /proc (Linux). A role may fork workers (node:cluster),
// so usage is summed over the whole process tree under the pid we started.
import { readFileSync, readdirSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE_BYTES = 4096;

export interface ProcessUsage {
  /** user + system CPU seconds since the process started */
  cpuSeconds: number;
  /** resident set size, bytes */
  rssBytes: number;
  processes: number;
  /** CPU seconds of each process of the tree (for deltas over a tree whose members change) */
  byPid?: Map<number, number>;
}

interface StatLine {
  pid: number;
  ppid: number;
  cpuTicks: number;
  rssPages: number;
}

function readStat(pid: number): StatLine | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: parse after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] = state (field 3); ppid = field 4; utime = 14; stime = 15; rss = 24
    return {
      pid,
      ppid: Number(fields[1]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      rssPages: Number(fields[21]),
    };
  } catch {
    return undefined; // the process exited
  }
}

/** Usage of one process (not its children). */
export function processUsage(pid: number): ProcessUsage {
  const stat = readStat(pid);
  if (!stat) return { cpuSeconds: 0, rssBytes: 0, processes: 0 };
  return { cpuSeconds: stat.cpuTicks / CLOCK_TICKS, rssBytes: stat.rssPages * PAGE_BYTES, processes: 1 };
}

/** Usage summed over `rootPid` and all its live descendants. */
export function processTreeUsage(rootPid: number): ProcessUsage {
  const children = new Map<number, StatLine[]>();
  let root: StatLine | undefined;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    if (pid === rootPid) root = stat;
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  if (!root) return { cpuSeconds: 0, rssBytes: 0, processes: 0 };
  let ticks = 0;
  let pages = 0;
  let processes = 0;
  const byPid = new Map<number, number>();
  const stack: StatLine[] = [root];
  while (stack.length > 0) {
    const stat = stack.pop()!;
    ticks += stat.cpuTicks;
    pages += stat.rssPages;
    processes += 1;
    byPid.set(stat.pid, stat.cpuTicks / CLOCK_TICKS);
    for (const child of children.get(stat.pid) ?? []) stack.push(child);
  }
  return { cpuSeconds: ticks / CLOCK_TICKS, rssBytes: pages * PAGE_BYTES, processes, byPid };
}

/**
 * CPU seconds a process tree used between two reads, process by process: a process seen only at the
 * end counts whole (it started in between), one seen only at the start counts nothing (its share
 * before it ended is unknown; `vanished` says how many). A plain difference of the sums would go
 * negative when a process with CPU time behind it leaves the tree (or a read misses it).
 */
export function treeCpuDelta(before: ProcessUsage, after: ProcessUsage): { cpuSeconds: number; vanished: number } {
  if (before.byPid === undefined || after.byPid === undefined) return { cpuSeconds: after.cpuSeconds - before.cpuSeconds, vanished: 0 };
  let cpuSeconds = 0;
  for (const [pid, seconds] of after.byPid) cpuSeconds += seconds - (before.byPid.get(pid) ?? 0);
  let vanished = 0;
  for (const pid of before.byPid.keys()) if (!after.byPid.has(pid)) vanished += 1;
  return { cpuSeconds, vanished };
}

export function usageDelta(before: ProcessUsage, after: ProcessUsage): ProcessUsage {
  return { cpuSeconds: after.cpuSeconds - before.cpuSeconds, rssBytes: after.rssBytes, processes: after.processes };
}
