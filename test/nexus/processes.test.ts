/**
 * The test launcher gives a child without a HOME a private one, removed once it exited, so
 * nothing a process writes under `~` is shared with other runs or users; a HOME passed in is kept.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, launch } from './processes.ts';

describe('launch()', () => {
  let dir: string;
  let script: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'spike-launch-'));
    script = join(dir, 'home.js');
    // Prints its HOME and whether it exists and is private, then writes a file there.
    writeFileSync(
      script,
      "const fs = require('node:fs'); const h = process.env.HOME;" +
        "fs.writeFileSync(h + '/written', 'x');" +
        'console.log(JSON.stringify({ home: h, mode: fs.statSync(h).mode & 0o777 }));',
    );
  });
  after(async () => {
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (env: Record<string, string>): Promise<{ home: string; mode: number }> => {
    const child = launch(script, env);
    assert.equal(await child.exited, 0, child.output());
    return JSON.parse(child.output()) as { home: string; mode: number };
  };

  it('gives each child without a HOME a private one of its own and removes it afterwards', async () => {
    const a = await run({});
    const b = await run({});
    assert.notEqual(a.home, b.home);
    for (const r of [a, b]) {
      assert.notEqual(r.home, '/tmp');
      assert.equal(r.mode, 0o700);
    }
    // Removed once the child has exited and its streams closed.
    for (let i = 0; i < 100 && (existsSync(a.home) || existsSync(b.home)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(existsSync(a.home), false);
    assert.equal(existsSync(b.home), false);
  });

  it('keeps a HOME the caller passes', async () => {
    const home = join(dir, 'home');
    mkdirSync(home, { mode: 0o700 });
    const r = await run({ HOME: home });
    assert.equal(r.home, home);
    assert.ok(statSync(join(home, 'written')).isFile());
  });
});
