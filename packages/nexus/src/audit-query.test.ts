import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryAuditFile, type AuditQuery } from './audit-query.ts';

const any: AuditQuery = { principal: '', path: '', decision: '', limit: 100 };

function line(i: number, over: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    requestId: `r${i}`,
    caller: i % 2 === 0 ? 'user:alice' : 'spiffe://spike.ist/workload/w',
    door: i % 2 === 0 ? 'people-api' : 'mtls',
    route: '/v1/store/secrets',
    action: 'get',
    path: `p/${i % 3}`,
    decision: i % 4 === 0 ? 'denied' : 'allowed',
    status: i % 4 === 0 ? 401 : 200,
    durationMs: 1,
    ...over,
  })}\n`;
}

describe('audit file query', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spx-audit-query-'));
    file = join(dir, 'audit.log');
    const lines = Array.from({ length: 40 }, (_, i) => line(i));
    // Foreign text, a record of another shape and a torn last line are skipped.
    lines.splice(10, 0, 'not json\n', '{"hello":"world"}\n');
    await writeFile(file, `${lines.join('')}{"time":"2026-01-01T00:0`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('answers the newest matching records first', async () => {
    const all = await queryAuditFile(file, any);
    assert.equal(all.records.length, 40);
    assert.equal(all.truncated, false);
    assert.equal(all.records[0]?.requestId, 'r39');
    assert.equal(all.records.at(-1)?.requestId, 'r0');
  });

  it('filters by principal, path, decision and time, and says when it stopped at the limit', async () => {
    const denied = await queryAuditFile(file, { ...any, principal: 'user:alice', decision: 'denied' });
    assert.deepEqual(
      denied.records.map((r) => r.requestId),
      ['r36', 'r32', 'r28', 'r24', 'r20', 'r16', 'r12', 'r8', 'r4', 'r0'],
    );
    const onPath = await queryAuditFile(file, { ...any, path: 'p/1', limit: 3 });
    assert.deepEqual(
      onPath.records.map((r) => r.requestId),
      ['r37', 'r34', 'r31'],
    );
    assert.equal(onPath.truncated, true);
    const window = await queryAuditFile(file, {
      ...any,
      fromMs: Date.UTC(2026, 0, 1, 0, 0, 5),
      toMs: Date.UTC(2026, 0, 1, 0, 0, 8),
    });
    assert.deepEqual(
      window.records.map((r) => r.requestId),
      ['r7', 'r6', 'r5'],
    );
  });

  it('reads only the newest bytes of a large file and says the answer may be incomplete', async () => {
    const bounded = await queryAuditFile(file, any, 1000);
    assert.ok(bounded.records.length > 0 && bounded.records.length < 10);
    assert.equal(bounded.records[0]?.requestId, 'r39');
    assert.equal(bounded.truncated, true);
  });

  it('has nothing to say about a file that does not exist yet', async () => {
    assert.deepEqual(await queryAuditFile(join(dir, 'none.log'), any), { records: [], truncated: false });
  });
});
