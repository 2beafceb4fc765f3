/**
 * The example alert rules (deploy/prometheus/) and the operations guide against the metrics
 * Nexus serves: promtool accepts the rules and their unit tests pass, every alert has a test,
 * every metric a rule uses exists, and docs/operations.md lists every metric.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CALLER_ROLES, NEXUS_METRICS } from '@spike-ts/nexus';
import { promtool } from './promtool.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RULES_DIR = join(ROOT, 'deploy', 'prometheus');
const RULES = 'spike-nexus-alerts.yml';
const RULE_TESTS = 'spike-nexus-alerts.test.yml';
const names = new Set(NEXUS_METRICS.map((m) => m.name));

describe('example alert rules', () => {
  const rules = readFileSync(join(RULES_DIR, RULES), 'utf8');
  const alerts = [...rules.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1] as string);

  it('pass `promtool check rules`', async () => {
    const r = await promtool(['check', 'rules', RULES], undefined, RULES_DIR);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${String(alerts.length)} rules found`));
  });

  it('pass their unit tests (`promtool test rules`), and every alert has one', async () => {
    const r = await promtool(['test', 'rules', RULE_TESTS], undefined, RULES_DIR);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const tests = readFileSync(join(RULES_DIR, RULE_TESTS), 'utf8');
    assert.ok(alerts.length >= 10);
    for (const alert of alerts) assert.match(tests, new RegExp(`alertname: ${alert}$`, 'm'), alert);
  });

  it('use only metrics Nexus serves', () => {
    const used = new Set(
      [...rules.matchAll(/\bspike_nexus_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')),
    );
    assert.ok(used.size > 5);
    for (const name of used) assert.ok(names.has(name), `${name} is not a metric Nexus serves`);
  });
});

describe('docs/operations.md', () => {
  it('lists every metric with its type and labels', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    for (const m of NEXUS_METRICS) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${m.name}\``));
      assert.ok(row !== undefined, `${m.name} has no row in the metrics table`);
      assert.ok(row.includes(m.type), `${m.name}: type`);
      for (const label of m.labels) assert.ok(row.includes(`\`${label}\``), `${m.name}: label ${label}`);
    }
  });

  it('lists every value of the `role` label, and no other', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const para = /^`role` values: ([^]*?)\n\n/m.exec(doc)?.[1];
    assert.ok(para !== undefined, 'no "`role` values:" paragraph');
    const listed = [...para.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    assert.deepEqual([...listed].sort(), [...CALLER_ROLES].sort());
  });
});
