/**
 * CPU time from Linux /proc stat files, shared by the benchmarks (bench/cluster-lib.ts, bench/sync.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc times are in these ticks (100 on every mainstream kernel build). */
const CLK_TCK = 100;

/** CPU seconds (user + system) in a process's or thread's `stat` file; 0 when it cannot be read (the task ended). */
export function statCpuSeconds(path: string): number {
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch {
    return 0;
  }
  // Fields after the parenthesised command name (which may itself hold ") "); utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** CPU seconds of a process split into its main thread (tid = pid) and all its other threads (workers, libuv pool, V8 helpers). */
export function threadCpuSeconds(pid: number): { main: number; others: number } {
  let others = 0;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { main: 0, others: 0 };
  }
  for (const t of tids) if (Number(t) !== pid) others += statCpuSeconds(`/proc/${pid}/task/${t}/stat`);
  return { main: statCpuSeconds(`/proc/${pid}/task/${pid}/stat`), others };
}
