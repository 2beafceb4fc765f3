import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, ErrorCode } from './error-code.ts';
import {
  isReplaySafe,
  KEEPER_ROUTE_SPECS,
  NEXUS_ROUTE_SPECS,
  ROUTE_SPECS,
  routeTarget,
} from './route-table.ts';
import { schemaMismatch, type Schema } from './schema.ts';

describe('route table', () => {
  it('names and targets are unique per server', () => {
    assert.equal(new Set(ROUTE_SPECS.map((s) => s.name)).size, ROUTE_SPECS.length);
    for (const specs of [NEXUS_ROUTE_SPECS, KEEPER_ROUTE_SPECS]) {
      assert.equal(new Set(specs.map(routeTarget)).size, specs.length);
    }
  });

  it('every example decodes and conforms to its request schema', () => {
    for (const spec of ROUTE_SPECS) {
      assert.equal(schemaMismatch(spec.request, spec.example), undefined, spec.name);
      assert.doesNotThrow(() => spec.decode(JSON.parse(JSON.stringify(spec.example))), spec.name);
    }
  });

  it('every error body is the response with zero values, and conforms to the response schema', () => {
    for (const spec of ROUTE_SPECS) {
      // An additive route of ours may answer the code alone; SPIKE's routes never do.
      if (spec.origin === 'ours' && Object.keys(spec.errorBody).length === 0) continue;
      assert.equal(schemaMismatch(spec.response, spec.errorBody), undefined, spec.name);
      for (const [name, field] of Object.entries(spec.response.fields)) {
        if (field.optional === true) continue;
        assert.ok(Object.hasOwn(spec.errorBody, name), `${spec.name}: error body lacks ${name}`);
      }
    }
  });

  it('lists the gate errors of each route; 500 only where SPIKE answers it on purpose', () => {
    for (const spec of ROUTE_SPECS) {
      for (const code of [ErrorCode.BadRequest, ErrorCode.Unauthorized, ErrorCode.BodyTooLarge]) {
        assert.ok(spec.errors.includes(code), `${spec.name} lacks ${code}`);
      }
      for (const code of spec.errors) assert.ok(Object.hasOwn(ERROR_CODES, code), `${spec.name}: ${code}`);
      assert.equal(new Set(spec.errors).size, spec.errors.length, `${spec.name}: duplicate codes`);
      const internal = spec.errors.includes(ErrorCode.Internal);
      assert.equal(internal, ['cipher.decrypt', 'bootstrap.verify'].includes(spec.name), spec.name);
    }
    for (const spec of NEXUS_ROUTE_SPECS) {
      // The per-caller limits of the API listener answer 429 before any route is chosen.
      assert.ok(spec.errors.includes(ErrorCode.RateLimited), `${spec.name} lacks api_rate_limited`);
    }
    for (const spec of KEEPER_ROUTE_SPECS) {
      // Keepers have no per-caller request limits.
      assert.ok(!spec.errors.includes(ErrorCode.RateLimited), `${spec.name} lists api_rate_limited`);
    }
    for (const spec of NEXUS_ROUTE_SPECS) {
      // Behind the not-ready gate unless exempt; recover is exempt but still needs the root key.
      if (spec.allowWhenNotReady !== true) assert.ok(spec.errors.includes(ErrorCode.NotReady), spec.name);
    }
  });

  it('says for every route what it does to the state; only writes may end in api_outcome_unknown', () => {
    const byEffect = (effect: string) =>
      ROUTE_SPECS.filter((s) => s.effect === effect)
        .map((s) => s.name)
        .sort();
    assert.deepEqual(byEffect('write'), [
      'approval.approve',
      'approval.cancel',
      'approval.deny',
      'approval.request',
      'key.create',
      'key.retire',
      'key.rotate',
      'operator.damaged.delete',
      'policy.delete',
      'policy.upsert',
      'secret.delete',
      'secret.put',
      'secret.undelete',
    ]);
    assert.deepEqual(byEffect('custody'), [
      'keeper.contribute',
      'operator.recover',
      'operator.restore',
      'operator.rootKey.rotate',
    ]);
    for (const spec of ROUTE_SPECS) {
      assert.ok(['read', 'write', 'custody'].includes(spec.effect), spec.name);
      assert.equal(isReplaySafe(spec), spec.effect === 'read', spec.name);
      assert.equal(spec.errors.includes(ErrorCode.OutcomeUnknown), spec.effect === 'write', spec.name);
    }
  });

  it('every route is a POST; keeper routes take no action', () => {
    for (const spec of ROUTE_SPECS) assert.equal(spec.method, 'POST');
    for (const spec of KEEPER_ROUTE_SPECS) assert.equal(spec.action, '');
  });

  it('the schema check finds what a body lacks or gets wrong', () => {
    const schema: Schema = {
      type: 'object',
      fields: {
        a: { schema: { type: 'string' } },
        b: { schema: { type: 'integer', minimum: 0 }, optional: true },
        c: { schema: { type: 'array', items: { type: 'boolean' } }, nullable: true },
        d: { schema: { type: 'map', values: { type: 'string', enum: ['x'] } }, optional: true },
        e: { schema: { type: 'string', minLength: 2, maxLength: 3 }, optional: true },
      },
    };
    assert.equal(schemaMismatch(schema, { a: '', c: null }), undefined);
    assert.equal(schemaMismatch(schema, { a: '', c: [true], d: { k: 'x' }, extra: 1 }), undefined);
    assert.equal(schemaMismatch(schema, { c: null }), 'body.a: missing');
    assert.equal(schemaMismatch(schema, { a: null, c: null }), 'body.a: must not be null');
    assert.equal(schemaMismatch(schema, { a: '', b: -1, c: null }), 'body.b: below 0');
    assert.equal(schemaMismatch(schema, { a: '', b: 1.5, c: null }), 'body.b: must be an integer');
    assert.equal(schemaMismatch(schema, { a: '', c: [1] }), 'body.c[0]: must be a boolean');
    assert.equal(schemaMismatch(schema, { a: '', c: null, d: { k: 'y' } }), 'body.d.k: not an allowed value');
    assert.equal(schemaMismatch(schema, { a: '', c: null, e: 'abc' }), undefined);
    assert.equal(schemaMismatch(schema, { a: '', c: null, e: 'a' }), 'body.e: too short');
    assert.equal(schemaMismatch(schema, { a: '', c: null, e: 'abcd' }), 'body.e: too long');
    assert.equal(schemaMismatch(schema, []), 'body: must be an object');
  });
});
