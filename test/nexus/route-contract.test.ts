/**
 * Walks the route table (`NEXUS_ROUTE_SPECS`) against a real Nexus and proves the contract:
 * every answer to a caller's mistake — malformed JSON, a wrong JSON type or a bad value in any
 * field the spec lists — and every answer while Nexus has no root key carries a code the spec
 * declares, and none of them is a 500 (only `cipher.decrypt` and `bootstrap.verify` declare a
 * deliberate 500, for a ciphertext that does not open, as SPIKE does). Error bodies are the
 * spec's zero-valued body plus the code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorCode,
  NEXUS_ROUTE_SPECS,
  routeTarget,
  type AnyRouteSpec,
  type Schema,
} from '@spike-ts/protocol';
import { ID, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';

/** The caller each route authorizes (so the request reaches decoding, validation and the handler). */
const CALLER: Readonly<Record<string, string>> = {
  'operator.recover': ID.recover,
  'operator.restore': ID.restore,
  'bootstrap.verify': ID.bootstrap,
};
const callerOf = (spec: AnyRouteSpec): string => CALLER[spec.name] ?? ID.superuser;

function wrongTypes(schema: Schema): unknown[] {
  switch (schema.type) {
    case 'string':
      return [123, true, [], {}];
    case 'integer':
      return ['1', 1.5, true, []];
    case 'boolean':
      return ['true', 1];
    case 'array':
      return [{}, 'x', 1];
    case 'map':
    case 'object':
      return [[], 'x', 1];
  }
}

function badValues(schema: Schema): unknown[] {
  switch (schema.type) {
    case 'string':
      return [
        '',
        'bad path!',
        '..',
        'x'.repeat(5000),
        '\u0000',
        schema.format === 'base64' ? '!!!!' : '\ud800',
      ];
    case 'integer':
      return [-1, 2 ** 53, 1e300, 0, 2];
    case 'boolean':
      return [false];
    case 'array':
      return [[], [null], [{}], Array.from({ length: (schema.maxItems ?? 1000) + 1 }, () => 0)];
    case 'map':
      return [{ k: 1 }, { '': 'v' }, { 'bad key!': 'v' }, {}];
    case 'object':
      return [{}];
  }
}

/** Every request a careless or hostile caller might send to `spec`, with a label. */
function mistakes(spec: AnyRouteSpec): [label: string, body: unknown][] {
  const out: [string, unknown][] = [
    ['malformed JSON', '{"'],
    ['a list', '[]'],
    ['a string', '"x"'],
    ['a number', '1'],
    ['deeply nested', '['.repeat(100) + ']'.repeat(100)],
    ['forbidden key', '{"__proto__":{}}'],
  ];
  const example = spec.example as Record<string, unknown>;
  for (const [name, field] of Object.entries(spec.request.fields)) {
    for (const v of [...wrongTypes(field.schema), ...badValues(field.schema), null]) {
      out.push([`${name} = ${JSON.stringify(v)?.slice(0, 40) ?? 'undefined'}`, { ...example, [name]: v }]);
    }
    const rest = { ...example };
    delete rest[name];
    out.push([`without ${name}`, rest]);
  }
  return out;
}

function expectDeclared(spec: AnyRouteSpec, label: string, r: Reply): void {
  if (r.status === 200) return;
  const where = `${spec.name}, ${label}: ${String(r.status)} ${r.text.slice(0, 120)}`;
  const body = r.json();
  const code = body[spec.errorField];
  assert.ok(typeof code === 'string' && (spec.errors as readonly string[]).includes(code), where);
  assert.deepEqual(body, { ...spec.errorBody, [spec.errorField]: code }, where);
  if (r.status === 500) assert.ok(spec.errors.includes(ErrorCode.Internal), where);
}

describe('route contract (memory backend, ready)', () => {
  let pki: Pki;
  let t: TestNexus;
  let send: (spec: AnyRouteSpec, body: unknown) => Promise<Reply>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki);
    const c = client(t, pki);
    send = async (spec, body) => c({ path: routeTarget(spec), body, client: await pki.cert(callerOf(spec)) });
  });
  after(() => t.close());

  it('Nexus implements exactly the table', async () => {
    for (const spec of NEXUS_ROUTE_SPECS) {
      const r = await send(spec, spec.example);
      expectDeclared(spec, 'example', r);
    }
  });

  for (const spec of NEXUS_ROUTE_SPECS) {
    it(`${spec.name}: a caller's mistake is never a 500 and always a declared code`, async () => {
      let rejected = 0;
      for (const [label, body] of mistakes(spec)) {
        const r = await send(spec, body);
        expectDeclared(spec, label, r);
        if (r.status >= 400 && r.status < 500) rejected++;
        if (r.status === 500) assert.equal(spec.errors.includes(ErrorCode.Internal), true);
      }
      assert.ok(rejected > 0, `${spec.name}: no mistake was rejected`);
    });
  }
});

describe('route contract (sqlite backend without a root key)', () => {
  let pki: Pki;
  let t: TestNexus;
  let send: (spec: AnyRouteSpec, body: unknown) => Promise<Reply>;

  before(async () => {
    pki = await createPki();
    t = await startNexus(pki, { backend: 'sqlite', rootKey: null });
    const c = client(t, pki);
    send = async (spec, body) => c({ path: routeTarget(spec), body, client: await pki.cert(callerOf(spec)) });
  });
  after(() => t.close());

  it('no route answers 500 while Nexus is not ready; gated routes answer 503', async () => {
    for (const spec of NEXUS_ROUTE_SPECS) {
      const r = await send(spec, spec.example);
      expectDeclared(spec, 'not ready', r);
      assert.notEqual(r.status, 500, spec.name);
      if (spec.allowWhenNotReady !== true) {
        assert.equal(r.status, 503, spec.name);
        assert.equal(r.json()[spec.errorField], ErrorCode.NotReady, spec.name);
      }
    }
  });
});
