/**
 * `node bench/cli-startup.ts [--runs n] [--compare dir] [--no-exe]`: wall time of the `spike` CLI
 * as a person runs it, `npx spike …`, of `node packages/cli/bin/spike.js …` without npx, and of
 * the self-contained executable `dist/exe/spike` (built first, or reused when up to date;
 * `--no-exe` leaves it out): `--version`, `version`, `--help`, and `secret get` against a real
 * Nexus (memory backend) with an SVID from the dev identity issuer. Each cell: median (min–max)
 * of `runs` runs (default 9), and the mean CPU time (user + system) of the process and its
 * children, which machine load changes far less than wall time. The executable's target is `--version` and `--help` under 150 ms.
 * `--compare <dir>` also times the CLI of another checkout (e.g. the previous release) against the
 * same Nexus, interleaving the runs so that both see the same machine load.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildExecutables } from '../scripts/exe/build.ts';
import { Stack } from '../scripts/stack.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    compare: { type: 'string' },
    'no-exe': { type: 'boolean', default: false },
  },
});
const withExe = !values['no-exe'];
/** The executable's start-up target (milliseconds, median) for `--version` and `--help`. */
const EXE_TARGET_MS = 150;
const runs = Number(values.runs);
const repos = [
  join(import.meta.dirname, '..'),
  ...(values.compare === undefined ? [] : [resolve(values.compare)]),
];

type Case = [name: string, command: string, args: string[]];

function cases(repo: string): Case[] {
  const node = join(repo, 'node_modules', '.bin', 'node');
  const bin = join(repo, 'packages/cli/bin/spike.js');
  const exe = join(repo, 'dist', 'exe', 'spike');
  return [
    ['npx spike --version', 'npx', ['--no-install', 'spike', '--version']],
    ['npx spike version', 'npx', ['--no-install', 'spike', 'version']],
    ['npx spike --help', 'npx', ['--no-install', 'spike', '--help']],
    ['npx spike secret get', 'npx', ['--no-install', 'spike', 'secret', 'get', 'bench/cli']],
    ['node bin/spike.js version', node, [bin, 'version']],
    ['node bin/spike.js secret get', node, [bin, 'secret', 'get', 'bench/cli']],
    ['npx --no-install node -e 0 (npx alone)', 'npx', ['--no-install', 'node', '-e', '0']],
    ...(withExe
      ? ([
          ['dist/exe/spike --version', exe, ['--version']],
          ['dist/exe/spike version', exe, ['version']],
          ['dist/exe/spike --help', exe, ['--help']],
          ['dist/exe/spike secret get', exe, ['secret', 'get', 'bench/cli']],
          [
            'dist/exe/spike-ts --version (the executable alone)',
            join(repo, 'dist', 'exe', 'spike-ts'),
            ['--version'],
          ],
          ['node -e 0 (Node.js alone)', node, ['-e', '0']],
        ] satisfies Case[])
      : []),
  ];
}

/** Medians of this checkout's executable runs, for the target line. */
const exeMedians = new Map<string, number>();

/**
 * CPU time (user + system) of this process's finished children so far, from /proc/self/stat
 * (clock ticks of 10 ms; differences over many runs average out to well below that).
 */
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of proc(5), cutime and cstime; `fields` starts at field 3.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

const seconds = (ms: number): string => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

if (withExe) await buildExecutables();
const dir = await mkdtemp('/tmp/spike-clibench-');
const stack = await Stack.withFreePorts({ dir, socketDir: join(dir, 's'), backend: 'memory' });
// Ctrl-C: stop the stack's processes too.
process.once('SIGINT', () => {
  void stack.stop().finally(() => {
    void rm(dir, { recursive: true, force: true }).finally(() => process.exit(130));
  });
});
try {
  await stack.startIssuer();
  await stack.startNexus();
  if (!(await stack.waitNexusReady(30_000))) throw new Error('Nexus did not become ready');
  const put = await stack.runSpike('pilot', ['secret', 'put', 'bench/cli', 'user=admin', 'pass=s3cr3t']);
  if (put.code !== 0) throw new Error(`secret put failed: ${put.stderr}`);
  const env = stack.baseEnv('pilot');
  process.stdout.write(`load average before: ${load()}\n`);
  const header = repos.map((_, i) => (i === 0 ? 'this checkout' : '--compare'));
  process.stdout.write(`| Command | ${header.join(' | ')} |\n|---|${header.map(() => '---|').join('')}\n`);
  const count = cases(repos[0] ?? '.').length;
  for (let c = 0; c < count; c++) {
    const times: number[][] = repos.map(() => []);
    const cpu: number[] = repos.map(() => 0);
    const failed: (string | undefined)[] = repos.map(() => undefined);
    for (let i = 0; i < runs; i++) {
      repos.forEach((repo, r) => {
        const [, command, args] = cases(repo)[c] ?? ['', 'true', []];
        const cpuBefore = childCpuMs();
        const started = process.hrtime.bigint();
        const res = spawnSync(command, args, { cwd: repo, env, encoding: 'utf8' });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        cpu[r] = (cpu[r] ?? 0) + childCpuMs() - cpuBefore;
        if (res.status !== 0) failed[r] = `exit ${String(res.status)}`;
        times[r]?.push(ms);
      });
    }
    const cells = times.map((t, r) => {
      if (failed[r] !== undefined) return `n/a (${failed[r] ?? ''})`;
      t.sort((a, b) => a - b);
      if (r === 0) exeMedians.set(cases(repos[0] ?? '.')[c]?.[0] ?? '', t[Math.floor(t.length / 2)] ?? 0);
      return (
        `${seconds(t[Math.floor(t.length / 2)] ?? 0)} (${seconds(t[0] ?? 0)}–${seconds(t.at(-1) ?? 0)}), ` +
        `CPU ${seconds((cpu[r] ?? 0) / runs)}`
      );
    });
    process.stdout.write(`| \`${cases(repos[0] ?? '.')[c]?.[0] ?? ''}\` | ${cells.join(' | ')} |\n`);
  }
  process.stdout.write(`load average after: ${load()}\n`);
  if (withExe) {
    for (const name of ['dist/exe/spike --version', 'dist/exe/spike --help']) {
      const ms = exeMedians.get(name);
      const verdict = ms === undefined ? 'not measured' : ms < EXE_TARGET_MS ? 'met' : 'NOT met';
      process.stdout.write(
        `target: \`${name}\` under ${String(EXE_TARGET_MS)} ms (median): ${verdict}` +
          (ms === undefined ? '\n' : ` (${ms.toFixed(0)} ms)\n`),
      );
    }
  }
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
