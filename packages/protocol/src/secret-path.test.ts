import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BadRequestError } from './json.ts';
import { normalizeSecretPath } from './secret-path.ts';
import { isValidSecretPath } from './validate.ts';

function rejects(input: string, detailPart: RegExp): void {
  assert.throws(
    () => normalizeSecretPath(input),
    (err: unknown) => err instanceof BadRequestError && detailPart.test(err.detail),
    JSON.stringify(input),
  );
}

describe('normalizeSecretPath', () => {
  it('trims whitespace, collapses slashes and strips one leading and trailing slash', () => {
    const cases: [string, string][] = [
      ['tenants/demo/db', 'tenants/demo/db'],
      ['  /tenants//demo/db/ ', 'tenants/demo/db'],
      ['\t/a\n', 'a'],
      ['//a///b//', 'a/b'],
      ['a/b/', 'a/b'],
      ['/a', 'a'],
      ['a.b/c..d/.e', 'a.b/c..d/.e'],
      ['secrets/(x|y)/[0-9]{2}', 'secrets/(x|y)/[0-9]{2}'],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeSecretPath(input), expected, input);
  });

  it('rejects empty results and dot segments', () => {
    for (const input of ['', '   ', '/', '///', ' / ']) rejects(input, /empty/);
    for (const input of ['.', '..', 'a/./b', 'a/../b', '../a', 'a/..', '/./'])
      rejects(input, /"\." and "\.\."/);
  });

  it('applies the server rule to the result', () => {
    rejects('a b', /^path:/);
    rejects('a:b', /^path:/);
    rejects('a^b', /^path:/);
    rejects('x'.repeat(501), /^path:/);
    assert.equal(normalizeSecretPath(`/${'x'.repeat(500)}/`), 'x'.repeat(500));
  });

  it('is idempotent and always yields a server-valid path', () => {
    const chars = fc.constantFrom(...'ab./ _-'.split(''));
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 20 }), (arr) => {
        let out: string;
        try {
          out = normalizeSecretPath(arr.join(''));
        } catch (err) {
          assert.ok(err instanceof BadRequestError);
          return;
        }
        assert.ok(isValidSecretPath(out));
        assert.ok(!out.startsWith('/') && !out.endsWith('/') && !out.includes('//'));
        assert.equal(normalizeSecretPath(out), out);
      }),
      { numRuns: 1000 },
    );
  });
});
