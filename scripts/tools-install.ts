/**
 * `npm run tools:install [-- <tool>...]`: builds the external tools the test suites need (see
 * scripts/tools/registry.ts), or reuses them from the per-user cache. `npm test` runs it first.
 * Prints one progress line per step and a heartbeat while a long build runs; exits 1 with what to
 * install when the machine lacks a build requirement.
 *
 * A build goes to a staging folder next to its final place and is renamed into place only after
 * every binary runs and reports the pinned version, so an interrupted or failed build is never
 * reused, and two clones building at once both end with a working copy.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { missingBinaries, toolBinDir, toolByName, toolsRoot, TOOLS, type Tool } from './tools/registry.ts';

const HEARTBEAT_MS = 30_000;

const say = (line: string): void => {
  process.stdout.write(`== tools: ${line}\n`);
};

/** Why the binaries in `binDir` are not a usable install of `tool` (undefined: usable). */
function unusable(tool: Tool, binDir: string): string | undefined {
  const missing = missingBinaries(tool, binDir);
  if (missing.length > 0) return `${missing.join(' and ')} not built yet`;
  for (const name of tool.binaries) {
    const r = spawnSync(join(binDir, name), [...tool.versionArgs], {
      encoding: 'utf8',
      timeout: 30_000,
      env: tool.runEnv?.(process.env) ?? process.env,
    });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    if (r.status !== 0 || !tool.versionPattern.test(out)) {
      return `${name} does not report ${tool.version} (got ${JSON.stringify(out.slice(0, 80))})`;
    }
  }
  return undefined;
}

const elapsed = (start: number): string => {
  const s = Math.round((Date.now() - start) / 1000);
  return s >= 60 ? `${String(Math.floor(s / 60))}m${String(s % 60).padStart(2, '0')}s` : `${String(s)}s`;
};

async function install(tool: Tool): Promise<void> {
  const label = `${tool.name} ${tool.version}`;
  const binDir = toolBinDir(tool);
  const why = unusable(tool, binDir);
  if (why === undefined) {
    say(`${label}: reusing ${binDir}`);
    return;
  }
  say(`${label}: building (${why}) into ${binDir}`);
  const missing = await tool.missingRequirements(process.env);
  if (missing.length > 0) {
    throw new Error(
      `cannot build ${label}: this machine lacks ${missing.join('; ')}. Install ${
        missing.length === 1 ? 'it' : 'them'
      } and run the command again, or point SPIKE_TOOLS_DIR at a folder that already holds ` +
        `${tool.name}/${tool.version}/bin/{${tool.binaries.join(',')}}.`,
    );
  }
  const versionDir = dirname(binDir);
  await mkdir(versionDir, { recursive: true });
  const staging = await mkdtemp(join(versionDir, '.staging-'));
  const workDir = await mkdtemp(join(tmpdir(), `spike-tools-${tool.name}-`));
  const start = Date.now();
  const heartbeat = setInterval(() => say(`${label}: still building (${elapsed(start)})`), HEARTBEAT_MS);
  try {
    const stagedBin = join(staging, 'bin');
    await mkdir(stagedBin);
    await tool.build({ binDir: stagedBin, workDir, say: (line) => say(`${label}: ${line}`) });
    const bad = unusable(tool, stagedBin);
    if (bad !== undefined) throw new Error(`the build of ${label} did not produce working binaries: ${bad}`);
    // Someone else (another clone) may have finished first; a working copy wins, a broken one goes.
    if (unusable(tool, binDir) === undefined) {
      say(`${label}: another build finished first; reusing ${binDir}`);
      return;
    }
    await rm(binDir, { recursive: true, force: true });
    try {
      await rename(stagedBin, binDir);
    } catch (err) {
      // Lost a race with another clone's build between the check and the rename: fine if it works.
      if (unusable(tool, binDir) !== undefined) throw err;
    }
    say(`${label}: built in ${elapsed(start)}`);
  } finally {
    clearInterval(heartbeat);
    await rm(staging, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => toolByName(n) === undefined);
  if (unknown.length > 0) {
    throw new Error(`unknown tool ${unknown.join(', ')}; known: ${TOOLS.map((t) => t.name).join(', ')}`);
  }
  const chosen = names.length === 0 ? TOOLS : names.map((n) => toolByName(n)!);
  say(`tools for the test suites, cached in ${toolsRoot()} (SPIKE_TOOLS_DIR overrides)`);
  for (const tool of chosen) await install(tool);
}

main().catch((err: unknown) => {
  process.stderr.write(`tools: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
