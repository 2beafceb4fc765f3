/**
 * The systemd units in deploy/systemd: each component runs as its own user (created by the
 * sysusers.d file), hardened, with Nexus's data in its StateDirectory; `systemd-analyze verify`
 * accepts every unit without a single warning and `systemd-analyze security --offline` rates each
 * one at most 2.0 ("OK").
 *
 * No systemd runs as PID 1 here, so the units are checked in a private root: a copy of the host's
 * systemd units (for the targets ours depend on), our units in /etc/systemd/system, the users
 * that `systemd-sysusers --root` creates from our sysusers.d file, and executable stand-ins at
 * the ExecStart paths (verify refuses a unit whose ExecStart does not exist; what the stand-ins
 * contain does not matter to it). As root the checks also run as an unprivileged uid, since CI
 * runs as either.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const UNITS_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'systemd');
const HOST_UNITS = ['/usr/lib/systemd/system', '/lib/systemd/system'];
const UNITS = ['spike-nexus.service', 'spike-keeper@.service', 'spike-bootstrap.service'] as const;
/** What verify and security are asked about: the template through one instance. */
const INSTANCES = ['spike-nexus.service', 'spike-keeper@1.service', 'spike-bootstrap.service'];
const NOBODY = 65534;

type Unit = Map<string, string[]>;

/** `[Section]` + `Key=value` lines -> "Section.Key" -> every value, in order. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header !== null) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0 && section !== '', `not a unit line: ${line}`);
    const key = `${section}.${line.slice(0, eq)}`;
    unit.set(key, [...(unit.get(key) ?? []), line.slice(eq + 1)]);
  }
  return unit;
}

const one = (unit: Unit, key: string): string | undefined => {
  const values = unit.get(key);
  return values === undefined ? undefined : values[values.length - 1];
};

function requireSystemdAnalyze(): void {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(
      'systemd-analyze is not installed (Debian/Ubuntu: apt-get install systemd; .ci/run installs it); ' +
        'it checks the units in deploy/systemd',
    );
  }
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], asUid?: number): Run {
  const [cmd, argv] =
    asUid === undefined
      ? [command, args]
      : [
          'setpriv',
          [`--reuid=${String(asUid)}`, `--regid=${String(asUid)}`, '--clear-groups', command, ...args],
        ];
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: tmpdir(),
      LANG: 'C.UTF-8',
      SYSTEMD_COLORS: '0',
    },
  });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A private root: host units, our units (optionally replaced by `override`), users from our
 * sysusers.d file, stand-in executables at every ExecStart path.
 */
async function makeRoot(base: string, name: string, override?: Record<string, string>): Promise<string> {
  const root = join(base, name);
  const hostUnits = HOST_UNITS.find((dir) => existsSync(dir));
  assert.ok(hostUnits !== undefined, `no systemd unit folder on this host (${HOST_UNITS.join(', ')})`);
  await mkdir(join(root, 'usr/lib/systemd'), { recursive: true });
  await cp(hostUnits, join(root, 'usr/lib/systemd/system'), { recursive: true, dereference: false });
  await mkdir(join(root, 'etc/systemd/system'), { recursive: true });
  for (const file of UNITS) {
    const text = override?.[file] ?? (await readFile(join(UNITS_DIR, file), 'utf8'));
    await writeFile(join(root, 'etc/systemd/system', file), text);
    for (const exec of parseUnit(text).get('Service.ExecStart') ?? []) {
      const path = exec.replace(/^[-@:+!]+/, '').split(/\s+/)[0]!;
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), '#!/bin/false\n');
      await chmod(join(root, path), 0o755);
    }
  }
  await mkdir(join(root, 'usr/lib/sysusers.d'), { recursive: true });
  await cp(join(UNITS_DIR, 'spike.sysusers.conf'), join(root, 'usr/lib/sysusers.d/spike.conf'));
  return root;
}

async function chownTree(path: string, uid: number): Promise<void> {
  await chown(path, uid, uid);
  for (const entry of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (!entry.isSymbolicLink()) await chown(join(entry.parentPath, entry.name), uid, uid);
  }
}

function verify(root: string, asUid?: number): Run {
  return run('systemd-analyze', ['verify', `--root=${root}`, '--man=no', ...INSTANCES], asUid);
}

const isRoot = process.getuid?.() === 0;
/** Who runs the checks: this user, and as root also an unprivileged uid. */
const RUNNERS: Array<{ label: string; uid: number | undefined }> = [
  { label: isRoot ? 'as root' : 'as this user', uid: undefined },
  ...(isRoot ? [{ label: `as uid ${String(NOBODY)}`, uid: NOBODY }] : []),
];

describe('systemd units (deploy/systemd)', () => {
  const units = new Map<string, Unit>();
  let sysusers = '';
  let base = '';

  before(async () => {
    requireSystemdAnalyze();
    for (const file of UNITS) units.set(file, parseUnit(await readFile(join(UNITS_DIR, file), 'utf8')));
    sysusers = await readFile(join(UNITS_DIR, 'spike.sysusers.conf'), 'utf8');
    base = await mkdtemp(join(tmpdir(), 'spike-systemd-'));
    await chmod(base, 0o755);
  });
  after(async () => {
    if (base !== '') await rm(base, { recursive: true, force: true });
  });

  it('the folder holds exactly the three units and the sysusers.d file', async () => {
    assert.deepEqual((await readdir(UNITS_DIR)).sort(), [...UNITS, 'spike.sysusers.conf'].sort());
  });

  it('every component runs as its own user, declared in the sysusers.d file', () => {
    const declared = [...sysusers.matchAll(/^u\s+(\S+)\s/gm)].map((m) => m[1]);
    const users = UNITS.map((f) => one(units.get(f)!, 'Service.User'));
    assert.deepEqual(users, ['spike-nexus', 'spike-keeper', 'spike-bootstrap']);
    assert.equal(new Set(users).size, UNITS.length, 'one user per component');
    for (const [i, file] of UNITS.entries()) {
      assert.ok(
        declared.includes(users[i]),
        `${file}: User=${String(users[i])} is not in spike.sysusers.conf`,
      );
      assert.equal(
        one(units.get(file)!, 'Service.Group'),
        users[i],
        `${file}: Group= is the user's own group`,
      );
    }
  });

  it('every unit is hardened', () => {
    const required: Record<string, string> = {
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      CapabilityBoundingSet: '',
      AmbientCapabilities: '',
      RestrictSUIDSGID: 'yes',
      RestrictNamespaces: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectControlGroups: 'yes',
      LockPersonality: 'yes',
      SystemCallArchitectures: 'native',
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
      UMask: '0077',
    };
    for (const file of UNITS) {
      const unit = units.get(file)!;
      for (const [key, value] of Object.entries(required)) {
        assert.equal(one(unit, `Service.${key}`), value, `${file}: ${key}=${value}`);
      }
      assert.deepEqual(unit.get('Service.SystemCallFilter'), ['@system-service', '~@privileged'], file);
      assert.equal(one(unit, 'Service.User') === 'root', false);
    }
  });

  it('Nexus keeps its database in its StateDirectory and reads /etc/spike/nexus.env', () => {
    const nexus = units.get('spike-nexus.service')!;
    assert.equal(one(nexus, 'Service.StateDirectory'), 'spike');
    assert.equal(one(nexus, 'Service.StateDirectoryMode'), '0700');
    assert.ok(nexus.get('Service.Environment')?.includes('SPIKE_NEXUS_DATA_DIR=/var/lib/spike'));
    assert.ok(nexus.get('Service.Environment')?.includes('SPIKE_NEXUS_HEALTH_ADDR=127.0.0.1:8554'));
    assert.deepEqual(nexus.get('Service.EnvironmentFile'), ['/etc/spike/nexus.env']);
    assert.equal(one(nexus, 'Service.RestartPreventExitStatus'), '2', 'a configuration error is not retried');
  });

  it('keepers are a template (one instance per keeper) and bootstrap is a one-shot that accepts exit 3', () => {
    const keeper = units.get('spike-keeper@.service')!;
    assert.deepEqual(keeper.get('Service.EnvironmentFile'), [
      '-/etc/spike/keeper.env',
      '-/etc/spike/keeper-%i.env',
    ]);
    assert.equal(keeper.get('Service.StateDirectory'), undefined, 'a keeper keeps nothing on disk');
    const bootstrap = units.get('spike-bootstrap.service')!;
    assert.equal(one(bootstrap, 'Service.Type'), 'oneshot');
    assert.equal(one(bootstrap, 'Service.SuccessExitStatus'), '3');
    assert.deepEqual(bootstrap.get('Service.EnvironmentFile'), ['/etc/spike/bootstrap.env']);
    assert.equal(bootstrap.get('Install.WantedBy'), undefined, 'bootstrap is started by hand, never at boot');
    for (const file of UNITS) {
      const exec = one(units.get(file)!, 'Service.ExecStart');
      assert.equal(exec, `/usr/local/bin/${file.replace(/@?\.service$/, '')}`, file);
    }
  });

  for (const runner of RUNNERS) {
    it(`systemd-sysusers creates the three users, ${runner.label}`, async () => {
      const root = await makeRoot(base, `sysusers-${String(runner.uid ?? 'self')}`);
      await mkdir(join(root, 'etc'), { recursive: true });
      if (runner.uid !== undefined) await chownTree(root, runner.uid);
      const r = run('systemd-sysusers', [`--root=${root}`], runner.uid);
      assert.equal(r.status, 0, r.stderr);
      const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
      const users = passwd
        .trim()
        .split('\n')
        .map((l) => l.split(':'));
      assert.deepEqual(
        users.map((u) => u[0]),
        ['spike-nexus', 'spike-keeper', 'spike-bootstrap'],
      );
      assert.equal(new Set(users.map((u) => u[2])).size, 3, 'three distinct uids');
      for (const u of users) assert.equal(u[6], '/usr/sbin/nologin', `${String(u[0])} has no login shell`);
    });

    it(`systemd-analyze verify accepts every unit without a warning, ${runner.label}`, async () => {
      const root = await makeRoot(base, `verify-${String(runner.uid ?? 'self')}`);
      if (runner.uid !== undefined) await chownTree(root, runner.uid);
      const r = verify(root, runner.uid);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', 'no warnings');
    });

    it(`systemd-analyze security rates every unit at most 2.0, ${runner.label}`, async () => {
      const root = await makeRoot(base, `security-${String(runner.uid ?? 'self')}`);
      if (runner.uid !== undefined) await chownTree(root, runner.uid);
      for (const unit of INSTANCES) {
        const r = run(
          'systemd-analyze',
          ['security', '--offline=yes', `--root=${root}`, '--threshold=20', '--no-pager', unit],
          runner.uid,
        );
        assert.equal(r.status, 0, `${unit}: ${r.stderr}${r.stdout.slice(-400)}`);
        const level = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
        assert.ok(level !== null, `${unit}: no exposure level in ${r.stdout.slice(-200)}`);
        assert.ok(Number(level[1]) <= 2.0, `${unit}: exposure ${level[1]} > 2.0`);
      }
    });
  }

  it('the verify check catches a broken unit and a missing executable (so it can fail)', async () => {
    const nexus = await readFile(join(UNITS_DIR, 'spike-nexus.service'), 'utf8');
    const misspelled = await makeRoot(base, 'broken-key', {
      'spike-nexus.service': nexus.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'),
    });
    const a = verify(misspelled);
    assert.match(a.stderr, /Unknown key 'NoNewPrivilege'/);
    const badValue = await makeRoot(base, 'bad-value', {
      'spike-nexus.service': nexus.replace('ProtectSystem=strict', 'ProtectSystem=stricter'),
    });
    assert.match(verify(badValue).stderr, /protect system value/i);
    const noExec = await makeRoot(base, 'no-exec');
    await rm(join(noExec, 'usr/local/bin/spike-keeper'));
    const c = verify(noExec);
    assert.notEqual(c.status, 0);
    assert.match(c.stderr, /spike-keeper is not executable/);
  });
});
