/** Environment helpers for the benchmarks: process memory and CPU, and the machine description. */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** Pid of a direct child of this process whose command line contains `needle`. */
export function findChildPid(needle: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which is in parentheses and may contain spaces).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) return Number(entry);
    } catch {
      // The process went away while we looked.
    }
  }
  return undefined;
}

export interface MemoryUsage {
  /** Resident set size now, in MiB. */
  readonly rssMiB: number;
  /** Peak resident set size so far (VmHWM), in MiB. */
  readonly peakRssMiB: number;
}

export function processMemory(pid: number): MemoryUsage {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+([0-9]+) kB`, 'm').exec(status);
    return m === null ? Number.NaN : Number(m[1]);
  };
  return { rssMiB: round1(kib('VmRSS') / 1024), peakRssMiB: round1(kib('VmHWM') / 1024) };
}

/** CPU time (user + system) of a process in seconds, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 (1-based) of the whole line, i.e. 11 and 12 here.
  const ticks = Number(rest[11]) + Number(rest[12]);
  return ticks / 100;
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly sqlite: string;
  readonly openssl: string;
  readonly loadAverage: readonly number[];
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: round1(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    sqlite: process.versions.sqlite ?? 'unknown',
    openssl: process.versions.openssl,
    loadAverage: os.loadavg().map(round2),
  };
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
