/**
 * `node bench/cli-startup.ts [--runs n] [--compare dir]`: wall time of the `spike` CLI as a person
 * runs it, `npx spike …`, and of `node packages/cli/bin/spike.js …` without npx: `--version`,
 * `version`, `--help`, and `secret get` against a real Nexus (memory backend) with an SVID from
 * the dev identity issuer. Each cell: median (min–max) of `runs` runs (default 9).
 * `--compare <dir>` also times the CLI of another checkout (e.g. the previous release) against the
 * same Nexus, interleaving the runs so that both see the same machine load.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Stack } from '../scripts/stack.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '9' }, compare: { type: 'string' } },
});
const runs = Number(values.runs);
const repos = [
  join(import.meta.dirname, '..'),
  ...(values.compare === undefined ? [] : [resolve(values.compare)]),
];

type Case = [name: string, command: string, args: string[]];

function cases(repo: string): Case[] {
  const node = join(repo, 'node_modules', '.bin', 'node');
  const bin = join(repo, 'packages/cli/bin/spike.js');
  return [
    ['npx spike --version', 'npx', ['--no-install', 'spike', '--version']],
    ['npx spike version', 'npx', ['--no-install', 'spike', 'version']],
    ['npx spike --help', 'npx', ['--no-install', 'spike', '--help']],
    ['npx spike secret get', 'npx', ['--no-install', 'spike', 'secret', 'get', 'bench/cli']],
    ['node bin/spike.js version', node, [bin, 'version']],
    ['node bin/spike.js secret get', node, [bin, 'secret', 'get', 'bench/cli']],
    ['npx --no-install node -e 0 (npx alone)', 'npx', ['--no-install', 'node', '-e', '0']],
  ];
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

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
    const failed: (string | undefined)[] = repos.map(() => undefined);
    for (let i = 0; i < runs; i++) {
      repos.forEach((repo, r) => {
        const [, command, args] = cases(repo)[c] ?? ['', 'true', []];
        const started = process.hrtime.bigint();
        const res = spawnSync(command, args, { cwd: repo, env, encoding: 'utf8' });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (res.status !== 0) failed[r] = `exit ${String(res.status)}`;
        times[r]?.push(ms);
      });
    }
    const cells = times.map((t, r) => {
      if (failed[r] !== undefined) return `n/a (${failed[r] ?? ''})`;
      t.sort((a, b) => a - b);
      return `${seconds(t[Math.floor(t.length / 2)] ?? 0)} (${seconds(t[0] ?? 0)}–${seconds(t.at(-1) ?? 0)})`;
    });
    process.stdout.write(`| \`${cases(repos[0] ?? '.')[c]?.[0] ?? ''}\` | ${cells.join(' | ')} |\n`);
  }
  process.stdout.write(`load average after: ${load()}\n`);
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
