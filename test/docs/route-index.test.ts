import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ROUTE_SPECS, routeTarget } from '@spike-ts/protocol';
import { API_DOC, renderRouteIndex, withRouteIndex } from '../../scripts/route-index.ts';

describe('docs/api.md route index', () => {
  const doc = readFileSync(API_DOC, 'utf8');

  it('is the one the route table generates (run `npm run docs:routes` after changing the table)', () => {
    assert.equal(withRouteIndex(doc), doc);
  });

  it('lists every route of the table once, and documents each in a section', () => {
    const index = renderRouteIndex();
    for (const spec of ROUTE_SPECS) {
      const target = `\`POST ${routeTarget(spec)}\``;
      assert.equal(index.split(target).length - 1, 1, spec.name);
      assert.ok(doc.replace(index, '').includes(`POST ${routeTarget(spec)}`), `no section for ${spec.name}`);
    }
  });
});
