/**
 * The published npm packages, used the way another repository uses them: `npm run build` packs
 * the SDK, the CLI and the workspace packages they need into tarballs; a fresh project outside the
 * workspace installs them (third-party dependencies from the npm registry or its cache) and, against
 * a real Nexus process over mTLS with dev identities:
 *   - runs the installed `spike` under Node 24 and Node 22;
 *   - imports the SDK from a plain ESM file under Node 24 and Node 22;
 *   - type-checks a TypeScript file against the installed declarations (nodenext) and runs it;
 * and `npm publish --dry-run` accepts every tarball.
 *
 * Node 22 comes from the tools cache (`npm run tools:install`, which `npm test` runs first).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { missingBinaries, toolBinDir } from '../../scripts/tools/registry.ts';
import { NODE22 } from '../../scripts/tools/node22.ts';
import { startIdentityLab, type IdentityLab } from '../cli/cli-harness.ts';
import { NEXUS_BIN, killAll, launch, waitForPort } from '../nexus/processes.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BUILD = join(ROOT, 'scripts', 'packaging', 'build.ts');
const PUBLISHED = ['cli', 'identity', 'protocol', 'sdk', 'settings'];

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  command: string,
  args: readonly string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(r: Ran, what: string): Ran {
  assert.equal(r.code, 0, `${what} exited ${String(r.code)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/**
 * Where the outer npm found its configuration. Kept, because the npm run here may start under
 * another Node.js (the workspace's, first on an `npm run` PATH), whose install prefix points npm
 * at another global npmrc: the user's registry, CA file and proxy settings would be lost.
 */
const NPM_CONFIG_LOCATIONS = new Set([
  'npm_config_globalconfig',
  'npm_config_userconfig',
  'npm_config_cache',
]);

/** The environment without the variables an outer `npm run` sets, so npm acts as in a fresh shell. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const keep = NPM_CONFIG_LOCATIONS.has(k.toLowerCase()) || !/^npm_/i.test(k);
    if (keep && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD') env[k] = v;
  }
  return { ...env, ...extra };
}

function node22(): string {
  const dir = toolBinDir(NODE22);
  const missing = missingBinaries(NODE22, dir);
  if (missing.length > 0) {
    throw new Error(
      `Node.js ${NODE22.version} is not in the tools cache (${dir}). Run \`npm run tools:install -- node22\` ` +
        '(`npm test` does it first), then run this suite again.',
    );
  }
  return join(dir, 'node');
}

/** Every file under `dir`, relative to it. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))],
  );
}

describe('npm packages in a consumer project', () => {
  const nodes: Array<{ label: string; bin: string }> = [{ label: 'Node 24', bin: process.execPath }];
  let work: string;
  let project: string;
  let tarballs: string[] = [];
  let lab: IdentityLab;
  let nexusUrl: string;

  /** Run the consumer's installed `spike` through its bin link, with `nodeBin` first on PATH. */
  const spike = (nodeBin: string, identity: string, args: string[]): Promise<Ran> =>
    run(join(project, 'node_modules', '.bin', 'spike'), args, {
      cwd: project,
      env: lab.env(identity, nexusUrl, {
        PATH: `${dirname(nodeBin)}${delimiter}${process.env.PATH ?? ''}`,
      }),
    });

  /** Run a consumer file with `nodeBin` as a workload with `identity`. */
  const consumerFile = (nodeBin: string, identity: string, args: string[]): Promise<Ran> =>
    run(nodeBin, args, { cwd: project, env: lab.env(identity, nexusUrl) });

  async function buildAndInstall(): Promise<void> {
    const packDir = join(work, 'tarballs');
    ok(
      await run(process.execPath, [BUILD, '--out', join(work, 'stage'), '--pack', packDir], {
        cwd: ROOT,
        env: plainEnv(),
        timeoutMs: 120_000,
      }),
      'npm run build',
    );
    tarballs = readdirSync(packDir)
      .filter((f) => f.endsWith('.tgz'))
      .map((f) => join(packDir, f));
    cpSync(join(import.meta.dirname, 'consumer'), project, { recursive: true });
    const typesNode = (
      JSON.parse(readFileSync(join(ROOT, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
    ok(
      await run(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs, `@types/node@${typesNode}`],
        { cwd: project, env: plainEnv(), timeoutMs: 180_000 },
      ),
      'npm install of the tarballs',
    );
  }

  async function startNexus(): Promise<void> {
    lab = await startIdentityLab();
    const nexus = launch(NEXUS_BIN, {
      SPIFFE_ENDPOINT_SOCKET: lab.issuer.endpointFor('nexus'),
      SPIKE_NEXUS_BACKEND_STORE: 'memory',
      SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
      SPIKE_NEXUS_HEALTH_ADDR: 'off',
      HOME: lab.dir,
    });
    nexusUrl = `https://127.0.0.1:${String(await waitForPort(nexus))}`;
  }

  before(async () => {
    nodes.push({ label: `Node ${NODE22.version}`, bin: node22() });
    // Outside the workspace, so nothing resolves through the workspace's node_modules.
    work = await mkdtemp(join(tmpdir(), 'spike-consumer-'));
    project = join(work, 'project');
    mkdirSync(project);
    await Promise.all([buildAndInstall(), startNexus()]);
  });
  after(async () => {
    await killAll();
    await lab?.close();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('installs the SDK, the CLI and what they need, compiled, with no server code', () => {
    const scope = join(project, 'node_modules', '@spike-ts');
    assert.deepEqual(readdirSync(scope).sort(), PUBLISHED);
    assert.equal(tarballs.length, PUBLISHED.length);
    const manifests = new Map(
      PUBLISHED.map((p) => [
        p,
        JSON.parse(readFileSync(join(scope, p, 'package.json'), 'utf8')) as {
          private?: boolean;
          engines?: { node?: string };
          exports: Record<string, { types: string; default: string }>;
          dependencies?: Record<string, string>;
        },
      ]),
    );
    for (const [p, m] of manifests) {
      assert.equal(m.private, undefined, p);
      assert.equal(m.engines?.node, '>=22.12', p);
      for (const [key, target] of Object.entries(m.exports)) {
        assert.match(target.types, /^\.\/dist\/.+\.d\.ts$/, `${p} ${key}`);
        assert.match(target.default, /^\.\/dist\/.+\.js$/, `${p} ${key}`);
        assert.ok(existsSync(join(scope, p, target.types)), `${p} ${key}: ${target.types}`);
        assert.ok(existsSync(join(scope, p, target.default)), `${p} ${key}: ${target.default}`);
      }
      const files = walk(join(scope, p));
      assert.deepEqual(
        files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
        [],
        `${p} ships TypeScript sources`,
      );
      assert.deepEqual(
        files.filter((f) => f.endsWith('.test.js')),
        [],
        `${p} ships tests`,
      );
      // Declarations import their siblings as `.js`, like the JavaScript (not the sources' `.ts`).
      assert.deepEqual(
        files.filter(
          (f) =>
            f.endsWith('.d.ts') && /from '\.{1,2}\/[^']*\.ts'/.test(readFileSync(join(scope, p, f), 'utf8')),
        ),
        [],
        `${p} declarations import .ts files`,
      );
    }
    // The SDK's dependency closure: identity, protocol, settings; nothing else of ours.
    const closure = new Set<string>();
    const visit = (p: string): void => {
      for (const dep of Object.keys(manifests.get(p)?.dependencies ?? {})) {
        if (!dep.startsWith('@spike-ts/')) continue;
        const name = dep.slice('@spike-ts/'.length);
        if (!closure.has(name)) {
          closure.add(name);
          visit(name);
        }
      }
    };
    visit('sdk');
    assert.deepEqual([...closure].sort(), ['identity', 'protocol', 'settings']);
  });

  it('runs the installed `spike` under Node 24 and Node 22 against Nexus', async () => {
    for (const { label, bin } of nodes) {
      assert.equal(ok(await spike(bin, 'pilot', ['--version']), label).stdout.trim(), 'spike 0.1.0');
    }
    const [n24, n22] = nodes.map((n) => n.bin) as [string, string];
    ok(
      await spike(n24, 'pilot', [
        'policy',
        'create',
        '--name',
        'consumer-workload',
        '--spiffeid-pattern',
        '^spiffe://spike\\.ist/workload/demo$',
        '--path-pattern',
        '^apps/consumer/.*$',
        '--permissions',
        'read,write',
      ]),
      'spike policy create (Node 24)',
    );
    ok(
      await spike(n22, 'pilot', ['secret', 'put', 'apps/consumer/from-cli', 'who=cli']),
      'secret put (Node 22)',
    );
    assert.equal(
      ok(await spike(n24, 'pilot', ['secret', 'get', 'apps/consumer/from-cli', 'who']), 'secret get').stdout,
      'cli\n',
    );
  });

  it('imports the SDK from an ESM file and reads and writes a secret, under Node 24 and Node 22', async () => {
    for (const { label, bin } of nodes) {
      const path = `apps/consumer/esm-${label.replaceAll(/\W/g, '')}`;
      const r = ok(
        await consumerFile(bin, 'demo', ['esm-consumer.mjs', path]),
        `esm-consumer.mjs (${label})`,
      );
      const version = ok(
        await run(bin, ['--version'], { cwd: project, env: plainEnv() }),
        label,
      ).stdout.trim();
      assert.deepEqual(JSON.parse(r.stdout), {
        back: { node: version },
        fromCli: { who: 'cli' },
        outside: 'refused 401',
      });
      // The write reached Nexus: the operator reads it with the CLI.
      assert.equal(
        ok(await spike(process.execPath, 'pilot', ['secret', 'get', path, 'node']), 'secret get').stdout,
        `${version}\n`,
      );
    }
  });

  it('type-checks a TypeScript file against the installed declarations (nodenext) and runs it', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    ok(await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, env: plainEnv() }), 'tsc');
    const r = ok(await consumerFile(process.execPath, 'demo', ['typed-consumer.ts']), 'typed-consumer.ts');
    assert.deepEqual(JSON.parse(r.stdout), { lang: 'typescript' });
  });

  it('npm publish --dry-run accepts every package', async () => {
    const runs = await Promise.all(
      tarballs.map((tarball) =>
        run('npm', ['publish', tarball, '--dry-run'], { cwd: work, env: plainEnv() }),
      ),
    );
    runs.forEach((r, i) => {
      ok(r, `npm publish --dry-run ${tarballs[i]!}`);
      assert.match(`${r.stdout}${r.stderr}`, /\+ @spike-ts\/[a-z-]+@0\.1\.0/);
    });
  });
});
