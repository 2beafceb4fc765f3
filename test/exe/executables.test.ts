/**
 * The self-contained executables (`npm run build:exe`, ADR 0024) run a whole SPIKE stack with no
 * Node.js anywhere on PATH: the dev identity issuer, three keepers, Nexus on SQLite with two API
 * threads, bootstrap, then `spike secret put/get`; Nexus on a private PostgreSQL cluster; and
 * `spike-dev` (dev mode). The executable is copied out of the checkout
 * first, and every process is started by its bare name through PATH, as an operator would.
 * The build is reused when its inputs did not change.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildExecutables, COMPONENTS, EXE_DIR, MULTI_CALL } from '../../scripts/exe/build.ts';
import { startTestCluster, type TestCluster } from '@spike-ts/store/testing';
import { Stack, waitFor, type RunResult } from '../../scripts/stack.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('self-contained executables', () => {
  let dir = '';
  let bin = '';
  let stack: Stack | undefined;
  /** The environment of every run: PATH is the executables' folder alone. */
  let env: Record<string, string> = {};

  const run = (command: string, args: string[]): SpawnSyncReturns<string> =>
    spawnSync(command, args, { env, cwd: dir, encoding: 'utf8', timeout: 60_000 });

  before(async () => {
    await buildExecutables({ log: () => undefined });
    dir = await mkdtemp('/tmp/spike-exe-');
    bin = join(dir, 'bin');
    mkdirSync(bin);
    copyFileSync(join(EXE_DIR, MULTI_CALL), join(bin, MULTI_CALL));
    for (const c of COMPONENTS) linkSync(join(bin, MULTI_CALL), join(bin, c.name));
    env = { PATH: bin, HOME: dir, LANG: 'C.UTF-8' };
  });

  after(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('builds one executable and hard links (not symbolic links) named after each command', () => {
    const { ino, mode } = statSync(join(EXE_DIR, MULTI_CALL));
    assert.ok((mode & 0o111) !== 0, 'executable');
    for (const c of COMPONENTS) {
      assert.throws(() => readlinkSync(join(EXE_DIR, c.name)), { code: 'EINVAL' }, `${c.name} is no symlink`);
      assert.equal(statSync(join(EXE_DIR, c.name)).ino, ino, `${c.name} is a hard link of ${MULTI_CALL}`);
    }
  });

  it('the bundles inside carry no path of the checkout and no native addon', () => {
    const work = join(ROOT, 'dist', 'exe-build');
    for (const file of ['main.cjs', 'nexus-api-worker.cjs']) {
      const text = readFileSync(join(work, file), 'utf8');
      assert.ok(!text.includes(ROOT), `${file} mentions ${ROOT}`);
      assert.ok(!/require\([^)]*\.node["']\)/.test(text), `${file} loads a native addon`);
    }
  });

  it('the version and help path of the bundle loads no Workload API, TLS or HTTP code', () => {
    // The executable's main script, run by this Node.js with a hook that records every built-in
    // module it requires (inside the executable, those requires bypass the module loader).
    const hook = join(dir, 'record-builtins.cjs');
    writeFileSync(
      hook,
      "const Module = require('node:module'); const seen = new Set(); const load = Module._load;\n" +
        'Module._load = function (request, parent, isMain) { if (!isMain) seen.add(request.replace(/^node:/, "")); ' +
        'return load.apply(this, arguments); };\n' +
        "process.on('exit', () => require('node:fs').writeSync(2, '\\nBUILTINS ' + [...seen].join(',') + '\\n'));\n",
    );
    const builtins = (args: string[], extra: Record<string, string> = {}): string[] => {
      const res = spawnSync(
        process.execPath,
        ['--require', hook, join(ROOT, 'dist', 'exe-build', 'main.cjs'), 'spike', ...args],
        { env: { PATH: bin, HOME: dir, ...extra }, cwd: dir, encoding: 'utf8', timeout: 60_000 },
      );
      const line = /^BUILTINS (.*)$/m.exec(res.stderr)?.[1];
      assert.ok(line !== undefined, res.stderr);
      return line.split(',');
    };
    const network = ['http2', 'tls', 'net', 'https', 'dns'];
    for (const args of [['--version'], ['version'], ['--help'], ['-h'], ['secret', '--help']]) {
      const loaded = builtins(args);
      assert.deepEqual(
        network.filter((m) => loaded.includes(m)),
        [],
        `spike ${args.join(' ')} loads ${loaded.join(', ')}`,
      );
    }
    // The check can see them: a command that talks to Nexus loads them.
    const get = builtins(['secret', 'get', 'x'], {
      SPIFFE_ENDPOINT_SOCKET: `unix://${join(dir, 'none.sock')}`,
    });
    assert.ok(
      ['http2', 'tls'].every((m) => get.includes(m)),
      get.join(', '),
    );
  });

  it('the PATH of these runs has no node', () => {
    for (const entry of (env.PATH ?? '').split(':')) assert.ok(!existsSync(join(entry, 'node')), entry);
    assert.equal(run('node', ['--version']).error?.message.includes('ENOENT'), true);
  });

  it('answers --version and --help under every name, and as spike-ts <command>', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    const spike = run('spike', ['--version']);
    assert.equal(spike.status, 0, spike.stderr);
    assert.equal(spike.stdout.trim(), `spike ${version}`);
    const help = run('spike', ['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /secret/);
    for (const name of ['spike-nexus', 'spike-keeper', 'spike-bootstrap', 'spike-dev']) {
      const res = run(name, ['--version']);
      assert.equal(res.status, 0, `${name}: ${res.stderr}`);
      assert.equal(res.stdout.trim(), `${name} ${version}`);
    }
    const issuerHelp = run('spike-dev-identity', ['--help']);
    assert.equal(issuerHelp.status, 0, issuerHelp.stderr);
    assert.match(issuerHelp.stdout, /DEVELOPMENT-ONLY/);
    const viaMulti = run(MULTI_CALL, ['nexus', '--version']);
    assert.equal(viaMulti.status, 0, viaMulti.stderr);
    assert.equal(viaMulti.stdout.trim(), `spike-nexus ${version}`);
    const usage = run(MULTI_CALL, ['--help']);
    assert.equal(usage.status, 0);
    for (const c of COMPONENTS) assert.ok(usage.stdout.includes(c.name), c.name);
    const unknown = run(MULTI_CALL, ['nexsu']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command 'nexsu'/);
  });

  it('runs the issuer, 3 keepers, Nexus on SQLite with 2 API threads and bootstrap; spike puts and gets', async () => {
    stack = await Stack.withFreePorts({
      dir: join(dir, 'stack'),
      socketDir: join(dir, 's'),
      backend: 'sqlite',
      executables: true,
      env: { PATH: bin, HOME: dir, NODE_OPTIONS: '' },
      nexusEnv: { SPIKE_NEXUS_API_THREADS: '2' },
    });
    await stack.startIssuer();
    await stack.startKeepers();
    await stack.startNexus();
    const boot = await stack.runBootstrap();
    assert.equal(boot.code, 0, boot.stderr);
    assert.ok(await stack.waitNexusReady(60_000), `Nexus not ready:\n${stack.readLog('nexus')}`);

    // The processes are the executables themselves (SPIRE's unix:path selector sees this path).
    const running = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map((pid) => {
        try {
          return readlinkSync(`/proc/${pid}/exe`);
        } catch {
          return '';
        }
      });
    for (const name of ['spike-dev-identity', 'spike-keeper', 'spike-nexus']) {
      assert.ok(running.includes(join(bin, name)), `a process runs ${join(bin, name)}`);
    }
    assert.equal(running.filter((exe) => exe === join(bin, 'spike-keeper')).length, 3);
    const nexusLog = stack.readLog('nexus');
    assert.match(
      nexusLog,
      /root key installed in API thread/,
      'the worker thread runs inside the executable',
    );

    const put = await stack.runSpike('pilot', ['secret', 'put', 'exe/db', 'user=admin', 'pass=s3cr3t']);
    assert.equal(put.code, 0, put.stderr);
    // New connections are spread over both API threads by the kernel; each must see the write.
    for (let i = 0; i < 6; i++) {
      const get: RunResult = await stack.runSpike('pilot', ['secret', 'get', 'exe/db', '--format', 'json']);
      assert.equal(get.code, 0, get.stderr);
      assert.deepEqual(JSON.parse(get.stdout), { user: 'admin', pass: 's3cr3t' });
    }
    const missing = await stack.runSpike('pilot', ['secret', 'get', 'exe/none']);
    assert.notEqual(missing.code, 0);
    assert.ok(existsSync(join(stack.dataDir)), 'Nexus wrote its SQLite database');
  });

  it('spike-nexus migrates and serves a PostgreSQL database (the bundled pg driver)', async () => {
    const cluster = await startTestCluster();
    let pgStack: Stack | undefined;
    try {
      const database = await cluster.createDatabase();
      const pgEnv = (role: TestCluster['ddlRole']): Record<string, string> => ({
        SPIKE_NEXUS_BACKEND_STORE: 'postgres',
        SPIKE_NEXUS_POSTGRES_URL: `postgresql://${role.name}@/${database}?host=${cluster.socketDir}`,
        SPIKE_NEXUS_POSTGRES_PASSWORD_FILE: role.passwordFile,
      });
      const migrated = spawnSync('spike-nexus', ['migrate', '--grant-runtime', cluster.runtimeRole.name], {
        env: { ...env, ...pgEnv(cluster.ddlRole) },
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(migrated.status, 0, migrated.stderr);
      pgStack = await Stack.withFreePorts({
        dir: join(dir, 'pg-stack'),
        socketDir: join(dir, 'p'),
        executables: true,
        env: { PATH: bin, HOME: dir, NODE_OPTIONS: '' },
        nexusEnv: { ...pgEnv(cluster.runtimeRole), SPIKE_NEXUS_DB_SKIP_SCHEMA_CREATION: 'true' },
      });
      await pgStack.startIssuer();
      await pgStack.startKeepers();
      await pgStack.startNexus();
      const boot = await pgStack.runBootstrap();
      assert.equal(boot.code, 0, boot.stderr);
      assert.ok(await pgStack.waitNexusReady(60_000), `Nexus not ready:\n${pgStack.readLog('nexus')}`);
      const put = await pgStack.runSpike('pilot', ['secret', 'put', 'exe/pg', 'k=v']);
      assert.equal(put.code, 0, put.stderr);
      const get = await pgStack.runSpike('pilot', ['secret', 'get', 'exe/pg']);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout.trim(), 'k: v');
      const rows = await cluster.superuser<{ n: string }>(
        'SELECT count(*) AS n FROM spike.secrets',
        [],
        database,
      );
      assert.ok(Number(rows.rows[0]?.n) >= 1, 'the secret is in PostgreSQL');
    } finally {
      await pgStack?.stop();
      await cluster.stop();
    }
  });

  it('spike-dev (dev mode) runs from the executable; spike puts and gets through it', async () => {
    const sockets = join(dir, 'dev-s');
    const dev = spawn('spike-dev', ['--port', '0', '--socket-dir', sockets], { env, cwd: dir });
    let output = '';
    dev.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    dev.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => dev.once('close', (code) => resolve(code)));
    try {
      await waitFor('spike-dev to be ready', 60_000, () => {
        if (dev.exitCode !== null) throw new Error(`spike-dev exited (${String(dev.exitCode)}):\n${output}`);
        return /ready/.test(output);
      });
      const url = /Nexus\s+(https:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      assert.ok(url !== undefined, output);
      const pilot = {
        ...env,
        SPIFFE_ENDPOINT_SOCKET: `unix://${join(sockets, 'pilot.sock')}`,
        SPIKE_NEXUS_API_URL: url,
      };
      const put = spawnSync('spike', ['secret', 'put', 'dev/x', 'k=v'], { env: pilot, encoding: 'utf8' });
      assert.equal(put.status, 0, put.stderr);
      const get = spawnSync('spike', ['secret', 'get', 'dev/x'], { env: pilot, encoding: 'utf8' });
      assert.equal(get.status, 0, get.stderr);
      assert.equal(get.stdout.trim(), 'k: v');
    } finally {
      dev.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
  });
});
