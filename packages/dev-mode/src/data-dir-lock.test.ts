import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirInUseError, LOCK_FILE, lockDataDir } from './data-dir-lock.ts';

describe('lockDataDir', () => {
  const root = mkdtempSync(join(tmpdir(), 'sdl-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates the directory 0700, writes our pid 0600, and release removes it', () => {
    const dir = join(root, 'a', 'data');
    const release = lockDataDir(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, LOCK_FILE)).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), `${String(process.pid)}\n`);
    release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  it('refuses while a live process holds it, naming the pid', () => {
    const dir = join(root, 'b');
    lockDataDir(dir);
    // Our parent (the test runner) is alive; it stands for another spike-dev.
    writeFileSync(join(dir, LOCK_FILE), `${String(process.ppid)}\n`);
    assert.throws(
      () => lockDataDir(dir),
      (err: unknown) => {
        assert.ok(err instanceof DataDirInUseError);
        assert.match(
          err.message,
          new RegExp(`in use by another spike-dev \\(pid ${String(process.ppid)}\\)`),
        );
        return true;
      },
    );
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), `${String(process.ppid)}\n`, 'left alone');
  });

  it('takes over a lock left by a process that is gone, or an unreadable one', () => {
    for (const stale of ['2147483646\n', 'garbage', '']) {
      const dir = mkdtempSync(join(root, 'c-'));
      writeFileSync(join(dir, LOCK_FILE), stale);
      const release = lockDataDir(dir);
      assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), `${String(process.pid)}\n`);
      release();
    }
  });

  it('release leaves a lock that is no longer ours', () => {
    const dir = join(root, 'd');
    const release = lockDataDir(dir);
    writeFileSync(join(dir, LOCK_FILE), '1\n');
    release();
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), '1\n');
  });
});
