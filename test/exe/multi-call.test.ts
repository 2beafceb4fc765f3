/**
 * The multi-call entry of the self-contained executable: which component runs, with which
 * arguments, for the name the executable was started under and its first argument.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveInvocation, usage, type Component, type Invocation } from '../../scripts/exe/multi-call.ts';

const load = (): Promise<unknown> => Promise.resolve();
const components: Component[] = [
  { name: 'spike', summary: 'the CLI', load },
  { name: 'spike-nexus', summary: 'the server', load },
  { name: 'spike-keeper', summary: 'a keeper', load },
];

function ran(inv: Invocation): [string, readonly string[]] {
  assert.equal(inv.kind, 'run');
  return inv.kind === 'run' ? [inv.component.name, inv.args] : ['', []];
}

describe('multi-call dispatch', () => {
  it('runs the component named like the link it was started through, with every argument', () => {
    assert.deepEqual(ran(resolveInvocation('spike', ['secret', 'get', 'a'], components, '1.0.0')), [
      'spike',
      ['secret', 'get', 'a'],
    ]);
    assert.deepEqual(ran(resolveInvocation('/usr/local/bin/spike-nexus', [], components, '1')), [
      'spike-nexus',
      [],
    ]);
    // A link's own --version/--help belong to the component, not to spike-ts.
    assert.deepEqual(ran(resolveInvocation('./spike-keeper', ['--version'], components, '1')), [
      'spike-keeper',
      ['--version'],
    ]);
  });

  it('as spike-ts (or any other name) the first argument names the component, with or without spike-', () => {
    assert.deepEqual(ran(resolveInvocation('/opt/spike-ts', ['nexus', '--help'], components, '1')), [
      'spike-nexus',
      ['--help'],
    ]);
    assert.deepEqual(ran(resolveInvocation('spike-ts', ['spike-keeper'], components, '1')), [
      'spike-keeper',
      [],
    ]);
    assert.deepEqual(ran(resolveInvocation('renamed', ['spike', 'version'], components, '1')), [
      'spike',
      ['version'],
    ]);
    assert.deepEqual(ran(resolveInvocation('spike-ts', ['pilot', 'x'], components, '1')), ['spike', ['x']]);
  });

  it('prints its usage, its version, or an error for an unknown command (exit 2)', () => {
    const help = resolveInvocation('spike-ts', ['--help'], components, '1.2.3');
    assert.deepEqual(help, {
      kind: 'print',
      stream: 'stdout',
      text: usage(components, '1.2.3'),
      exitCode: 0,
    });
    for (const c of components) assert.ok(usage(components, '1.2.3').includes(`  ${c.name}`));
    assert.deepEqual(resolveInvocation('spike-ts', ['--version'], components, '1.2.3'), {
      kind: 'print',
      stream: 'stdout',
      text: 'spike-ts 1.2.3\n',
      exitCode: 0,
    });
    const none = resolveInvocation('spike-ts', [], components, '1');
    assert.equal(none.kind === 'print' && none.exitCode, 2);
    for (const bad of ['nexsu', 'spike-', '', 'spike-spike', '../spike', '__proto__', 'constructor']) {
      const inv = resolveInvocation('spike-ts', [bad, 'x'], components, '1');
      assert.equal(inv.kind, 'print', bad);
      assert.equal(inv.kind === 'print' && inv.exitCode, 2, bad);
      assert.equal(inv.kind === 'print' && inv.stream, 'stderr', bad);
    }
  });

  it('matches names exactly: no prefix, suffix or case folding', () => {
    for (const argv0 of ['SPIKE', 'spike-nexus.bak', 'xspike', 'spike-nexus ']) {
      const inv = resolveInvocation(argv0, ['spike-keeper'], components, '1');
      assert.deepEqual(ran(inv), ['spike-keeper', []], argv0);
    }
  });
});
