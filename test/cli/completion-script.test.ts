/**
 * The generated shell completion scripts, run by a real bash (child process).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { buildProgram, completionScript } from '@spike-ts/cli';
import type { CliIo } from '@spike-ts/cli';

const io: CliIo = {
  env: {},
  stdout: { write: () => true },
  stderr: { write: () => true },
  stdin: (async function* () {})(),
  openSource: () => Promise.reject(new Error('unused')),
  openClient: () => Promise.reject(new Error('unused')),
};

/** Run the generated bash completion for a command line; returns the candidates. */
function bashComplete(script: string, words: string[]): string[] {
  const program = [
    script,
    `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    '_spike_completion',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  return execFileSync('bash', ['-c', program], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l !== '');
}

describe('completion scripts', () => {
  const program = buildProgram(io);

  it('bash: completes commands at every level and options of leaf commands', () => {
    const script = completionScript(program, 'bash');
    assert.deepEqual(
      bashComplete(script, ['spike', ''])
        .filter((w) => !w.startsWith('-'))
        .sort(),
      [
        'approve',
        'audit',
        'cipher',
        'completion',
        'deny',
        'export',
        'key',
        'login',
        'logout',
        'operator',
        'policy',
        'request',
        'requests',
        'run',
        'secret',
        'sign',
        'status',
        'verify',
        'version',
        'whoami',
      ],
    );
    assert.deepEqual(bashComplete(script, ['spike', 'key', 'r']).sort(), ['retire', 'rotate']);
    assert.deepEqual(bashComplete(script, ['spike', 'sec']), ['secret']);
    assert.deepEqual(
      bashComplete(script, ['spike', 'secret', ''])
        .filter((w) => !w.startsWith('-'))
        .sort(),
      ['delete', 'get', 'list', 'metadata', 'put', 'undelete'],
    );
    assert.deepEqual(bashComplete(script, ['spike', 'secret', 'metadata', 'g']), ['get']);
    assert.deepEqual(bashComplete(script, ['spike', 'secret', 'get', 'a/b', '--f']), ['--format']);
    assert.deepEqual(bashComplete(script, ['spike', 'policy', 'delete', '--y']), ['--yes']);
    assert.deepEqual(bashComplete(script, ['spike', 'operator', 're']).sort(), ['recover', 'restore']);
    assert.deepEqual(
      bashComplete(script, ['spike', 'request', ''])
        .filter((w) => !w.startsWith('-'))
        .sort(),
      ['decrypt', 'policy', 'read', 'sign', 'write'],
    );
    assert.deepEqual(bashComplete(script, ['spike', 'request', 'read', 'a/b', '--r']), ['--reason']);
  });

  it('bash script is valid bash syntax', () => {
    execFileSync('bash', ['-n'], { input: completionScript(program, 'bash') });
  });

  it('zsh and fish scripts name every command and option', () => {
    const zsh = completionScript(program, 'zsh');
    const fish = completionScript(program, 'fish');
    assert.match(zsh, /^#compdef spike/);
    assert.match(zsh, /compdef _spike spike/);
    for (const word of [
      'secret',
      'policy',
      'cipher',
      'operator',
      'metadata',
      'undelete',
      'recover',
      'restore',
    ]) {
      assert.ok(zsh.includes(`'${word}:`), `zsh lacks ${word}`);
      assert.ok(fish.includes(`-a '${word}'`), `fish lacks ${word}`);
    }
    assert.ok(zsh.includes("'--spiffeid-pattern:"));
    assert.ok(fish.includes('-l spiffeid-pattern -r'));
    assert.ok(fish.includes("-n '__spike_at \\'secret metadata\\'' -a 'get'"));
  });
});
