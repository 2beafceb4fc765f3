/**
 * How many API threads Nexus starts when `SPIKE_NEXUS_API_THREADS` is `auto` (the default):
 * one per CPU this process may use, at most `AUTO_API_THREADS_CAP`, and 1 wherever API threads
 * are not supported (the memory backend: its data lives in the main thread only). Workers read
 * through their own SQLite connection or PostgreSQL pool.
 * The CPUs this process may use are the smaller of `os.availableParallelism()` (the CPU affinity
 * mask) and the cgroup CPU quota when one is visible (a container limited to 1.5 CPUs gets 2).
 * See ADR 0031.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Most API threads `auto` starts: each thread costs memory (see operations.md); more may be set. */
export const AUTO_API_THREADS_CAP = 8;

/** What `SPIKE_NEXUS_API_THREADS` holds: a thread count, or `auto`. */
export type ApiThreadsSetting = number | 'auto';

export interface CpuSources {
  /** `os.availableParallelism()`. */
  readonly parallelism: () => number;
  /** Reads a file as text; throws when it does not exist. */
  readonly readFile: (path: string) => string;
}

const PROCESS_SOURCES: CpuSources = {
  parallelism: availableParallelism,
  readFile: (path) => readFileSync(path, 'utf8'),
};

/** The cgroup v2 limit (`cpu.max`: "<quota> <period>" or "max <period>"), in CPUs, or undefined. */
function cgroupV2Cpus(read: CpuSources['readFile']): number | undefined {
  let text: string;
  try {
    text = read('/sys/fs/cgroup/cpu.max');
  } catch {
    return undefined;
  }
  const [quota, period] = text.trim().split(/\s+/);
  return quotaCpus(Number(quota), Number(period));
}

/** The cgroup v1 limit (`cpu.cfs_quota_us`, -1 = none, over `cpu.cfs_period_us`), or undefined. */
function cgroupV1Cpus(read: CpuSources['readFile']): number | undefined {
  try {
    const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim());
    const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim());
    return quotaCpus(quota, period);
  } catch {
    return undefined;
  }
}

function quotaCpus(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.ceil(quota / period));
}

/** The CPUs this process may use: the affinity mask, lowered to a visible cgroup quota. */
export function availableCpus(sources: CpuSources = PROCESS_SOURCES): number {
  let cpus = Math.max(1, Math.floor(sources.parallelism()));
  const quota = cgroupV2Cpus(sources.readFile) ?? cgroupV1Cpus(sources.readFile);
  if (quota !== undefined) cpus = Math.min(cpus, quota);
  return cpus;
}

/**
 * The number of API threads to start. An explicit number is kept as it is (the configuration
 * check refuses one above 1 on the memory backend). `auto` is one per available CPU, capped, on
 * SQLite and PostgreSQL; 1 on the memory backend and when the available CPUs are unknown (an embedding that did not say).
 */
export function resolveApiThreads(
  setting: ApiThreadsSetting,
  context: { readonly backend: string; readonly cpus: number | undefined },
): number {
  if (setting !== 'auto') return setting;
  if (context.backend === 'memory' || context.cpus === undefined) return 1;
  return Math.min(AUTO_API_THREADS_CAP, Math.max(1, Math.floor(context.cpus)));
}
