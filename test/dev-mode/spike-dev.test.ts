/**
 * `spike-dev` as a real process, driven with the real `spike` CLI and the SDK: what it prints is
 * enough to use it (the exported environment works for secrets and policies, an extra workload
 * identity reads only what a policy grants), SIGTERM/SIGINT stop it and remove every socket,
 * NODE_ENV=production and bad arguments are refused with exit 2 before anything is created, and
 * a taken port or socket directory makes it fail clearly without harming the first instance.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSpikeClient, SpikeUnauthorizedError } from '@spike-ts/sdk';
import { cleanEnv, run, runSpike, sockets, startDev, type DevProc } from './dev-harness.ts';

describe('spike-dev', () => {
  const dirs: string[] = [];
  const procs: DevProc[] = [];
  const tempDir = (): string => {
    // Short: unix socket paths are limited to 107 bytes.
    const d = mkdtempSync('/tmp/sdev-');
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  describe('running', () => {
    let dev: DevProc;
    let socketDir: string;
    before(async () => {
      socketDir = join(tempDir(), 's');
      dev = startDev([
        '--port',
        '0',
        '--socket-dir',
        socketDir,
        '--identity',
        'billing=spiffe://spike.ist/workload/billing',
      ]);
      procs.push(dev);
      await dev.ready();
    });

    it('prints the banner, the Nexus URL, the sockets and the environment to export', () => {
      const out = dev.stdout();
      assert.match(out, /DEVELOPMENT ONLY/);
      assert.match(out, /in memory only/);
      const env = dev.exports();
      assert.equal(env['SPIFFE_ENDPOINT_SOCKET'], `unix://${join(socketDir, 'pilot.sock')}`);
      assert.match(env['SPIKE_NEXUS_API_URL'] ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(out, /billing\s+spiffe:\/\/spike\.ist\/workload\/billing/);
      assert.ok(out.includes(`unix://${join(socketDir, 'billing.sock')}`));
      for (const s of ['pilot.sock', 'demo.sock', 'billing.sock', 'nexus.sock'])
        assert.ok(sockets(socketDir).includes(s), `${s} is served`);
      assert.equal((statSync(join(socketDir, 'pilot.sock')).mode & 0o077).toString(8), '0', 'socket 0600');
    });

    it('the spike CLI with the printed environment is the superuser: secrets and policies', () => {
      const env = dev.exports();
      const put = runSpike(env, ['secret', 'put', 'apps/billing/db', 'user=app', 'password=-'], 's3cr3t\n');
      assert.equal(put.status, 0, put.stderr);
      const get = runSpike(env, ['secret', 'get', 'apps/billing/db', 'password']);
      assert.equal(get.status, 0, get.stderr);
      assert.equal(get.stdout.trim(), 's3cr3t');
      const list = runSpike(env, ['secret', 'list', '-f', 'json']);
      assert.deepEqual(JSON.parse(list.stdout), ['apps/billing/db']);

      const apply = runSpike(env, [
        'policy',
        'apply',
        '--name',
        'billing-read',
        '--spiffeid-pattern',
        '^spiffe://spike\\.ist/workload/billing$',
        '--path-pattern',
        '^apps/billing/.*$',
        '--permissions',
        'read',
      ]);
      assert.equal(apply.status, 0, apply.stderr);
      const policies = runSpike(env, ['policy', 'list', '-f', 'json']);
      assert.equal(policies.status, 0, policies.stderr);
      assert.match(policies.stdout, /billing-read/);
    });

    it('a workload registered with --identity reads what its policy grants, and only that', async () => {
      const env = dev.exports();
      const put = runSpike(env, ['secret', 'put', 'apps/other/x', 'k=v']);
      assert.equal(put.status, 0, put.stderr);
      const billing = await createSpikeClient({
        env: {
          SPIFFE_ENDPOINT_SOCKET: `unix://${join(socketDir, 'billing.sock')}`,
          SPIKE_NEXUS_API_URL: env['SPIKE_NEXUS_API_URL'] ?? '',
        },
      });
      const demo = await createSpikeClient({
        env: {
          SPIFFE_ENDPOINT_SOCKET: `unix://${join(socketDir, 'demo.sock')}`,
          SPIKE_NEXUS_API_URL: env['SPIKE_NEXUS_API_URL'] ?? '',
        },
      });
      try {
        // The policy of the previous test grants billing read on apps/billing/*.
        const got = await billing.getSecret('apps/billing/db');
        assert.equal(got['user'], 'app');
        await assert.rejects(billing.getSecret('apps/other/x'), SpikeUnauthorizedError);
        await assert.rejects(demo.getSecret('apps/billing/db'), SpikeUnauthorizedError);
      } finally {
        await billing.close();
        await demo.close();
      }
    });

    it('a second spike-dev on the same socket directory refuses and leaves the first one serving', async () => {
      const second = startDev(['--port', '0', '--socket-dir', socketDir]);
      procs.push(second);
      assert.equal(await second.exited, 1);
      assert.match(second.stderr(), /in use by another process/);
      const get = runSpike(dev.exports(), ['secret', 'get', 'apps/billing/db', 'user']);
      assert.equal(get.status, 0, get.stderr);
      assert.equal(get.stdout.trim(), 'app');
    });

    it('a taken Nexus port fails start-up with a clear message and removes its sockets', () => {
      const url = new URL(dev.exports()['SPIKE_NEXUS_API_URL'] ?? '');
      const otherSockets = join(tempDir(), 's');
      const r = run(['--port', url.port, '--socket-dir', otherSockets]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`port ${url.port} on 127\\.0\\.0\\.1 is in use.*--port`));
      assert.deepEqual(sockets(otherSockets), []);
    });

    it('SIGTERM stops it with exit 0 and removes every socket', async () => {
      assert.ok(sockets(socketDir).length > 0);
      dev.child.kill('SIGTERM');
      assert.equal(await dev.exited, 0, dev.stderr());
      assert.deepEqual(sockets(socketDir), []);
      assert.match(dev.stderr(), /SIGTERM received, stopping/);
      // Audit records go to stderr (flushed by now) and name paths, never secret values.
      assert.match(
        dev.stderr(),
        /"caller":"spiffe:\/\/spike\.ist\/spike\/pilot\/role\/superuser".*"path":"apps\/billing\/db"/,
      );
      assert.ok(!dev.stdout().includes('s3cr3t') && !dev.stderr().includes('s3cr3t'));
    });
  });

  it('SIGINT (Ctrl-C) stops it too, with exit 0 and no socket left', async () => {
    const socketDir = join(tempDir(), 's');
    const dev = startDev(['--port', '0', '--socket-dir', socketDir]);
    procs.push(dev);
    await dev.ready();
    assert.ok(sockets(socketDir).length > 0);
    dev.child.kill('SIGINT');
    assert.equal(await dev.exited, 0, dev.stderr());
    assert.deepEqual(sockets(socketDir), []);
  });

  it('refuses NODE_ENV=production with exit 2 before creating anything', () => {
    const socketDir = join(tempDir(), 's');
    const r = run(['--port', '0', '--socket-dir', socketDir], cleanEnv({ NODE_ENV: 'production' }));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /NODE_ENV=production/);
    assert.match(r.stderr, /DEVELOPMENT ONLY/);
    assert.equal(r.stdout, '');
    assert.equal(existsSync(socketDir), false);
    // Even --help: nothing of dev mode runs in production.
    assert.equal(run(['--help'], cleanEnv({ NODE_ENV: 'production' })).status, 2);
  });

  it('--help and --version print to stdout and exit 0', () => {
    const help = run(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^spike-dev — SPIKE in one process, for DEVELOPMENT ONLY/);
    assert.match(help.stdout, /--identity <name>=<id>/);
    const version = run(['--version']);
    assert.equal(version.status, 0);
    const pkg = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../packages/dev-mode/package.json', import.meta.url)), 'utf8'),
    ) as { version: string };
    assert.equal(version.stdout, `spike-dev ${pkg.version}\n`);
  });

  it('refuses unknown options, positionals and bad values with exit 2 and a hint, creating nothing', () => {
    const socketDir = join(tempDir(), 's');
    const at = ['--socket-dir', socketDir];
    for (const [args, message] of [
      [['--nope', ...at], /Unknown option '--nope'/],
      [['start', ...at], /Unexpected argument 'start'/],
      [['--port', 'http', ...at], /--port must be a port number/],
      [['--port', '70000', ...at], /--port must be a port number/],
      [['--port', '-1', ...at], /--port/],
      [['--identity', 'billing', ...at], /--identity expects <name>=<spiffe-id>/],
      [['--socket-dir', ''], /--socket-dir needs a directory/],
    ] as const) {
      const r = run([...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /Run 'spike-dev --help'/);
      assert.equal(existsSync(socketDir), false, `${args.join(' ')} created nothing`);
    }
  });

  it('refuses an identity outside the trust domain, or one that takes a built-in name, with exit 2', () => {
    const socketDir = join(tempDir(), 's');
    const foreign = run(['--port', '0', '--socket-dir', socketDir, '--identity', 'x=spiffe://other.org/w']);
    assert.equal(foreign.status, 2, foreign.stderr);
    assert.match(foreign.stderr, /not in the issuer's trust domain spike\.ist/);
    const taken = run(['--port', '0', '--socket-dir', socketDir, '--identity', 'pilot=spiffe://spike.ist/w']);
    assert.equal(taken.status, 2, taken.stderr);
    assert.match(taken.stderr, /identity name pilot is used twice/);
    assert.deepEqual(sockets(socketDir), []);
  });

  it('an invalid SPIKE_* variable is a configuration error (exit 2) naming the variable', () => {
    const socketDir = join(tempDir(), 's');
    const r = run(
      ['--port', '0', '--socket-dir', socketDir],
      cleanEnv({ SPIKE_NEXUS_MAX_SECRET_VERSIONS: 'many' }),
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /invalid configuration: .*SPIKE_NEXUS_MAX_SECRET_VERSIONS/);
    assert.deepEqual(sockets(socketDir), []);
  });
});
