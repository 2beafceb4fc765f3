import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AUDIT_MAX_FIELD,
  createAuditLog,
  createMemoryAuditSink,
  openAuditSink,
  type AuditRecord,
} from './audit.ts';

const entry: AuditRecord = {
  time: '2026-01-01T00:00:00.000Z',
  requestId: 'r1',
  caller: 'spiffe://spike.ist/workload/a',
  route: '/v1/store/secrets',
  action: 'get',
  path: 'a/b',
  decision: 'allowed',
  status: 200,
  durationMs: 3,
};

describe('audit log', () => {
  it('writes one JSON line per record with the documented fields', () => {
    const sink = createMemoryAuditSink();
    const log = createAuditLog(sink);
    log.record(entry);
    log.record({ ...entry, requestId: 'r2', decision: 'denied', status: 401, err: 'access_unauthorized' });
    assert.equal(sink.lines.length, 2);
    assert.ok(sink.lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
    assert.deepEqual(sink.records()[0], entry);
    assert.deepEqual(sink.records()[1], {
      ...entry,
      requestId: 'r2',
      decision: 'denied',
      status: 401,
      err: 'access_unauthorized',
    });
  });

  it('drops fields that are not part of the record type', () => {
    const sink = createMemoryAuditSink();
    createAuditLog(sink).record({ ...entry, values: { password: 'hunter2' } } as unknown as AuditRecord);
    assert.ok(!sink.lines[0]?.includes('hunter2'));
  });

  it('clips over-long names', () => {
    const sink = createMemoryAuditSink();
    createAuditLog(sink).record({ ...entry, path: 'x'.repeat(10_000) });
    const rec = sink.records()[0];
    assert.ok(rec?.path !== undefined && rec.path.length <= AUDIT_MAX_FIELD + 1);
  });

  it('appends to a file sink created with mode 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spx-audit-'));
    try {
      const file = join(dir, 'audit.jsonl');
      const log = createAuditLog(openAuditSink({ kind: 'file', path: file }));
      log.record(entry);
      log.record({ ...entry, requestId: 'r2' });
      await log.close();
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      assert.equal(lines.length, 2);
      assert.equal((JSON.parse(lines[1] ?? '') as AuditRecord).requestId, 'r2');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('batches the records of one event-loop turn into one write, in order', async (t) => {
    const chunks: string[] = [];
    t.mock.method(process.stderr, 'write', (chunk: string) => {
      chunks.push(chunk);
      return true;
    });
    const log = createAuditLog(openAuditSink({ kind: 'stderr' }));
    for (let i = 0; i < 5; i++) log.record({ ...entry, requestId: `r${String(i)}` });
    assert.equal(chunks.length, 0, 'nothing is written before the turn ends');
    await new Promise((r) => setImmediate(r));
    assert.equal(chunks.length, 1);
    const ids = (chunks[0] ?? '')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as AuditRecord).requestId);
    assert.deepEqual(ids, ['r0', 'r1', 'r2', 'r3', 'r4']);
    log.record({ ...entry, requestId: 'last' });
    await log.close();
    assert.equal(chunks.length, 2, 'close writes what is still waiting');
    assert.match(chunks[1] ?? '', /"requestId":"last"/);
  });

  it('writes a large burst without waiting for the turn to end, and loses nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spx-audit-'));
    try {
      const file = join(dir, 'audit.jsonl');
      const log = createAuditLog(openAuditSink({ kind: 'file', path: file }));
      for (let i = 0; i < 3000; i++) log.record({ ...entry, requestId: `r${String(i)}` });
      await new Promise((r) => setTimeout(r, 50));
      const early = (await readFile(file, 'utf8')).trim().split('\n');
      assert.equal(early.length, 3000, 'written after the turn, before close');
      for (let i = 0; i < 10; i++) log.record({ ...entry, requestId: `late${String(i)}` });
      await log.close();
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      assert.equal(lines.length, 3010);
      assert.deepEqual(lines.map((l) => (JSON.parse(l) as AuditRecord).requestId).slice(2998, 3001), [
        'r2998',
        'r2999',
        'late0',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a file sink that cannot be opened', async () => {
    const errors: Error[] = [];
    const sink = openAuditSink({ kind: 'file', path: '/nonexistent-dir-spx/audit.jsonl' }, (e) =>
      errors.push(e),
    );
    sink.write('x\n');
    await new Promise((r) => setTimeout(r, 50));
    await sink.close();
    assert.equal(errors.length, 1);
  });
});
