/**
 * The SDK supports Node.js 22: the unit tests of the SDK and of every package it depends on
 * (identity, protocol, settings) pass under Node 22, run from the sources by Node 22's own type
 * stripping. The consumer test (consumer.test.ts) runs the compiled packages on Node 22 for a few
 * calls; this suite covers the rest of their code for APIs that only Node 24 has.
 *
 * The CLI's unit tests are not run here: its help-probe tests leave nothing but an unreferenced
 * timer pending, which Node 22's test runner treats as a finished event loop. The installed CLI
 * runs on Node 22 in the consumer test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { missingBinaries, toolBinDir } from '../../scripts/tools/registry.ts';
import { NODE22 } from '../../scripts/tools/node22.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SUITES = [
  'packages/sdk/src/*.test.ts',
  'packages/identity/src/**/*.test.ts',
  'packages/protocol/src/*.test.ts',
  'packages/settings/src/*.test.ts',
];

describe('the SDK and its dependencies under Node 22', () => {
  it('pass their unit tests', async () => {
    const dir = toolBinDir(NODE22);
    assert.deepEqual(
      missingBinaries(NODE22, dir),
      [],
      `Node.js ${NODE22.version} is not in the tools cache (${dir}): run \`npm run tools:install -- node22\``,
    );
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_V8_COVERAGE;
    delete env.NODE_OPTIONS;
    delete env.NODE_TEST_CONTEXT; // set by the outer test runner; the child must report on its own
    const child = spawn(
      join(dir, 'node'),
      ['--test', '--experimental-test-isolation=none', '--test-reporter=tap', ...SUITES],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const count = (name: string): number =>
      Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(out)?.[1] ?? NaN);
    const failing = out
      .split('\n')
      .filter((l) => /^\s*not ok /.test(l))
      .join('\n');
    assert.equal(code, 0, `Node 22 test run exited ${String(code)}:\n${failing}\n${out.slice(-3000)}`);
    assert.ok(count('pass') > 100, `expected the suites to run (pass: ${String(count('pass'))})`);
    assert.equal(count('fail'), 0);
    assert.equal(count('cancelled'), 0);
    assert.match(out, /^# Subtest: /m);
  });
});
