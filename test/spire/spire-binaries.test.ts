/**
 * The SPIRE suite needs `spire-server` and `spire-agent` from `npm run tools:install`. Without
 * them it fails (never skips) with a message that says what to run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './child-process.ts';
import {
  defaultSpireBinDir,
  requireSpireBinaries,
  SPIRE_VERSION,
  SpireBinariesMissingError,
} from './spire-binaries.ts';

describe('SPIRE binaries for the SPIRE suite', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp('/tmp/spx-');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are installed by npm run tools:install, at the pinned version', async () => {
    const bins = requireSpireBinaries();
    assert.equal(bins.server, join(defaultSpireBinDir(), 'spire-server'));
    for (const bin of [bins.server, bins.agent]) {
      const r = await run(bin, ['--version'], { name: bin, env: {} });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout + r.stderr, new RegExp(`^${SPIRE_VERSION.slice(1).replaceAll('.', '\\.')}`));
    }
  });

  it('missing binaries fail with a message that says to run npm run tools:install', () => {
    assert.throws(
      () => requireSpireBinaries(dir),
      (err: unknown) => {
        assert.ok(err instanceof SpireBinariesMissingError);
        assert.deepEqual(err.missing, ['spire-server', 'spire-agent']);
        assert.match(err.message, /SPIRE v1\.15\.3 is not installed/);
        assert.match(err.message, /Run `npm run tools:install`/);
        return true;
      },
    );
  });

  it('a binary that is present but not executable counts as missing', async () => {
    await writeFile(join(dir, 'spire-server'), '#!/bin/sh\n');
    await chmod(join(dir, 'spire-server'), 0o755);
    await writeFile(join(dir, 'spire-agent'), '#!/bin/sh\n');
    await chmod(join(dir, 'spire-agent'), 0o644);
    assert.throws(
      () => requireSpireBinaries(dir),
      (err: unknown) => {
        assert.ok(err instanceof SpireBinariesMissingError);
        assert.deepEqual(err.missing, ['spire-agent']);
        return true;
      },
    );
  });
});
