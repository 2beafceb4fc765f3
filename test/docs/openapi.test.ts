/**
 * docs/openapi.yaml: it is the document the route table generates (scripts/openapi.ts), it
 * describes every route of the table exactly once, and the Redocly CLI lints it clean with the
 * ruleset in docs/redocly.yaml (and fails a document that breaks the rules, so the lint is real).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROUTE_SPECS, routeTarget, type Action } from '@spike-ts/protocol';
import { OPENAPI_DOC, buildOpenApi, renderOpenApi } from '../../scripts/openapi.ts';
import { missingBinaries, toolBinDir } from '../../scripts/tools/registry.ts';
import { REDOCLY } from '../../scripts/tools/redocly.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RULESET = join(ROOT, 'docs', 'redocly.yaml');

interface Operation {
  operationId: string;
  parameters?: { name: string; in: string; required: boolean; schema: { enum: string[] } }[];
  'x-spike-actions': { action: Action; route: string; errors: string[] }[];
}
interface Doc {
  openapi: string;
  paths: Record<string, { post: Operation; servers?: { url: string }[] }>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string }> };
  security: Record<string, unknown>[];
}

describe('docs/openapi.yaml', () => {
  it('is the one the route table generates (run `npm run docs:openapi` after changing the table)', async () => {
    assert.equal(await readFile(OPENAPI_DOC, 'utf8'), renderOpenApi());
  });

  it('describes every route of the table once: its path, its action and its error codes', async () => {
    const doc = parse(await readFile(OPENAPI_DOC, 'utf8')) as Doc;
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc.security, [{ mutualTLS: [] }]);
    assert.equal(doc.components.securitySchemes.mutualTLS?.type, 'mutualTLS');
    const seen = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      const op = item.post;
      const actionParam = op.parameters?.find((p) => p.name === 'action' && p.in === 'query');
      for (const entry of op['x-spike-actions']) {
        const spec = ROUTE_SPECS.find((s) => s.name === entry.route);
        assert.ok(spec !== undefined, `${entry.route} is not in the route table`);
        const target = routeTarget(spec);
        assert.equal(routeTarget({ path, action: entry.action }), target);
        assert.ok(!seen.has(target), `${target} described twice`);
        seen.add(target);
        assert.deepEqual(entry.errors, [...spec.errors], spec.name);
        if (entry.action === '') assert.ok(actionParam === undefined || !actionParam.required, spec.name);
        else assert.ok(actionParam?.schema.enum.includes(entry.action), `${spec.name}: action not offered`);
        assert.equal(item.servers === undefined, spec.server === 'nexus', `${spec.name}: server`);
      }
      // The action parameter offers nothing the table lacks.
      for (const action of actionParam?.schema.enum ?? []) {
        assert.ok(seen.has(`${path}?action=${action}`), `${path}?action=${action} is not a route`);
      }
    }
    assert.deepEqual([...seen].sort(), ROUTE_SPECS.map(routeTarget).sort());
  });

  it('names one request and one response schema per route', () => {
    const doc = buildOpenApi() as unknown as Doc;
    const names = Object.keys(doc.components.schemas);
    for (const spec of ROUTE_SPECS) {
      const base = spec.name
        .split('.')
        .map((p) => p[0]!.toUpperCase() + p.slice(1))
        .join('');
      assert.ok(names.includes(`${base}Request`), spec.name);
      assert.ok(names.includes(`${base}Response`), spec.name);
    }
  });
});

describe('docs/openapi.yaml lint (Redocly CLI, docs/redocly.yaml)', () => {
  const bin = join(toolBinDir(REDOCLY), 'redocly');
  let dir = '';
  before(async () => {
    const missing = missingBinaries(REDOCLY, toolBinDir(REDOCLY));
    assert.deepEqual(
      missing,
      [],
      `${REDOCLY.name} ${REDOCLY.version} is missing: run \`npm run tools:install\``,
    );
    dir = await mkdtemp(join(tmpdir(), 'spike-openapi-lint-'));
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const lint = (file: string) =>
    spawnSync(bin, ['lint', '--config', RULESET, '--format', 'stylish', file], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });

  it('is clean', () => {
    const r = lint(OPENAPI_DOC);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });

  it('fails a document whose example does not match its schema', async () => {
    const doc = parse(await readFile(OPENAPI_DOC, 'utf8')) as {
      components: { schemas: Record<string, { examples?: unknown[] }> };
    };
    doc.components.schemas.SecretGetRequest!.examples = [{ path: 7 }];
    const broken = join(dir, 'broken.json');
    await writeFile(broken, JSON.stringify(doc));
    const r = lint(broken);
    assert.notEqual(r.status, 0, 'the linter accepted a wrong example');
    assert.match(`${r.stdout}${r.stderr}`, /no-invalid-schema-examples/);
  });
});
