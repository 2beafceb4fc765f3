import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  keyValuePairs,
  permissionsArg,
  policyNameArg,
  secretPathArg,
  shown,
  spiffeIdPatternArg,
  versionOption,
  versionsOption,
} from './cli-args.ts';
import { CliError } from './exit-code.ts';

function fails(fn: () => unknown, message: RegExp, exitCode = 1): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.exitCode, exitCode);
    assert.match(err.message, message);
    return true;
  });
}

describe('cli arguments', () => {
  it('normalizes secret paths and names the argument when invalid', () => {
    assert.equal(secretPathArg(' /tenants//demo/db/ '), 'tenants/demo/db');
    fails(() => secretPathArg('a b'), /Invalid secret path 'a b' \(argument <path>\)/);
    fails(() => secretPathArg('a:b'), /argument <path>/);
    fails(() => secretPathArg('/'), /argument <path>/);
    fails(() => secretPathArg('a/../b'), /argument <path>/);
  });

  it('splits key=value on the first =, keeps = in values', () => {
    assert.deepEqual(keyValuePairs(['username=SPIKE', 'password=a=b=', 'empty=']), {
      username: 'SPIKE',
      password: 'a=b=',
      empty: '',
    });
  });

  it('rejects pairs without = by position, never echoing the argument', () => {
    fails(() => keyValuePairs(['a=1', 'hunter2']), /key=value argument #2: expected key=value/);
    try {
      keyValuePairs(['hunter2']);
    } catch (err) {
      assert.ok(!(err as Error).message.includes('hunter2'));
    }
  });

  it('rejects invalid and duplicate keys, and does not echo the value', () => {
    fails(() => keyValuePairs(['bad:key=s3cret']), /Invalid key 'bad:key' in key=value argument #1/);
    fails(() => keyValuePairs(['=x']), /Invalid key '' in key=value argument #1/);
    fails(() => keyValuePairs(['a=1', 'a=2']), /Key 'a' is given more than once/);
    try {
      keyValuePairs(['bad:key=s3cret']);
    } catch (err) {
      assert.ok(!(err as Error).message.includes('s3cret'));
    }
  });

  it('stores a __proto__ key as plain data, without touching the prototype', () => {
    const values = keyValuePairs(['__proto__=x']);
    assert.equal(Object.getPrototypeOf(values), Object.prototype);
    assert.deepEqual(Object.keys(values), ['__proto__']);
    assert.equal(JSON.stringify(values), '{"__proto__":"x"}');
  });

  it('parses version options', () => {
    assert.equal(versionOption(undefined), undefined);
    assert.equal(versionOption('0'), 0);
    assert.equal(versionOption('12'), 12);
    fails(() => versionOption('-1'), /Invalid value '-1' for --version/);
    fails(() => versionOption('1.5'), /--version/);
    fails(() => versionOption('x'), /--version/);
    assert.deepEqual(versionsOption(undefined), []);
    assert.deepEqual(versionsOption('1, 2,3'), [1, 2, 3]);
    fails(() => versionsOption('1,,2'), /Invalid value '' for --versions/);
    fails(() => versionsOption('1,a'), /Invalid value 'a' for --versions/);
  });

  it('validates policy fields with the protocol rules', () => {
    assert.equal(policyNameArg('web-policy', '--name'), 'web-policy');
    fails(() => policyNameArg(undefined, '--name'), /A policy name is required \(--name\)/, 2);
    fails(() => policyNameArg('', '--name'), /A policy name is required \(--name\)/);
    fails(() => policyNameArg('a/b', '--name'), /Invalid policy name 'a\/b' \(--name\)/);
    assert.equal(spiffeIdPatternArg('^spiffe://spike\\.ist/.*$', 'x'), '^spiffe://spike\\.ist/.*$');
    fails(
      () => spiffeIdPatternArg('.*', '--spiffeid-pattern'),
      /Invalid SPIFFE ID pattern '\.\*' \(--spiffeid-pattern\)/,
    );
    assert.deepEqual(permissionsArg('read, write', 'p'), ['read', 'write']);
    assert.deepEqual(permissionsArg(['execute'], 'p'), ['execute']);
    fails(
      () => permissionsArg('read,admin', '--permissions'),
      /Invalid permission 'admin' \(--permissions\)/,
    );
    fails(() => permissionsArg('', '--permissions'), /At least one permission/);
  });

  it('shows user input bounded and escaped', () => {
    assert.equal(shown('a\nb'), 'a\\nb');
    assert.equal(shown('x'.repeat(200)).length, 80);
  });
});
