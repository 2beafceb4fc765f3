import { after, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLineHash, verifyAuditChain, type AuditFileText } from '@spike-ts/protocol';
import { createMemoryAuditSink } from './audit.ts';
import { AuditKeyError, chainAuditSink, loadAuditSigner, readChainTail } from './audit-chain.ts';

const dir = mkdtempSync(join(tmpdir(), 'spike-audit-chain-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const record = (i: number): string => `{"requestId":"r${String(i)}","status":200}\n`;

describe('audit signing key', () => {
  it('is created 0600 in a 0700 directory with the public key beside it, and the same key is read back', () => {
    const file = join(dir, 'keys', 'audit.pem');
    const a = loadAuditSigner(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'keys')).mode & 0o777, 0o700);
    assert.equal(readFileSync(`${file}.pub`, 'utf8'), a.publicKeyPem);
    const b = loadAuditSigner(file);
    assert.equal(b.keyId, a.keyId);
    assert.match(a.keyId, /^[0-9a-f]{16}$/);
  });

  it('refuses a key file group or others may read, naming the setting and the fix', () => {
    const file = join(dir, 'open.pem');
    loadAuditSigner(file);
    chmodSync(file, 0o640);
    assert.throws(
      () => loadAuditSigner(file),
      (err: unknown) => {
        assert.ok(err instanceof AuditKeyError);
        assert.match(
          err.message,
          /SPIKE_NEXUS_AUDIT_SIGNING_KEY: .* may be read by group or others \(mode 640\); run chmod 600/,
        );
        return true;
      },
    );
  });

  it('refuses a file that is not an Ed25519 private key', () => {
    const file = join(dir, 'bad.pem');
    writeFileSync(file, 'not a key', { mode: 0o600 });
    assert.throws(() => loadAuditSigner(file), /SPIKE_NEXUS_AUDIT_SIGNING_KEY: .*not a PEM private key/);
  });

  it('with no file, is a key of this process only', () => {
    const s = loadAuditSigner(null);
    assert.equal(s.keyFile, null);
    assert.notEqual(loadAuditSigner(null).keyId, s.keyId);
  });
});

describe('audit chain sink', () => {
  const signer = loadAuditSigner(null);
  const verify = (files: AuditFileText[], allowUnsealedTail = false) =>
    verifyAuditChain(files, { publicKeys: [signer.publicKey], allowUnsealedTail });

  it('starts with a signed checkpoint, chains every line, checkpoints every N records and at close', async () => {
    const sink = createMemoryAuditSink();
    const chain = chainAuditSink(sink, { signer, everyRecords: 3, intervalMs: 60_000, tail: null });
    chain.write(record(1) + record(2));
    chain.write(record(3) + record(4));
    await chain.close();
    chain.write(record(5));
    const kinds = sink.lines.map((l) => (JSON.parse(l) as { checkpoint?: string }).checkpoint ?? 'record');
    assert.deepEqual(kinds, ['start', 'record', 'record', 'record', 'interval', 'record', 'stop']);
    const first = JSON.parse(sink.lines[0] as string) as { seq: number; prev: string; records: number };
    assert.equal(first.seq, 1);
    assert.equal(first.prev, '0'.repeat(64));
    assert.equal(chain.lastCheckpoint(), (sink.lines.at(-1) as string).slice(0, -1));
    assert.equal(sink.records().length, 4, 'records() leaves out the checkpoints');
    const result = verify([{ name: 'a', text: sink.lines.join('') }]);
    assert.equal(result.ok, true, JSON.stringify(result.finding));
    assert.equal(result.checkpoints, 3);
  });

  it('writes an interval checkpoint when the timer fires after records, none when idle', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const sink = createMemoryAuditSink();
      const chain = chainAuditSink(sink, { signer, everyRecords: 1000, intervalMs: 5000, tail: null });
      mock.timers.tick(5000);
      assert.equal(sink.lines.length, 1, 'idle: nothing but the start checkpoint');
      chain.write(record(1));
      mock.timers.tick(5000);
      assert.equal(sink.lines.length, 3);
      assert.match(sink.lines[2] as string, /"checkpoint":"interval","records":1,/);
      void chain.close();
    } finally {
      mock.timers.reset();
    }
  });

  it('continues the chain of an existing file across a restart, and after a cut line', async () => {
    const file = join(dir, 'audit.jsonl');
    const one = createMemoryAuditSink();
    const a = chainAuditSink(one, { signer, everyRecords: 10, intervalMs: 60_000, tail: null });
    a.write(record(1));
    await a.close();
    writeFileSync(file, one.lines.join(''));
    const tail = readChainTail(file);
    assert.deepEqual(tail, {
      seq: 3,
      hash: auditLineHash((one.lines[2] as string).slice(0, -1)),
      torn: false,
    });

    const two = createMemoryAuditSink();
    const b = chainAuditSink(two, { signer, everyRecords: 10, intervalMs: 60_000, tail });
    b.write(record(2));
    await b.close();
    const text = one.lines.join('') + two.lines.join('');
    assert.equal(verify([{ name: 'audit', text }]).ok, true);

    // A write cut by a crash: the next start begins on a new line; verification names the cut line.
    writeFileSync(file, text + '{"requestId":"r3","sta');
    const torn = readChainTail(file);
    assert.equal(torn?.torn, true);
    const three: string[] = [];
    const c = chainAuditSink(
      { write: (l) => three.push(l), close: () => Promise.resolve() },
      { signer, everyRecords: 10, intervalMs: 60_000, tail: torn },
    );
    await c.close();
    assert.ok((three[0] as string).startsWith('\n{'));
    const result = verify([{ name: 'audit', text: text + '{"requestId":"r3","sta' + three.join('') }]);
    assert.equal(result.finding?.line, 7);
    assert.match(result.finding?.reason ?? '', /not valid JSON/);
    assert.equal(readChainTail(join(dir, 'missing.jsonl')), null);
  });

  it('seals the old file and opens the new one with signed checkpoints on reopen', async () => {
    const files: string[][] = [[]];
    const chain = chainAuditSink(
      {
        write: (l) => files.at(-1)?.push(l),
        reopen: () => files.push([]),
        close: () => Promise.resolve(),
      },
      { signer, everyRecords: 10, intervalMs: 60_000, tail: null },
    );
    chain.write(record(1));
    chain.reopen?.();
    chain.write(record(2));
    await chain.close();
    const [old, now] = files.map((f, i) => ({ name: `f${String(i)}`, text: f.join('') }));
    assert.match(old?.text ?? '', /"checkpoint":"rotate"[^\n]*\n$/);
    assert.match(now?.text ?? '', /^\{[^\n]*"checkpoint":"reopen"/);
    assert.equal(verify([old!, now!]).ok, true);
    assert.equal(verify([now!]).ok, true);
  });

  it('wraps a line that is not a JSON object instead of breaking the chain', async () => {
    const sink = createMemoryAuditSink();
    const chain = chainAuditSink(sink, { signer, everyRecords: 10, intervalMs: 60_000, tail: null });
    chain.write('oops\n');
    await chain.close();
    assert.match(sink.lines[1] as string, /^\{"unparsed":"oops","seq":2,/);
    assert.equal(verify([{ name: 'a', text: sink.lines.join('') }]).ok, true);
  });
});
