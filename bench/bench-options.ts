/** Command-line options of `npm run bench:nexus` (see `--help`). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { availableCpus, resolveApiThreads } from '@spike-ts/nexus';
import { updateBenchmarkDoc, type BenchReport } from './report.ts';
import type { ScenarioGroup } from './scenario.ts';

export const GROUPS: readonly ScenarioGroup[] = ['reads', 'writes', 'policies', 'rss'];

const HELP = `Usage: npm run bench:nexus [-- options]
  --quick          short runs (about 3 minutes in total)
  --only <groups>  comma-separated subset of ${GROUPS.join(',')} (the doc is then not updated)
  --profile        run Nexus with --cpu-prof and print the top frames at the end
  --profile-scenario <id>  summarize the profile of that scenario only (e.g. read-c64, write-c64)
  --repeats <n>    runs per scenario (default 3)
  --api-threads <n|auto>  SPIKE_NEXUS_API_THREADS for Nexus (default auto, Nexus's own default:
                   one per available CPU, at most 8)
  --metrics <on|off>  SPIKE_NEXUS_METRICS for Nexus (default on, Nexus's default), to measure
                   what the metrics cost
  --backend <sqlite|postgres>  Nexus's store (default sqlite). postgres: a private, durable
                   PostgreSQL cluster (initdb; the server binaries must be installed); runs the
                   reads and writes groups unless --only says otherwise; never updates the doc
  --replicas <n>   Nexus replicas on the database (postgres only, default 1); the load generator
                   spreads its connections over them
  --nexus-env <KEY=VALUE>  an extra SPIKE_* setting for Nexus (repeatable), e.g.
                   SPIKE_NEXUS_DB_MAX_OPEN_CONNS=32; the doc is then not updated
  --no-doc         do not update docs/benchmarks.md
  --keep           keep the temporary stack directory (logs, database)
  --render <file>  only rewrite the tables in docs/benchmarks.md from a results file
`;

export interface BenchConfig {
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Secrets in the read set. */
  readonly secrets: number;
  readonly valueBytes: number;
  /** Secrets added for the memory scenario (the read set makes it 100,000). */
  readonly bulk: number;
}

/** Parses the options; handles `--help` and `--render` itself (and exits). */
export function parseBenchOptions(root: string) {
  const { values: flags } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'profile-scenario': { type: 'string' },
      repeats: { type: 'string' },
      'api-threads': { type: 'string' },
      metrics: { type: 'string' },
      backend: { type: 'string' },
      replicas: { type: 'string' },
      'nexus-env': { type: 'string', multiple: true },
      'no-doc': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (flags.render !== undefined) {
    const report = JSON.parse(readFileSync(flags.render, 'utf8')) as BenchReport;
    updateBenchmarkDoc(join(root, 'docs', 'benchmarks.md'), report);
    process.stdout.write(`docs/benchmarks.md updated from ${flags.render}\n`);
    process.exit(0);
  }
  const backend = flags.backend ?? 'sqlite';
  if (backend !== 'sqlite' && backend !== 'postgres') fail('--backend must be sqlite or postgres');
  const replicas = Number(flags.replicas ?? 1);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 8) fail('--replicas must be 1..8');
  if (replicas > 1 && backend !== 'postgres') fail('--replicas needs --backend postgres');
  const nexusEnv: Record<string, string> = {};
  for (const kv of flags['nexus-env'] ?? []) {
    const m = /^(SPIKE_[A-Z0-9_]+)=(.*)$/.exec(kv);
    if (m === null) fail(`--nexus-env wants SPIKE_NAME=value, not "${kv}"`);
    nexusEnv[m[1]!] = m[2]!;
  }
  const defaultGroups: readonly ScenarioGroup[] = backend === 'postgres' ? ['reads', 'writes'] : GROUPS;
  const only = flags.only === undefined ? defaultGroups : (flags.only.split(',') as ScenarioGroup[]);
  for (const g of only) {
    if (!GROUPS.includes(g)) fail(`unknown group "${g}" (one of ${GROUPS.join(', ')})`);
  }
  const repeats = Number(flags.repeats ?? 3);
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) fail('--repeats must be 1..20');
  const threadsFlag = (flags['api-threads'] ?? 'auto').toLowerCase();
  const apiThreadsSetting = threadsFlag === 'auto' ? 'auto' : Number(threadsFlag);
  if (
    apiThreadsSetting !== 'auto' &&
    !(Number.isInteger(apiThreadsSetting) && apiThreadsSetting >= 1 && apiThreadsSetting <= 16)
  ) {
    fail('--api-threads must be auto or 1..16');
  }
  // What Nexus resolves `auto` to on this machine (the same function, the same CPUs).
  const apiThreads = resolveApiThreads(apiThreadsSetting, { backend, cpus: availableCpus() });
  const metrics = flags.metrics ?? 'on';
  if (metrics !== 'on' && metrics !== 'off') fail('--metrics must be on or off');
  const quick = flags.quick;
  const cfg: BenchConfig = {
    durationMs: quick ? 3_000 : 10_000,
    warmupMs: quick ? 1_000 : 2_000,
    secrets: 10_000,
    valueBytes: 1024,
    bulk: 90_000,
  };
  return {
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
  };
}

function fail(message: string): never {
  process.stderr.write(`bench:nexus: ${message}\n${HELP}`);
  process.exit(2);
}
