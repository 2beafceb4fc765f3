import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoveryDir, writeRecoveryFiles } from './recovery-files.ts';
import { CliError } from './exit-code.ts';

const shards = [1, 2, 3].map((id) => ({ id, shard: new Uint8Array(32).fill(id * 17) }));

describe('recovery files', async () => {
  const base = await mkdtemp(join(tmpdir(), 'spx-rec-'));
  after(() => rm(base, { recursive: true, force: true }));

  it('picks $SPIKE_PILOT_RECOVERY_DIR/recover, else ~/.spike/recover', () => {
    assert.equal(recoveryDir({ SPIKE_PILOT_RECOVERY_DIR: '/x/y' }, '/home/u'), '/x/y/recover');
    assert.equal(recoveryDir({}, '/home/u'), '/home/u/.spike/recover');
    assert.equal(recoveryDir({ SPIKE_PILOT_RECOVERY_DIR: ' ' }, '/home/u'), '/home/u/.spike/recover');
  });

  it('writes one 0600 file per share in a new 0700 directory, content without newline', async () => {
    const dir = join(base, 'a', 'recover');
    const files = await writeRecoveryFiles(dir, shards);
    assert.deepEqual(
      files,
      [1, 2, 3].map((i) => join(dir, `spike.recovery.${i}.txt`)),
    );
    assert.equal((await lstat(dir)).mode & 0o777, 0o700);
    for (const { id, shard } of shards) {
      const file = join(dir, `spike.recovery.${id}.txt`);
      assert.equal((await lstat(file)).mode & 0o777, 0o600);
      assert.equal(await readFile(file, 'utf8'), `spike:${id}:${Buffer.from(shard).toString('hex')}`);
    }
  });

  it('removes older recovery files first', async () => {
    const dir = join(base, 'b');
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, 'spike.recovery.9.txt'), 'old', { mode: 0o600 });
    await writeFile(join(dir, 'keep.txt'), 'x');
    await writeRecoveryFiles(dir, shards.slice(0, 2));
    assert.deepEqual((await readdir(dir)).sort(), [
      'keep.txt',
      'spike.recovery.1.txt',
      'spike.recovery.2.txt',
    ]);
  });

  it('refuses a directory other users can read, and leaves it untouched', async () => {
    const dir = join(base, 'c');
    await mkdir(dir);
    await chmod(dir, 0o755);
    await assert.rejects(writeRecoveryFiles(dir, shards), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.match(err.message, /mode 0755.*chmod 700/);
      return true;
    });
    assert.deepEqual(await readdir(dir), []);
  });

  it('refuses a symlinked directory', async () => {
    const real = join(base, 'real');
    await mkdir(real, { mode: 0o700 });
    const link = join(base, 'link');
    await symlink(real, link);
    await assert.rejects(writeRecoveryFiles(link, shards), /symbolic link/);
    assert.deepEqual(await readdir(real), []);
  });

  it('refuses a path that is a file', async () => {
    const file = join(base, 'file');
    await writeFile(file, 'x');
    await assert.rejects(writeRecoveryFiles(file, shards), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.match(err.message, /(Cannot create the recovery directory|not a directory)/);
      return true;
    });
  });
});
