import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUTO_API_THREADS_CAP, availableCpus, resolveApiThreads, type CpuSources } from './sizing.ts';

/** CPU sources of a made-up machine: `parallelism` CPUs and these cgroup files. */
function machine(parallelism: number, files: Record<string, string> = {}): CpuSources {
  return {
    parallelism: () => parallelism,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
  };
}

describe('API thread sizing', () => {
  it('auto: one thread per available CPU on SQLite, capped', () => {
    assert.equal(resolveApiThreads('auto', { backend: 'sqlite', cpus: 2 }), 2);
    assert.equal(resolveApiThreads('auto', { backend: 'sqlite', cpus: 4 }), 4);
    assert.equal(resolveApiThreads('auto', { backend: 'postgres', cpus: 4 }), 4);
    assert.equal(resolveApiThreads('auto', { backend: 'sqlite', cpus: 64 }), AUTO_API_THREADS_CAP);
  });

  it('auto on a 1-CPU machine keeps one thread', () => {
    assert.equal(resolveApiThreads('auto', { backend: 'sqlite', cpus: 1 }), 1);
    assert.equal(resolveApiThreads('auto', { backend: 'sqlite', cpus: 0 }), 1);
  });

  it('auto is 1 where API threads are not supported, or when the CPUs are not known', () => {
    assert.equal(resolveApiThreads('auto', { backend: 'memory', cpus: 8 }), 1);
    assert.equal(resolveApiThreads('auto', { backend: 'sqlite', cpus: undefined }), 1);
  });

  it('an explicit count overrides auto, above the cap and below the CPUs alike', () => {
    assert.equal(resolveApiThreads(1, { backend: 'sqlite', cpus: 8 }), 1);
    assert.equal(resolveApiThreads(16, { backend: 'sqlite', cpus: 2 }), 16);
    assert.equal(resolveApiThreads(3, { backend: 'memory', cpus: 8 }), 3); // refused by the config check
  });

  it('available CPUs: the affinity mask without a cgroup quota', () => {
    assert.equal(availableCpus(machine(6)), 6);
    assert.equal(availableCpus(machine(6, { '/sys/fs/cgroup/cpu.max': 'max 100000\n' })), 6);
    assert.equal(
      availableCpus(
        machine(6, {
          '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
          '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
        }),
      ),
      6,
    );
  });

  it('available CPUs: a cgroup v2 quota lowers it, rounded up', () => {
    assert.equal(availableCpus(machine(8, { '/sys/fs/cgroup/cpu.max': '200000 100000\n' })), 2);
    assert.equal(availableCpus(machine(8, { '/sys/fs/cgroup/cpu.max': '150000 100000' })), 2);
    assert.equal(availableCpus(machine(8, { '/sys/fs/cgroup/cpu.max': '50000 100000' })), 1);
    // A quota above the affinity mask does not raise it.
    assert.equal(availableCpus(machine(2, { '/sys/fs/cgroup/cpu.max': '800000 100000' })), 2);
  });

  it('available CPUs: a cgroup v1 quota lowers it', () => {
    const files = {
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '300000\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    };
    assert.equal(availableCpus(machine(16, files)), 3);
  });

  it('available CPUs: unreadable or garbled cgroup files are ignored', () => {
    assert.equal(availableCpus(machine(4, { '/sys/fs/cgroup/cpu.max': 'garbage' })), 4);
    assert.equal(availableCpus(machine(4, { '/sys/fs/cgroup/cpu.max': '0 100000' })), 4);
    assert.equal(availableCpus(machine(4, { '/sys/fs/cgroup/cpu.max': '100000 0' })), 4);
    assert.equal(availableCpus(machine(0)), 1);
  });

  it('the real machine: at least one CPU, and auto never exceeds it or the cap', () => {
    const cpus = availableCpus();
    assert.ok(Number.isInteger(cpus) && cpus >= 1);
    const n = resolveApiThreads('auto', { backend: 'sqlite', cpus });
    assert.ok(n >= 1 && n <= Math.min(cpus, AUTO_API_THREADS_CAP));
  });
});
