import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NEXUS_ROUTE_SPECS } from '@spike-ts/protocol';
import type { RouteDeps } from './deps.ts';
import { createRoutes } from './table.ts';

describe('Nexus route table', () => {
  it('implements every spec of the protocol route table, once, and nothing else', () => {
    // Route factories only close over their dependencies; nothing is called here.
    const routes = createRoutes({} as RouteDeps);
    assert.deepEqual(
      routes.map((r) => r.spec),
      [...NEXUS_ROUTE_SPECS],
    );
    for (const r of routes) {
      assert.equal(r.path, r.spec.path);
      assert.equal(r.action, r.spec.action);
      assert.equal(r.name, r.spec.name);
      assert.equal(r.errorBody, r.spec.errorBody);
      assert.equal(r.allowWhenNotReady === true, r.spec.allowWhenNotReady === true);
      if (r.kind === 'json') assert.deepEqual(r.decode(r.spec.example), r.spec.decode(r.spec.example));
      assert.equal(r.kind === 'raw', r.spec.stream !== undefined, r.name);
    }
  });
});
