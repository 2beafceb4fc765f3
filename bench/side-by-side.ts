/**
 * `npm run bench:side-by-side -- [--ours <label>=<api-threads>]… [--other <label>=<dir>]… [options]`
 *
 * Runs several Nexus set-ups side by side on one machine and measures them in alternating rounds
 * with the same load generator (`load-worker.ts`: keep-alive mTLS, one request in flight per
 * connection), the same identities (one dev identity issuer serves every process), the same data
 * and the same non-superuser caller. A set-up is either this project's stack (`--ours`: 3 keepers
 * and Nexus on SQLite, with the given `SPIKE_NEXUS_API_THREADS`) or the executables of another
 * SPIKE-compatible implementation (`--other`: a directory holding `nexus`, `keeper` and
 * `bootstrap`, started with SPIKE's environment variables, 3 keepers, SQLite). Nothing here builds
 * another implementation; bring its executables.
 *
 * Each round runs every set-up once, in an order that alternates between rounds, so that a slow
 * phase of a shared host falls on all of them alike. Within a set-up's turn: for each policy count
 * (`--policies`, default 1,100; the extra ones belong to other workloads and are deleted at the
 * end of the turn) every scenario (`--scenarios`, default reads and durable writes at 1 and 64
 * callers) runs once. Raw runs go to `bench/results/<date>-side-by-side[-<tag>].json`; the summary
 * (medians over the rounds) is printed. `docs/benchmarks.md` is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { freePorts, portOpen, Stack, waitFor } from '../scripts/stack.ts';
import { machineInfo, processCpuSeconds, processMemory, round2 } from './bench-env.ts';
import { otherWorkloadPolicies, readPolicy } from './bench-policies.ts';
import type { RunRequest } from './load-protocol.ts';
import { median } from './stats.ts';
import { LoadWorker } from './worker-handle.ts';

const ROOT = join(import.meta.dirname, '..');

const HELP = `Usage: npm run bench:side-by-side -- [options]
  --ours <label>=<n|auto>   this project's Nexus with SPIKE_NEXUS_API_THREADS=<n|auto> (repeatable;
                            default ours=auto when no set-up is named)
  --other <label>=<dir>     another SPIKE-compatible implementation: <dir> holds the executables
                            nexus, keeper and bootstrap (repeatable)
  --rounds <n>              alternating rounds (default 3)
  --duration <s>            measured seconds per run (default 5)
  --warmup <s>              warm-up seconds per run (default 1)
  --policies <list>         policy counts (default 1,100)
  --scenarios <list>        of read-c1, read-c64, write-c1, write-c64 (default all four)
  --nexus-env <label>:<SPIKE_NAME>=<value>  extra environment for that set-up's Nexus (repeatable),
                            e.g. SPIKE's own SQLite settings for another implementation
  --reconnect               new connections for every run (samples the threads of API threads)
  --tag <name>              suffix of the results file
  --keep                    keep the temporary directory (logs, databases)
`;

const { values: flags } = parseArgs({
  options: {
    ours: { type: 'string', multiple: true },
    other: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    policies: { type: 'string', default: '1,100' },
    scenarios: { type: 'string', default: 'read-c1,read-c64,write-c1,write-c64' },
    'nexus-env': { type: 'string', multiple: true },
    reconnect: { type: 'boolean', default: false },
    tag: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function fail(message: string): never {
  process.stderr.write(`bench:side-by-side: ${message}\n${HELP}`);
  process.exit(2);
}

function labelled(kv: string, what: string): [string, string] {
  const m = /^([A-Za-z0-9._-]{1,40})=(.+)$/.exec(kv);
  if (m === null) fail(`${what} wants <label>=<value>, not "${kv}"`);
  return [m[1]!, m[2]!];
}

interface SetupSpec {
  readonly label: string;
  readonly kind: 'ours' | 'other';
  /** ours: SPIKE_NEXUS_API_THREADS; other: the directory of the executables. */
  readonly setting: string;
  /** Extra environment for its Nexus (`--nexus-env`). */
  readonly nexusEnv: Record<string, string>;
}

const extraEnv = new Map<string, Record<string, string>>();
for (const item of flags['nexus-env'] ?? []) {
  const m = /^([A-Za-z0-9._-]{1,40}):(SPIKE_[A-Z0-9_]+)=(.*)$/.exec(item);
  if (m === null) fail(`--nexus-env wants <label>:SPIKE_NAME=value, not "${item}"`);
  extraEnv.set(m[1]!, { ...extraEnv.get(m[1]!), [m[2]!]: m[3]! });
}

const specs: SetupSpec[] = [
  ...(flags.ours ?? []).map((kv): SetupSpec => {
    const [label, threads] = labelled(kv, '--ours');
    if (threads !== 'auto' && !/^([1-9]|1[0-6])$/.test(threads)) fail('--ours wants auto or 1..16 threads');
    return { label, kind: 'ours', setting: threads, nexusEnv: extraEnv.get(label) ?? {} };
  }),
  ...(flags.other ?? []).map((kv): SetupSpec => {
    const [label, dir] = labelled(kv, '--other');
    const abs = resolve(dir);
    for (const exe of ['nexus', 'keeper', 'bootstrap']) {
      if (!existsSync(join(abs, exe))) fail(`--other ${label}: no executable ${join(abs, exe)}`);
    }
    return { label, kind: 'other', setting: abs, nexusEnv: extraEnv.get(label) ?? {} };
  }),
];
if (specs.length === 0) specs.push({ label: 'ours', kind: 'ours', setting: 'auto', nexusEnv: {} });
if (new Set(specs.map((s) => s.label)).size !== specs.length) fail('labels must differ');
for (const label of extraEnv.keys()) {
  if (!specs.some((s) => s.label === label)) fail(`--nexus-env names no set-up "${label}"`);
}

const int = (v: string, name: string, min: number, max: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be ${String(min)}..${String(max)}`);
  return n;
};
const rounds = int(flags.rounds, '--rounds', 1, 50);
const durationMs = int(flags.duration, '--duration', 1, 600) * 1000;
const warmupMs = int(flags.warmup, '--warmup', 0, 60) * 1000;
const policyCounts = flags.policies.split(',').map((p) => int(p, '--policies', 1, 20_000));
if (policyCounts[0] !== 1 || policyCounts.some((p, i) => i > 0 && p <= (policyCounts[i - 1] ?? 0))) {
  fail('--policies must start at 1 and grow');
}
const SCENARIOS = ['read-c1', 'read-c64', 'write-c1', 'write-c64'] as const;
type ScenarioId = (typeof SCENARIOS)[number];
const scenarios = flags.scenarios.split(',') as ScenarioId[];
for (const s of scenarios) if (!SCENARIOS.includes(s)) fail(`unknown scenario "${s}"`);

const SECRETS = 10_000;
const VALUE_BYTES = 1024;

const t0 = Date.now();
const say = (msg: string): void => {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(5);
  process.stdout.write(`[${s}s] ${msg}\n`);
};
const count = (n: number): string => n.toLocaleString('en-US');

/** A running set-up: its Nexus pid, its two load generators, and how to stop it. */
interface Setup {
  readonly spec: SetupSpec;
  nexusPid: number;
  pilot?: LoadWorker;
  demo?: LoadWorker;
  stop(): Promise<void>;
}

interface RunRecord {
  readonly setup: string;
  readonly round: number;
  readonly policies: number;
  readonly scenario: ScenarioId;
  readonly concurrency: number;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly errors: number;
  readonly failures: Record<string, number>;
  /** Nexus CPU in percent of one core, and per successful request in microseconds. */
  readonly nexusCpuPercent: number;
  readonly nexusCpuPerRequestMicros: number;
  readonly loadCpuPercent: number;
  /** 1-minute load average at the start and the end of the run. */
  readonly loadAverage: readonly [number, number];
  /**
   * Nexus CPU during the run by thread name, in percent of one core (Node.js names its threads
   * `MainThread`, `WorkerThread` for an API thread, `V8Worker` for the garbage collector's
   * own threads): tells which thread served a single caller's connection.
   */
  readonly threadCpuPercent: Record<string, number>;
}

/** CPU seconds (user + system) of each thread of `pid`, summed by thread name. */
function threadCpuSeconds(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${String(pid)}/task`);
  } catch {
    return byName;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${String(pid)}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(rest[11]) + Number(rest[12])) / 100;
      byName.set(name, (byName.get(name) ?? 0) + seconds);
    } catch {
      // The thread ended while we looked.
    }
  }
  return byName;
}

const dir = mkdtempSync(join(os.tmpdir(), 'spike-sbs-'));
const socketDir = mkdtempSync('/tmp/spx-');
const setups: Setup[] = [];
const workers: LoadWorker[] = [];
let issuerStack: Stack | undefined;
let stopping = false;

async function cleanup(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled(workers.map((w) => w.stop()));
  // Every set-up before the stack that owns the identity issuer.
  for (const s of [...setups].reverse()) await s.stop().catch(() => undefined);
  if (!flags.keep) {
    rmSync(socketDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  } else {
    say(`kept ${dir}`);
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`bench:side-by-side: ${signal}, stopping\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Starts this project's stack; the first one also runs the identity issuer every set-up uses. */
async function startOurs(spec: SetupSpec): Promise<Setup> {
  const [k1, k2, k3, nexusPort, healthPort] = await freePorts(5);
  const stack = new Stack({
    dir: join(dir, spec.label),
    socketDir,
    keeperPorts: [k1!, k2!, k3!],
    nexusPort: nexusPort!,
    healthPort: healthPort!,
    nexusEnv: { SPIKE_SYSTEM_LOG_LEVEL: 'WARN', SPIKE_NEXUS_API_THREADS: spec.setting, ...spec.nexusEnv },
  });
  const ownsIssuer = issuerStack === undefined;
  const setup: Setup = {
    spec,
    nexusPid: 0,
    stop: async () => {
      if (ownsIssuer) {
        await stack.stop();
      } else {
        await stack.stopNexus();
        await Promise.all([0, 1, 2].map((i) => stack.stopKeeper(i)));
      }
    },
  };
  setups.push(setup);
  if (ownsIssuer) {
    issuerStack = stack;
    await stack.startIssuer();
  }
  await stack.startKeepers();
  await stack.startNexus();
  const boot = await stack.runBootstrap();
  if (boot.code !== 0) throw new Error(`${spec.label}: bootstrap failed: ${boot.stderr}`);
  if (!(await stack.waitNexusReady(60_000))) throw new Error(`${spec.label}: Nexus did not become ready`);
  setup.nexusPid = stack.nexusPid() ?? 0;
  await attachWorkers(setup, stack, nexusPort!);
  return setup;
}

/** Starts another implementation's keepers, Nexus and bootstrap with SPIKE's environment. */
async function startOther(spec: SetupSpec): Promise<Setup> {
  const stackDir = join(dir, spec.label);
  const logDir = join(stackDir, 'logs');
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const [k1, k2, k3, nexusPort, healthPort] = await freePorts(5);
  // A Stack used only for its SPIKE environment (sockets of the shared issuer, ports, keepers).
  const envOf = new Stack({
    dir: stackDir,
    socketDir,
    keeperPorts: [k1!, k2!, k3!],
    nexusPort: nexusPort!,
    healthPort: healthPort!,
  });
  const children: ChildProcess[] = [];
  const spawnTo = (name: string, args: string[], env: Record<string, string>): ChildProcess => {
    // Output straight to a file (not through this process), as our Nexus writes its audit file.
    const fd = openSync(join(logDir, `${name}.log`), 'a', 0o600);
    const exe = join(spec.setting, name.replace(/-[0-9]+$/, ''));
    const child = spawn(exe, args, { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    children.push(child);
    return child;
  };
  const quiet = { SPIKE_SYSTEM_LOG_LEVEL: 'WARN', SPIKE_BANNER_ENABLED: 'false' };
  const setup: Setup = {
    spec,
    nexusPid: 0,
    stop: async () => {
      for (const child of children.reverse()) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  setups.push(setup);
  const keeperPorts = [k1!, k2!, k3!];
  keeperPorts.forEach((port, i) => {
    spawnTo(`keeper-${String(i + 1)}`, [], {
      ...envOf.baseEnv('keeper'),
      ...quiet,
      SPIKE_KEEPER_TLS_PORT: `:${String(port)}`,
    });
  });
  for (const port of keeperPorts) {
    await waitFor(`${spec.label} keeper on ${String(port)}`, 30_000, () => portOpen(port));
  }
  const nexus = spawnTo('nexus', [], {
    ...envOf.baseEnv('nexus'),
    ...quiet,
    SPIKE_NEXUS_TLS_PORT: `:${String(nexusPort)}`,
    // A port of its own for this project's plain-HTTP health listener (SPIKE's Nexus ignores the
    // setting): two builds of this project can then run side by side as `--other` set-ups.
    SPIKE_NEXUS_HEALTH_ADDR: `127.0.0.1:${String(healthPort)}`,
    SPIKE_NEXUS_DATA_DIR: join(stackDir, 'nexus'),
    ...spec.nexusEnv,
  });
  setup.nexusPid = nexus.pid ?? 0;
  const nexusGone = (): boolean => nexus.exitCode !== null || nexus.signalCode !== null;
  const nexusExited = new Promise<'nexus'>((r) => {
    if (nexusGone()) r('nexus');
    else nexus.once('exit', () => r('nexus'));
  });
  await waitFor(`${spec.label} Nexus on ${String(nexusPort)}`, 30_000, () => {
    if (nexusGone()) throw new Error(`${spec.label}: Nexus exited while starting (see ${logDir}/nexus.log)`);
    return portOpen(nexusPort!);
  });
  const boot = spawnTo('bootstrap', ['-init'], envOf.baseEnv('bootstrap'));
  // Bootstrap waits a long time for a Nexus that never verifies; a Nexus that exited never will.
  const ended = await Promise.race([new Promise<number | null>((r) => boot.once('exit', r)), nexusExited]);
  if (ended === 'nexus') {
    boot.kill('SIGTERM');
    throw new Error(`${spec.label}: Nexus exited during bootstrap (see ${logDir}/nexus.log)`);
  }
  if (ended !== 0) throw new Error(`${spec.label}: bootstrap exited with ${String(ended)} (see ${logDir})`);
  await attachWorkers(setup, envOf, nexusPort!);
  await waitReady(setup);
  return setup;
}

async function attachWorkers(setup: Setup, stack: Stack, port: number): Promise<void> {
  setup.pilot = await LoadWorker.start(stack.baseEnv('pilot'), '127.0.0.1', port);
  workers.push(setup.pilot);
  setup.demo = await LoadWorker.start(stack.baseEnv('demo'), '127.0.0.1', port);
  workers.push(setup.demo);
}

/** Until a superuser read of a missing secret answers 404 (the root key is in; no 503). */
async function waitReady(setup: Setup): Promise<void> {
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    try {
      const r = await setup.pilot!.run({
        op: { kind: 'get', prefix: 'bench/ready-probe/', keys: 1 },
        concurrency: 1,
        count: 1,
      });
      if (r.ok === 1 || r.failures['404'] === 1) return;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  throw new Error(`${setup.spec.label}: Nexus did not become ready within 120 s`);
}

async function counted(worker: LoadWorker, label: string, req: Omit<RunRequest, 'type'>): Promise<void> {
  const started = Date.now();
  const r = await worker.run(req);
  if (r.errors > 0) throw new Error(`${label}: ${String(r.errors)} failed: ${JSON.stringify(r.failures)}`);
  const seconds = (Date.now() - started) / 1000;
  say(`  ${label}: ${count(r.ok)} in ${seconds.toFixed(1)} s (${String(Math.round(r.ok / seconds))}/s)`);
}

function request(setupRound: number, policies: number, scenario: ScenarioId): Omit<RunRequest, 'type'> {
  const concurrency = scenario.endsWith('c64') ? 64 : 1;
  const base = { concurrency, durationMs, warmupMs, reconnect: flags.reconnect };
  if (scenario.startsWith('read')) {
    return { ...base, op: { kind: 'get', prefix: 'bench/read/', keys: SECRETS } };
  }
  // Every round and policy count writes under its own prefix, so that each set-up starts each
  // write run from the same state (new secrets first, then their next versions), whatever it
  // wrote in earlier rounds.
  return {
    ...base,
    op: {
      kind: 'put',
      prefix: `bench/bulk/r${String(setupRound)}p${String(policies)}/`,
      keys: SECRETS,
      start: concurrency === 1 ? 0 : SECRETS / 2,
      valueBytes: VALUE_BYTES,
    },
  };
}

async function measure(
  setup: Setup,
  round: number,
  policies: number,
  scenario: ScenarioId,
): Promise<RunRecord> {
  const demo = setup.demo!;
  const req = request(round, policies, scenario);
  const l0 = os.loadavg()[0] ?? 0;
  const c0 = processCpuSeconds(setup.nexusPid);
  const g0 = processCpuSeconds(demo.pid ?? 0);
  const threads0 = threadCpuSeconds(setup.nexusPid);
  const r = await demo.run(req);
  const threads1 = threadCpuSeconds(setup.nexusPid);
  const fraction = r.elapsedMs / (r.elapsedMs + warmupMs);
  const seconds = r.elapsedMs / 1000;
  const nexusCpu = (processCpuSeconds(setup.nexusPid) - c0) * fraction;
  const loadCpu = (processCpuSeconds(demo.pid ?? 0) - g0) * fraction;
  const record: RunRecord = {
    setup: setup.spec.label,
    round,
    policies,
    scenario,
    concurrency: req.concurrency,
    throughput: Math.round(r.throughput),
    p50: round2(r.latencyMs.p50),
    p99: round2(r.latencyMs.p99),
    ok: r.ok,
    errors: r.errors,
    failures: r.failures,
    nexusCpuPercent: Math.round((nexusCpu / seconds) * 100),
    nexusCpuPerRequestMicros: r.ok === 0 ? Number.NaN : Math.round((nexusCpu / r.ok) * 1e6),
    loadCpuPercent: Math.round((loadCpu / seconds) * 100),
    loadAverage: [round2(l0), round2(os.loadavg()[0] ?? 0)],
    threadCpuPercent: Object.fromEntries(
      [...threads1].map(([name, s1]) => [
        name,
        Math.round((((s1 - (threads0.get(name) ?? 0)) * fraction) / seconds) * 100),
      ]),
    ),
  };
  say(
    `  ${setup.spec.label} r${String(round)} ${String(policies)} pol. ${scenario}: ${count(record.throughput)}/s ` +
      `p50 ${record.p50.toFixed(2)} ms p99 ${record.p99.toFixed(2)} ms errors ${String(record.errors)} ` +
      `nexus CPU ${String(record.nexusCpuPercent)}% (${String(record.nexusCpuPerRequestMicros)} µs/req) ` +
      `load gen. ${String(record.loadCpuPercent)}% ` +
      `(${Object.entries(record.threadCpuPercent)
        .filter(([, v]) => v >= 5)
        .map(([k, v]) => `${k} ${String(v)}%`)
        .join(', ')}) load avg ${String(record.loadAverage[0])}→${String(record.loadAverage[1])}`,
  );
  return record;
}

const records: RunRecord[] = [];
const memory: Record<string, { rssMiB: number; peakRssMiB: number }> = {};
const machine = machineInfo();
try {
  say(
    `machine: ${machine.cpuModel}, ${String(machine.cores)} cores, load ${machine.loadAverage.join(' ')}; ` +
      `set-ups: ${specs.map((s) => `${s.label} (${s.kind} ${s.setting})`).join(', ')}`,
  );
  // This project's stack first: it runs the identity issuer all set-ups share.
  const ordered = [...specs].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'ours' ? -1 : 1));
  if (ordered[0]?.kind !== 'ours') {
    // Only other implementations: start an issuer through a stack of ours that runs nothing else.
    const stack = new Stack({ dir: join(dir, 'issuer'), socketDir });
    issuerStack = stack;
    setups.push({
      spec: { label: 'issuer', kind: 'ours', setting: '', nexusEnv: {} },
      nexusPid: 0,
      stop: () => stack.stop(),
    });
    await stack.startIssuer();
  }
  const running: Setup[] = [];
  for (const spec of ordered) {
    say(`starting ${spec.label}`);
    const setup = spec.kind === 'ours' ? await startOurs(spec) : await startOther(spec);
    running.push(setup);
    say(`${spec.label} ready (Nexus pid ${String(setup.nexusPid)})`);
    await counted(setup.pilot!, `${spec.label}: policy ${readPolicy.name}`, {
      op: { kind: 'policy-put', policies: [readPolicy] },
      concurrency: 1,
      count: 1,
    });
    await counted(setup.pilot!, `${spec.label}: ${count(SECRETS)} secrets of ${String(VALUE_BYTES)} bytes`, {
      op: { kind: 'put', prefix: 'bench/read/', keys: SECRETS, valueBytes: VALUE_BYTES },
      concurrency: 64,
      count: SECRETS,
    });
    // Unmeasured: reads of the read set, so that no set-up's first measured run also pays for
    // cold caches and code not yet optimized.
    const warm = await setup.demo!.run({
      op: { kind: 'get', prefix: 'bench/read/', keys: SECRETS },
      concurrency: 64,
      durationMs: Math.max(durationMs, 5_000),
    });
    say(`  ${spec.label}: warm-up reads ${count(Math.round(warm.throughput))}/s (not measured)`);
  }
  const bySpec = specs.map((spec) => running.find((s) => s.spec === spec)!);
  for (let round = 1; round <= rounds; round++) {
    // Rotate the order each round: with two set-ups, A B, B A, A B, …
    const order = bySpec.map((_, i) => bySpec[(i + round - 1) % bySpec.length]!);
    if (round % 2 === 0 && order.length === 2) order.reverse();
    say(`round ${String(round)}/${String(rounds)}: ${order.map((s) => s.spec.label).join(', ')}`);
    for (const setup of order) {
      let installed = 1;
      for (const policies of policyCounts) {
        if (policies > installed) {
          await counted(setup.pilot!, `${setup.spec.label}: +${count(policies - installed)} policies`, {
            op: { kind: 'policy-put', policies: otherWorkloadPolicies(installed, policies) },
            concurrency: 16,
            count: policies - installed,
          });
          installed = policies;
        }
        for (const scenario of scenarios) records.push(await measure(setup, round, policies, scenario));
      }
      if (installed > 1) {
        await counted(setup.pilot!, `${setup.spec.label}: deleting ${count(installed - 1)} policies`, {
          op: { kind: 'policy-delete', names: otherWorkloadPolicies(1, installed).map((p) => p.name) },
          concurrency: 16,
          count: installed - 1,
        });
      }
    }
  }
  for (const setup of running) memory[setup.spec.label] = processMemory(setup.nexusPid);

  // Summary: medians over the rounds.
  const lines = [
    '| Set-up | Policies | Scenario | Median/s | Range/s | p50 ms | p99 ms | Nexus CPU/req | Load avg |',
    '|---|--:|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const policies of policyCounts) {
    for (const scenario of scenarios) {
      for (const spec of specs) {
        const rs = records.filter(
          (r) => r.setup === spec.label && r.policies === policies && r.scenario === scenario,
        );
        const tp = rs.map((r) => r.throughput);
        const loads = rs.flatMap((r) => r.loadAverage);
        lines.push(
          `| ${spec.label} | ${count(policies)} | ${scenario} | ${count(Math.round(median(tp)))} | ` +
            `${count(Math.min(...tp))}–${count(Math.max(...tp))} | ${median(rs.map((r) => r.p50)).toFixed(2)} | ` +
            `${median(rs.map((r) => r.p99)).toFixed(2)} | ${String(Math.round(median(rs.map((r) => r.nexusCpuPerRequestMicros))))} µs | ` +
            `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} |`,
        );
      }
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  const finished = machineInfo();
  const date = new Date().toISOString().slice(0, 10);
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const outFile = join(
    resultsDir,
    `${date}-side-by-side${flags.tag === undefined ? '' : `-${flags.tag}`}.json`,
  );
  writeFileSync(
    outFile,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        settings: {
          setups: specs.map((s) => ({
            nexusEnv: s.nexusEnv,
            label: s.label,
            kind: s.kind,
            apiThreads: s.kind === 'ours' ? s.setting : undefined,
          })),
          rounds,
          durationMs,
          warmupMs,
          policies: policyCounts,
          scenarios,
          reconnect: flags.reconnect,
          secrets: SECRETS,
          valueBytes: VALUE_BYTES,
        },
        machine: { ...machine, loadAverageAtEnd: finished.loadAverage },
        memoryAtEnd: memory,
        runs: records,
      },
      null,
      2,
    ) + '\n',
  );
  say(`raw results: ${outFile}`);
  await cleanup();
} catch (err) {
  if (!stopping) {
    process.stderr.write(`bench:side-by-side failed: ${err instanceof Error ? err.message : String(err)}\n`);
    flags.keep = true;
    await cleanup();
    process.exitCode = 1;
  }
}
