/**
 * `npm run bench:nexus [-- --quick] [-- --only reads,writes,policies,rss] [-- --profile]`
 *
 * Starts a real stack (dev identity issuer, 3 keepers, Nexus on SQLite, bootstrap) as separate
 * processes, seeds data through the API, and drives Nexus from a separate load-generator process
 * that presents a real X.509-SVID over keep-alive mTLS. Reads and writes come from a NON-superuser
 * workload (`spiffe://spike.ist/workload/demo`) authorized by policy. Every scenario runs several
 * times; the median and the spread are reported. Raw results go to `bench/results/<date>.json`,
 * the table to `docs/benchmarks.md` (full runs of every group only).
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { BIN, freePorts, Stack } from '../scripts/stack.ts';
import {
  findChildPid,
  machineInfo,
  processCpuSeconds,
  processMemory,
  type MemoryUsage,
} from './bench-env.ts';
import type { RunRequest } from './load-protocol.ts';
import { parseBenchOptions } from './bench-options.ts';
import { startBenchDatabase, startExtraReplicas } from './bench-postgres.ts';
import { callerMatchingPolicies, gatedPolicy, otherWorkloadPolicies, readPolicy } from './bench-policies.ts';
import { formatSummary, summarizeProfileDir, type ProfileSummary } from './profile-summary.ts';
import { updateBenchmarkDoc } from './report.ts';
import {
  aggregate,
  measuredRun,
  type MeasuredRun,
  type ScenarioGroup,
  type ScenarioResult,
} from './scenario.ts';
import { LoadWorker } from './worker-handle.ts';

const ROOT = join(import.meta.dirname, '..');
const {
  flags,
  only,
  repeats,
  quick,
  cfg,
  apiThreads,
  apiThreadsSetting,
  metrics,
  backend,
  replicas,
  nexusEnv,
} = parseBenchOptions(ROOT);

const count = (n: number): string => n.toLocaleString('en-US');
const t0 = Date.now();
const say = (msg: string): void => {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[${s}s] ${msg}\n`);
};

const dir = mkdtempSync(join(os.tmpdir(), 'spike-bench-'));
const socketDir = mkdtempSync('/tmp/spx-');
const profileDir = join(dir, 'profile');
const [k1, k2, k3, nexusPort, healthPort, ...replicaPorts] = await freePorts(5 + 2 * (replicas - 1));
const db = backend === 'postgres' ? await startBenchDatabase() : undefined;
const stack = new Stack({
  dir,
  socketDir,
  keeperPorts: [k1!, k2!, k3!],
  nexusPort: nexusPort!,
  healthPort: healthPort!,
  nexusEnv: {
    SPIKE_SYSTEM_LOG_LEVEL: 'WARN',
    SPIKE_NEXUS_API_THREADS: String(apiThreadsSetting),
    SPIKE_NEXUS_METRICS: metrics,
    ...db?.nexusEnv,
    ...nexusEnv,
    ...(flags.profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } : {}),
  },
});
const workers: LoadWorker[] = [];
let stopping = false;

async function cleanup(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled(workers.map((w) => w.stop()));
  await stack.stop();
  await db?.stop();
  if (!flags.keep) {
    rmSync(socketDir, { recursive: true, force: true });
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`bench:nexus: ${signal}, stopping the stack\n`);
    void cleanup().finally(() => {
      if (!flags.keep) rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

const results: ScenarioResult[] = [];
const memory: Record<string, MemoryUsage> = {};
const seeding: Record<string, { count: number; seconds: number; perSecond: number; errors: number }> = {};
let nexusPid = 0;
/** Every Nexus replica's pid (the first is `nexusPid`). */
let nexusPids: number[] = [];
let loadPid = 0;
/** CPU seconds of every Nexus replica so far. */
const nexusCpuSeconds = (): number => nexusPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);

/** CLOCK_MONOTONIC microseconds at the start and end of each measured scenario. */
const scenarioWindows = new Map<string, [number, number]>();
const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

/** One run of `req` on `worker` (and `during` beside it, not measured), with Nexus's (and PostgreSQL's) CPU. */
async function measureOnce(
  worker: LoadWorker,
  meta: { id: string },
  req: Omit<RunRequest, 'type'>,
  label: string,
  during?: { readonly worker: LoadWorker; readonly req: Omit<RunRequest, 'type'> },
): Promise<MeasuredRun> {
  const c0 = nexusCpuSeconds();
  const l0 = processCpuSeconds(loadPid);
  const d0 = db?.cpuSeconds() ?? 0;
  const [r, beside] = await Promise.all([worker.run(req), during?.worker.run(during.req)]);
  if (beside !== undefined && beside.errors > 0) {
    throw new Error(`${meta.id}: ${String(beside.errors)} background requests failed`);
  }
  const warm = (req.warmupMs ?? 0) / 1000;
  // CPU during the warm-up is included; scale it out by the share of time it took.
  const fraction = r.elapsedMs / 1000 / (r.elapsedMs / 1000 + warm);
  const run = measuredRun(
    r,
    (nexusCpuSeconds() - c0) * fraction,
    (processCpuSeconds(loadPid) - l0) * fraction,
    db === undefined ? undefined : (db.cpuSeconds() - d0) * fraction,
  );
  say(
    `  ${label}: ${String(run.throughput)}/s  p50 ${run.p50.toFixed(2)} ms  ` +
      `p99 ${run.p99.toFixed(2)} ms  errors ${String(run.errors)}  nexus CPU ${String(run.nexusCpuPercent)}%  ` +
      `load CPU ${String(run.loadCpuPercent)}%` +
      (run.databaseCpuPercent === undefined ? '' : `  PostgreSQL CPU ${String(run.databaseCpuPercent)}%`) +
      (beside === undefined ? '' : `  (beside it: ${String(Math.round(beside.throughput))} writes/s)`),
  );
  return run;
}

/** Runs `req` `repeats` times on `worker`; `during`, if given, runs beside each run (not measured). */
async function measure(
  worker: LoadWorker,
  meta: { id: string; group: ScenarioGroup; title: string; policies: number },
  req: Omit<RunRequest, 'type'>,
  during?: { readonly worker: LoadWorker; readonly req: Omit<RunRequest, 'type'> },
): Promise<ScenarioResult> {
  say(`${meta.title} (concurrency ${String(req.concurrency)}, ${String(repeats)} runs)`);
  const runs: MeasuredRun[] = [];
  const windowStart = monotonicMicros();
  for (let i = 0; i < repeats; i++) {
    runs.push(await measureOnce(worker, meta, req, `run ${String(i + 1)}/${String(repeats)}`, during));
  }
  scenarioWindows.set(meta.id, [windowStart, monotonicMicros()]);
  const result = aggregate({ ...meta, concurrency: req.concurrency, runs });
  results.push(result);
  return result;
}

async function seed(worker: LoadWorker, label: string, req: Omit<RunRequest, 'type'>): Promise<void> {
  const started = Date.now();
  const r = await worker.run(req);
  const seconds = (Date.now() - started) / 1000;
  seeding[label] = { count: r.ok, seconds, perSecond: Math.round(r.ok / seconds), errors: r.errors };
  if (r.errors > 0)
    throw new Error(`${label}: ${String(r.errors)} requests failed: ${JSON.stringify(r.failures)}`);
  say(`  ${label}: ${count(r.ok)} in ${seconds.toFixed(1)} s (${String(seeding[label].perSecond)}/s)`);
}

function snapshotMemory(label: string): void {
  memory[label] = processMemory(nexusPid);
  say(
    `  Nexus memory ${label}: RSS ${String(memory[label].rssMiB)} MiB (peak ${String(memory[label].peakRssMiB)} MiB)`,
  );
}

const timed = (concurrency: number, op: RunRequest['op']): Omit<RunRequest, 'type'> => ({
  op,
  concurrency,
  durationMs: cfg.durationMs,
  warmupMs: cfg.warmupMs,
});
const readOp: RunRequest['op'] = { kind: 'get', prefix: 'bench/read/', keys: cfg.secrets };

let profile: ProfileSummary | undefined;
/** CLOCK_MONOTONIC microseconds when the measured scenarios began (the profile summary starts there). */
let measuredFrom = 0;
try {
  const machine = machineInfo();
  say(
    `machine: ${machine.cpuModel}, ${String(machine.cores)} cores, Node ${machine.node}, SQLite ${machine.sqlite}, load ${machine.loadAverage.join(' ')}`,
  );
  const store = db === undefined ? 'SQLite' : `PostgreSQL ${db.version}, ${String(replicas)} replica(s)`;
  say(
    `starting the dev identity issuer, 3 keepers and Nexus (${store}, SPIKE_NEXUS_API_THREADS=${String(apiThreadsSetting)}: ${String(apiThreads)} threads)`,
  );
  await stack.startIssuer();
  await stack.startKeepers();
  await stack.startNexus();
  const boot = await stack.runBootstrap();
  if (boot.code !== 0) throw new Error(`bootstrap failed: ${boot.stderr}`);
  if (!(await stack.waitNexusReady(30_000))) throw new Error('Nexus did not become ready');
  nexusPid = findChildPid(BIN.nexus) ?? 0;
  if (nexusPid === 0) throw new Error('cannot find the Nexus process');
  say(`Nexus ready (pid ${String(nexusPid)}); root key installed through bootstrap and the keepers`);
  nexusPids = [nexusPid];
  const extraPorts = Array.from({ length: replicas - 1 }, (_, k) => ({
    api: replicaPorts[2 * k]!,
    health: replicaPorts[2 * k + 1]!,
  }));
  // The load workers spread their connections over every replica (connection n to port n mod N);
  // a connection is opened when first used, so the one-caller policy seeding uses replica 1 only.
  const apiPorts = [nexusPort!, ...extraPorts.map((p) => p.api)];
  snapshotMemory('after start');

  const baseEnv = (id: 'pilot' | 'demo'): Record<string, string> => stack.baseEnv(id);
  const pilot = await LoadWorker.start(baseEnv('pilot'), '127.0.0.1', apiPorts);
  workers.push(pilot);
  const demo = await LoadWorker.start(baseEnv('demo'), '127.0.0.1', apiPorts);
  workers.push(demo);
  loadPid = demo.pid ?? 0;
  say(`load generators: ${pilot.spiffeId} (seeding, policies), ${demo.spiffeId} (measured)`);

  say(
    `seeding: policy ${readPolicy.name} and ${count(cfg.secrets)} secrets of ${String(cfg.valueBytes)} bytes`,
  );
  await seed(pilot, 'policy bench-reader', {
    op: { kind: 'policy-put', policies: [readPolicy] },
    concurrency: 1,
    count: 1,
  });
  if (extraPorts.length > 0) {
    // Started after the policy exists: a replica loads the policies when it starts (until
    // replicas follow each other's policy changes, one started earlier would refuse the caller).
    const extra = await startExtraReplicas(stack, extraPorts);
    nexusPids.push(...extra.map((p) => p.child.pid ?? 0));
    say(`${String(extra.length)} more Nexus replica(s) ready; the load goes to ports ${apiPorts.join(', ')}`);
  }
  await seed(pilot, `${count(cfg.secrets)} secrets`, {
    op: { kind: 'put', prefix: 'bench/read/', keys: cfg.secrets, valueBytes: cfg.valueBytes },
    concurrency: 64,
    count: cfg.secrets,
  });
  snapshotMemory(`after ${count(cfg.secrets)} secrets`);
  measuredFrom = monotonicMicros();

  if (only.includes('reads')) {
    for (const c of [1, 16, 64]) {
      await measure(
        demo,
        { id: `read-c${String(c)}`, group: 'reads', title: 'secret get', policies: 1 },
        timed(c, readOp),
      );
    }
    // Reads while other secrets are written: a commit must not cost the reads their cache.
    await measure(
      demo,
      {
        id: 'read-c64-with-writes',
        group: 'reads',
        title: 'secret get while 4 other callers put other secrets',
        policies: 1,
      },
      timed(64, readOp),
      {
        worker: pilot,
        req: timed(4, {
          kind: 'put',
          prefix: 'bench/bulk/',
          keys: cfg.secrets,
          start: 500_000,
          valueBytes: cfg.valueBytes,
        }),
      },
    );
    // The same reads while a policy's approval rule gates other paths: they stay on every thread.
    await seed(pilot, 'policy bench-gated (an approval rule on other paths)', {
      op: { kind: 'policy-put', policies: [gatedPolicy] },
      concurrency: 1,
      count: 1,
    });
    await measure(
      demo,
      {
        id: 'read-c64-approval-rule',
        group: 'reads',
        title: 'secret get while an approval rule gates other paths',
        policies: 2,
      },
      timed(64, readOp),
    );
    await seed(pilot, 'policy bench-gated removed', {
      op: { kind: 'policy-delete', names: [gatedPolicy.name] },
      concurrency: 1,
      count: 1,
    });
    snapshotMemory('after reads');
  }
  if (only.includes('writes')) {
    for (const c of [1, 64]) {
      await measure(
        demo,
        { id: `write-c${String(c)}`, group: 'writes', title: 'secret put (durable)', policies: 1 },
        timed(c, {
          kind: 'put',
          prefix: 'bench/bulk/',
          keys: cfg.secrets,
          start: c * 1000,
          valueBytes: cfg.valueBytes,
        }),
      );
    }
  }
  /** Reads of the read set by 64 callers, as a policies scenario. */
  const policyReads = (id: string, title: string, policies: number): Promise<ScenarioResult> =>
    measure(demo, { id, group: 'policies', title, policies }, timed(64, readOp));
  if (only.includes('policies')) {
    // "Flat from 1 to 10,000 policies" in wall-clock throughput: alternating rounds, each reading
    // with 1, 100 and 10,000 policies (the extra ones of other workloads) and then deleting the
    // extra ones again, so that a slow phase of a shared host hits the three counts alike.
    const steps = [
      { id: 'policies-1', title: 'secret get, 1 policy', policies: 1 },
      { id: 'policies-100', title: 'secret get, 100 policies', policies: 100 },
      { id: 'policies-10k', title: 'secret get, 10,000 policies', policies: 10_000 },
    ] as const;
    const runs = new Map<string, MeasuredRun[]>(steps.map((step) => [step.id, []]));
    const windowStart = monotonicMicros();
    say(`reads at 64 callers with 1, 100 and 10,000 policies (${String(repeats)} alternating rounds)`);
    for (let round = 1; round <= repeats; round++) {
      let installed = 1;
      for (const step of steps) {
        if (step.policies > installed) {
          await seed(pilot, `${count(step.policies - installed)} policies (round ${String(round)})`, {
            op: { kind: 'policy-put', policies: otherWorkloadPolicies(installed, step.policies) },
            concurrency: 16,
            count: step.policies - installed,
          });
          installed = step.policies;
        }
        const run = await measureOnce(
          demo,
          step,
          timed(64, readOp),
          `round ${String(round)}/${String(repeats)}, ${step.title}`,
        );
        runs.get(step.id)?.push(run);
      }
      // The last round keeps its 10,000 policies for the caller-matching scenario below.
      if (round < repeats) {
        await seed(pilot, `deleting ${count(installed - 1)} policies (round ${String(round)})`, {
          op: {
            kind: 'policy-delete',
            names: otherWorkloadPolicies(1, installed).map((p) => p.name),
          },
          concurrency: 16,
          count: installed - 1,
        });
      }
    }
    for (const step of steps) {
      // The profile summary of each of these covers the whole alternating phase.
      scenarioWindows.set(step.id, [windowStart, monotonicMicros()]);
      results.push(aggregate({ ...step, group: 'policies', concurrency: 64, runs: runs.get(step.id) ?? [] }));
    }
    say("adding 1,000 policies that match the caller's SPIFFE ID, granting policy re-applied last");
    await seed(pilot, '1,000 caller-matching policies', {
      op: { kind: 'policy-put', policies: [...callerMatchingPolicies(1000), readPolicy] },
      concurrency: 1,
      count: 1001,
    });
    await policyReads(
      'policies-10k-1k-matching',
      'secret get, 11,000 policies (1,001 match the caller, granting one checked last)',
      11_000,
    );
    snapshotMemory('after policies');
  }
  if (only.includes('rss')) {
    say(`loading ${count(cfg.bulk)} more secrets (100,000 in total with the read set)`);
    await seed(demo, `${count(cfg.bulk)} secrets`, {
      op: { kind: 'put', prefix: 'bench/bulk/', keys: cfg.bulk, valueBytes: cfg.valueBytes },
      concurrency: 64,
      count: cfg.bulk,
    });
    snapshotMemory('after 100,000 secrets');
    await measure(
      demo,
      {
        id: 'read-c64-100k',
        group: 'rss',
        title: 'secret get over 100,000 secrets',
        policies: only.includes('policies') ? 11_000 : 1,
      },
      timed(64, { kind: 'get', prefix: 'bench/bulk/', keys: cfg.bulk }),
    );
    snapshotMemory('after reads over 100,000 secrets');
  }

  await cleanup();
  if (flags.profile) {
    const scenario = flags['profile-scenario'];
    const window = scenario === undefined ? undefined : scenarioWindows.get(scenario);
    if (scenario !== undefined && window === undefined) say(`no scenario ${scenario} ran; summarizing all`);
    const summaries = summarizeProfileDir(profileDir, window?.[0] ?? measuredFrom, window?.[1]);
    if (summaries.length === 0) say('no CPU profile was written');
    for (const { file, thread, summary } of summaries) {
      // The results file keeps the main thread's summary; every thread's is printed.
      if (thread === 0) profile = summary;
      say(`CPU profile of Nexus, ${thread === 0 ? 'main thread' : `API thread ${String(thread)}`}: ${file}`);
      process.stdout.write(formatSummary(summary) + '\n');
    }
  }

  const finished = machineInfo();
  const date = new Date().toISOString().slice(0, 10);
  const suffix = [
    quick ? 'quick' : '',
    flags.only === undefined ? '' : only.join('-'),
    flags.profile ? 'profile' : '',
    db === undefined ? '' : `postgres-${String(replicas)}`,
    Object.keys(nexusEnv).length === 0 ? '' : 'env',
  ]
    .filter((s) => s !== '')
    .join('-');
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const outFile = join(resultsDir, `${date}${suffix === '' ? '' : `-${suffix}`}.json`);
  const report = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    settings: {
      ...cfg,
      repeats,
      apiThreads,
      apiThreadsSetting: String(apiThreadsSetting),
      groups: only,
      profiled: flags.profile,
      logLevel: 'WARN',
      auditLog: 'file',
      backend,
      replicas,
      nexusEnv,
      ...(db === undefined ? {} : { postgres: db.version }),
    },
    machine: { ...machine, loadAverageAtEnd: finished.loadAverage },
    seeding,
    memory,
    scenarios: results,
    ...(profile === undefined ? {} : { profile }),
  };
  writeFileSync(outFile, JSON.stringify(report, null, 2) + '\n');
  say(`raw results: ${outFile}`);
  const plain = db === undefined && Object.keys(nexusEnv).length === 0;
  if (!flags['no-doc'] && flags.only === undefined && plain) {
    updateBenchmarkDoc(join(ROOT, 'docs', 'benchmarks.md'), report);
    say('table written to docs/benchmarks.md');
  }
} catch (err) {
  // Interrupted: the signal handler is already stopping everything and exits by itself.
  if (!stopping) {
    process.stderr.write(`bench:nexus failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.stderr.write(`logs (kept): ${join(dir, 'logs')}\n`);
    await cleanup();
    process.exitCode = 1;
  }
} finally {
  if (!flags.keep && process.exitCode !== 1) rmSync(dir, { recursive: true, force: true });
}
