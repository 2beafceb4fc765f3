import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadRequestError, DEFAULT_JSON_MAX_DEPTH, parseJsonBody } from './json.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function rejects(input: Uint8Array | string, detailPart: string): BadRequestError {
  let caught: unknown;
  try {
    parseJsonBody(input);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof BadRequestError, 'expected a BadRequestError');
  assert.equal(caught.code, 'api_bad_request');
  assert.match(caught.detail, new RegExp(detailPart));
  return caught;
}

describe('parseJsonBody', () => {
  it('parses bytes and strings into plain data', () => {
    const body = '{"path":"a/b","values":{"k":"v"},"versions":[1,2],"x":null,"y":true}';
    const expected = { path: 'a/b', values: { k: 'v' }, versions: [1, 2], x: null, y: true };
    assert.deepEqual(parseJsonBody(enc(body)), expected);
    assert.deepEqual(parseJsonBody(body), expected);
    const parsed = parseJsonBody(body) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  });

  it('accepts surrounding JSON whitespace and top-level scalars', () => {
    assert.deepEqual(parseJsonBody(' \r\n\t{} \n'), {});
    assert.equal(parseJsonBody('null'), null);
    assert.equal(parseJsonBody('12'), 12);
  });

  it('rejects invalid UTF-8', () => {
    rejects(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'UTF-8');
    // overlong encoding of "/"
    rejects(new Uint8Array([0x22, 0xc0, 0xaf, 0x22]), 'UTF-8');
    // a lone surrogate encoded as UTF-8 (CESU style)
    rejects(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]), 'UTF-8');
  });

  it('rejects a byte order mark like Go does', () => {
    rejects(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 'malformed');
  });

  it('rejects empty and malformed bodies without echoing their content', () => {
    rejects('', 'malformed');
    rejects('   ', 'malformed');
    const err = rejects('{"password":"hunter2-SECRET" oops}', 'malformed');
    assert.ok(!err.message.includes('hunter2'));
    assert.ok(!err.detail.includes('hunter2'));
    rejects("{'a':1}", 'malformed');
    rejects('{"a":1,}', 'malformed');
    rejects('[1,2', 'malformed');
  });

  /** Every member of `Object.prototype` and its descriptor, to prove nothing was added or replaced. */
  const prototypeSnapshot = (): unknown[] =>
    Reflect.ownKeys(Object.prototype).map((k) => [k, Object.getOwnPropertyDescriptor(Object.prototype, k)]);
  const pristine = prototypeSnapshot();

  for (const key of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']) {
    it(`keeps the key ${key} as plain data at any depth, without touching a prototype`, () => {
      const top = parseJsonBody(`{"${key}":{"polluted":true},"b":1}`) as Record<string, unknown>;
      assert.deepEqual(Object.keys(top), [key, 'b']);
      assert.ok(Object.hasOwn(top, key));
      assert.equal(Object.getPrototypeOf(top), Object.prototype);
      assert.deepEqual(Object.getOwnPropertyDescriptor(top, key)?.value, { polluted: true });
      assert.equal(top['polluted'], undefined);

      const nested = parseJsonBody(`{"values":{"${key}":"x","k":"v"}}`) as {
        values: Record<string, unknown>;
      };
      assert.deepEqual(Object.entries(nested.values), [
        [key, 'x'],
        ['k', 'v'],
      ]);
      assert.equal(Object.getPrototypeOf(nested.values), Object.prototype);
      assert.equal(JSON.stringify(nested), `{"values":{"${key}":"x","k":"v"}}`);

      const inArray = parseJsonBody(`[1,{"a":[{"${key}":{"polluted":1}}]}]`);
      assert.equal(JSON.stringify(inArray), `[1,{"a":[{"${key}":{"polluted":1}}]}]`);

      // A key with a lone surrogate is repaired through the same path.
      const repaired = parseJsonBody(`{"${key}\\ud800":"y"}`) as Record<string, unknown>;
      assert.deepEqual(Object.keys(repaired), [`${key}\ufffd`]);

      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
      assert.deepEqual(prototypeSnapshot(), pristine);
    });
  }

  it('allows those words as values and in longer keys', () => {
    assert.deepEqual(parseJsonBody('{"a":"__proto__","my_constructor":1,"prototypes":2}'), {
      a: '__proto__',
      my_constructor: 1,
      prototypes: 2,
    });
  });

  it('limits nesting depth, counting only brackets outside strings', () => {
    const ok = '['.repeat(DEFAULT_JSON_MAX_DEPTH) + ']'.repeat(DEFAULT_JSON_MAX_DEPTH);
    assert.ok(Array.isArray(parseJsonBody(ok)));
    const tooDeep = '['.repeat(DEFAULT_JSON_MAX_DEPTH + 1) + ']'.repeat(DEFAULT_JSON_MAX_DEPTH + 1);
    rejects(tooDeep, 'nested deeper');
    rejects('{"a":'.repeat(100) + '1' + '}'.repeat(100), 'nested deeper');
    // brackets and escaped quotes inside strings do not count
    const s = `{"v":"${'[{'.repeat(200)}\\"${'[{'.repeat(200)}"}`;
    assert.equal((parseJsonBody(s) as { v: string }).v.length, 801);
    // a huge, deep input is rejected before JSON.parse builds it
    rejects('['.repeat(1_000_000), 'nested deeper');
    assert.ok(Array.isArray(parseJsonBody('[[[]]]', { maxDepth: 3 })));
    assert.throws(() => parseJsonBody('[[[[]]]]', { maxDepth: 3 }), BadRequestError);
  });

  it('replaces lone surrogates with U+FFFD in values and keys, like Go', () => {
    assert.deepEqual(parseJsonBody('{"k":"a\\ud800b"}'), { k: 'a\ufffdb' });
    assert.deepEqual(parseJsonBody('{"\\udc00":"x"}'), { '\ufffd': 'x' });
    assert.deepEqual(parseJsonBody('["\\ud83d\\ude00"]'), ['\u{1f600}']);
    // the last duplicate wins, also when a repaired key collides with a later one
    assert.deepEqual(parseJsonBody('{"\\ud800":"first","\ufffd":"second"}'), { '\ufffd': 'second' });
  });

  it('keeps the last of duplicate keys (as Go does)', () => {
    assert.deepEqual(parseJsonBody('{"a":1,"a":2}'), { a: 2 });
  });
});
