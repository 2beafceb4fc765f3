/**
 * `spike-dev --data-dir` as real processes: the first start bootstraps (in-process keepers, the
 * real bootstrap) and saves recovery files; a restart finds the keepers empty, restores the root
 * key from those files and serves the secrets written before; a second `spike-dev` on the same
 * data directory is refused; a data directory whose recovery files are gone fails clearly, and
 * recovery with only one of the two needed files fails without serving anything.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { run, runSpike, sockets, startDev, type DevProc } from './dev-harness.ts';

describe('spike-dev --data-dir', () => {
  const root = mkdtempSync('/tmp/sdd-');
  const procs: DevProc[] = [];
  after(() => {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });
  const dataDir = join(root, 'data');
  const socketDir = join(root, 's');
  const recoverDir = join(dataDir, 'recovery', 'recover');
  const args = ['--port', '0', '--socket-dir', socketDir, '--data-dir', dataDir];

  const start = async (): Promise<DevProc> => {
    const dev = startDev(args);
    procs.push(dev);
    await dev.ready();
    return dev;
  };
  const stop = async (dev: DevProc): Promise<void> => {
    dev.child.kill('SIGTERM');
    assert.equal(await dev.exited, 0, dev.stderr());
    assert.deepEqual(sockets(socketDir), []);
  };

  it('first start: bootstrap with three in-process keepers, recovery files saved 0600', async () => {
    const dev = await start();
    assert.match(dev.stdout(), /SQLite in .*root key bootstrapped/);
    assert.match(dev.stdout(), /Keepers {7}(https:\/\/127\.0\.0\.1:\d+ ){3}/);
    assert.match(dev.stderr(), /bootstrap: Nexus verified the root key/);
    const files = readdirSync(recoverDir).sort();
    assert.deepEqual(files, ['spike.recovery.1.txt', 'spike.recovery.2.txt', 'spike.recovery.3.txt']);
    for (const f of files) assert.equal(statSync(join(recoverDir, f)).mode & 0o777, 0o600);
    assert.ok(existsSync(join(dataDir, 'nexus', 'data', 'spike.db')));

    const put = runSpike(dev.exports(), ['secret', 'put', 'apps/keep/db', 'password=-'], 'kept\n');
    assert.equal(put.status, 0, put.stderr);

    const second = run(['--port', '0', '--socket-dir', join(root, 's2'), '--data-dir', dataDir]);
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`in use by another spike-dev \\(pid ${String(dev.child.pid)}\\)`));
    await stop(dev);
    assert.equal(existsSync(join(dataDir, 'spike-dev.pid')), false, 'lock released');
  });

  it('restart: the keepers start empty, the root key is restored from the files, the secret is back', async () => {
    const dev = await start();
    assert.match(dev.stdout(), /root key restored/);
    assert.match(dev.stderr(), /Restoring the root key from the recovery files/);
    const get = runSpike(dev.exports(), ['secret', 'get', 'apps/keep/db', 'password']);
    assert.equal(get.status, 0, get.stderr);
    assert.equal(get.stdout.trim(), 'kept');
    await stop(dev);
  });

  it('one recovery file of the two needed: start-up fails (exit 1), says what is missing, removes its sockets', () => {
    const all = join(root, 'all-files');
    renameSync(recoverDir, all);
    try {
      mkdirSync(recoverDir, { mode: 0o700 });
      copyFileSync(join(all, 'spike.recovery.3.txt'), join(recoverDir, 'spike.recovery.3.txt'));
      const r = run(args);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /still not ready after the 1 recovery file\(s\).*2 are needed/);
      assert.deepEqual(sockets(socketDir), []);
    } finally {
      rmSync(recoverDir, { recursive: true, force: true });
      renameSync(all, recoverDir);
    }
  });

  it('recovery files gone: no new root key over the old data, and the message says what to do', () => {
    rmSync(recoverDir, { recursive: true, force: true });
    const r = run(args);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /holds secrets under a root key, but there are no recovery files/);
    assert.match(r.stderr, /Put the files back, or start over with an empty --data-dir/);
    assert.doesNotMatch(r.stderr, /bootstrap:/, 'the bootstrap did not run');
    assert.deepEqual(sockets(socketDir), []);
  });
});
