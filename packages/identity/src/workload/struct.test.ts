import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadWorkloadApi } from './proto.ts';
import { jsonToStruct, structToJson } from './struct.ts';
import type { JsonObject } from './struct.ts';

/** Serializes through the real protobuf codec, as the wire would. */
function viaWire(claims: JsonObject): JsonObject {
  const def = loadWorkloadApi().service['ValidateJWTSVID']!;
  const bytes = def.responseSerialize({ spiffe_id: 'spiffe://td/x', claims: jsonToStruct(claims) });
  const decoded = def.responseDeserialize(bytes) as { claims: Parameters<typeof structToJson>[0] };
  return structToJson(decoded.claims);
}

describe('Struct conversion', () => {
  it('round-trips JWT claims through the protobuf wire format', () => {
    const claims: JsonObject = {
      sub: 'spiffe://spike.ist/workload/demo',
      aud: ['a', 'b'],
      exp: 1_900_000_000,
      iat: 1_800_000_000,
      nested: { ok: true, none: null, list: [1, 'x', { y: false }] },
      empty: [],
    };
    assert.deepEqual(viaWire(claims), claims);
  });

  it('does not let a "__proto__" key pollute objects', () => {
    const claims = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as JsonObject;
    const out = viaWire(claims);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.deepEqual(Object.keys(out).sort(), ['__proto__', 'a']);
  });

  it('refuses absurd nesting', () => {
    let deep: JsonObject = {};
    for (let i = 0; i < 100; i++) deep = { d: deep };
    assert.throws(() => jsonToStruct(deep), /too deep/);
  });

  it('round-trips arbitrary JSON objects', () => {
    const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json), (obj) => {
        const normalized = JSON.parse(JSON.stringify(obj)) as JsonObject;
        assert.deepEqual(viaWire(normalized), normalized);
      }),
      { numRuns: 50 },
    );
  });
});
