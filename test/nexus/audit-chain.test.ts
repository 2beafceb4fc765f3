/**
 * The verifiable audit trail (ADR 0040) with real processes: Nexus (SQLite, 2 API threads, 3
 * keepers) writes its audit file across a restart, `spike audit public-key|checkpoint|verify`
 * run as the real CLI, and copies of that file tampered each way (a record edited, deleted,
 * inserted, two swapped, the tail cut, a checkpoint forged, the wrong public key) are refused
 * naming the first bad line.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MtlsClient } from '@spike-ts/identity';
import { Drill } from '../drills/drill-kit.ts';

/** Reads over new connections, so the kernel hands some to each API thread. */
const READS = 24;

describe('verifiable audit trail (real processes)', () => {
  let drill: Drill;
  let demo: MtlsClient;
  let auditFile: string;
  let pubFile: string;
  let lines: string[];
  let sentReads = 0;

  const spike = (args: string[]) => drill.stack.runSpike('pilot', args);

  const reads = async (tag: string): Promise<void> => {
    const client = await drill.pilot();
    await client.putSecret(`audit/${tag}`, { v: '1' });
    const results = await Promise.all(
      Array.from({ length: READS }, () =>
        demo.request(`${drill.stack.nexusUrl}/v1/store/secrets?action=get`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ path: `audit/${tag}` }),
        }),
      ),
    );
    // The demo workload has no policy: each read is denied and audited, wherever it was answered.
    for (const r of results) assert.equal(r.status, 401);
    sentReads += READS;
  };

  before(async () => {
    drill = await Drill.start({
      nexusEnv: {
        SPIKE_NEXUS_API_THREADS: '2',
        SPIKE_NEXUS_AUDIT_CHECKPOINT_RECORDS: '7',
      },
    });
    auditFile = join(drill.dir, 'logs', 'audit.jsonl');
    demo = await drill.mtlsAs('demo', 'nexus');
    await reads('one');
    // A restart: the new process continues the chain of the file.
    await drill.stack.stopNexus('SIGTERM');
    await drill.startNexus();
    await drill.waitReady();
    await reads('two');
  });
  after(async () => {
    await drill.close();
  });

  it('exports the public key (route, CLI and the .pub file beside a 0600 key) and the last checkpoint', async () => {
    const keyFile = join(drill.stack.dataDir, 'data', 'audit-signing-key.pem');
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const pub = await spike(['audit', 'public-key']);
    assert.equal(pub.code, 0, pub.stderr);
    assert.match(pub.stdout, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(pub.stdout, await readFile(`${keyFile}.pub`, 'utf8'));
    assert.ok(!pub.stdout.includes('PRIVATE'));
    pubFile = join(drill.dir, 'audit.pub');
    await writeFile(pubFile, pub.stdout);
    const cp = await spike(['audit', 'checkpoint']);
    assert.equal(cp.code, 0, cp.stderr);
    assert.match(cp.stdout, /"checkpoint":"(start|interval)".*"sig":"/);
    assert.ok((await readFile(auditFile, 'utf8')).includes(cp.stdout), 'the checkpoint is in the file');
    // A live file: the key and the last checkpoint come from Nexus.
    const live = await spike(['audit', 'verify', auditFile, '--allow-unsealed-tail']);
    assert.equal(live.code, 0, live.stderr);
    assert.match(live.stdout, /^audit trail verified: \d+ lines, \d+ signed checkpoints/);
  });

  it('after a clean stop the whole file verifies offline: one chain over the restart and both API threads', async () => {
    await drill.stack.stopNexus('SIGTERM');
    const text = await readFile(auditFile, 'utf8');
    lines = text.split('\n').slice(0, -1);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const kinds = parsed.filter((p) => p['checkpoint'] !== undefined).map((p) => p['checkpoint']);
    assert.deepEqual(
      kinds.filter((k) => k !== 'interval'),
      ['start', 'stop', 'start', 'stop'],
      'each process opens and seals its part of the chain',
    );
    assert.ok(kinds.includes('interval'), 'checkpoints every 7 records');
    assert.equal(
      parsed.filter((p) => p['action'] === 'get' && p['decision'] === 'denied').length,
      sentReads,
      "every thread's records are in the one chain",
    );
    parsed.forEach((p, i) => assert.equal(p['seq'], (parsed[0]?.['seq'] as number) + i));
    const ok = await spike(['audit', 'verify', auditFile, '--public-key', pubFile]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^audit trail verified: ${String(lines.length)} lines`));
  });

  /** Index (0-based) of a plain record whose neighbours are plain records too. */
  const plainRecord = (): number => {
    const plain = (i: number): boolean => !(lines[i] ?? '"checkpoint"').includes('"checkpoint"');
    for (let i = Math.floor(lines.length / 2); i < lines.length - 2; i++) {
      if (plain(i - 1) && plain(i) && plain(i + 1)) return i;
    }
    throw new Error('no plain record in the middle of the file');
  };

  const verifyTampered = async (
    name: string,
    tampered: string[] | string,
    extra: string[] = [],
  ): Promise<{ line: number; reason: string }> => {
    const file = join(drill.dir, `${name}.jsonl`);
    await writeFile(file, typeof tampered === 'string' ? tampered : `${tampered.join('\n')}\n`);
    const res = await spike(['audit', 'verify', file, '--public-key', pubFile, ...extra]);
    assert.equal(res.code, 1, `${name}: exit ${String(res.code)}\n${res.stdout}${res.stderr}`);
    const m = /audit verification FAILED at [^\n]*:(\d+): ([^\n]*)/.exec(res.stderr);
    assert.ok(m !== null, res.stderr);
    return { line: Number(m[1]), reason: m[2] as string };
  };

  it('names an edited record (the line after it no longer links to it)', async () => {
    const k = plainRecord();
    const edited = [...lines];
    edited[k] = (edited[k] as string).replace('"requestId":"', '"requestId":"x');
    assert.notEqual(edited[k], lines[k]);
    const f = await verifyTampered('edited', edited);
    assert.equal(f.line, k + 2);
    assert.match(f.reason, /"prev" does not match the line before.*edited/);
  });

  it('names a deleted record', async () => {
    const k = plainRecord();
    const f = await verifyTampered(
      'deleted',
      lines.filter((_, i) => i !== k),
    );
    assert.equal(f.line, k + 1);
    assert.match(f.reason, /does not match the line before/);
  });

  it('names an inserted record, even one with a correct prev', async () => {
    const k = plainRecord();
    const copy = lines[k] as string;
    const f = await verifyTampered('inserted', [...lines.slice(0, k + 1), copy, ...lines.slice(k + 1)]);
    assert.equal(f.line, k + 2);
  });

  it('names two swapped records', async () => {
    const k = plainRecord();
    const swapped = [...lines];
    [swapped[k], swapped[k + 1]] = [swapped[k + 1] as string, swapped[k] as string];
    const f = await verifyTampered('swapped', swapped);
    assert.equal(f.line, k + 1);
  });

  it('refuses a tail cut inside a line, and one cut after a record', async () => {
    const text = `${lines.join('\n')}\n`;
    const mid = await verifyTampered('cut-mid-line', text.slice(0, -20));
    assert.equal(mid.line, lines.length);
    assert.match(mid.reason, /cut \(truncated\) mid-record/);
    // Drop the stop checkpoint and the records before it, back to a plain record.
    let end = lines.length - 1;
    while ((lines[end - 1] ?? '').includes('"checkpoint"')) end--;
    const cut = await verifyTampered('cut-records', lines.slice(0, end));
    assert.match(cut.reason, /not covered by a signed checkpoint/);
  });

  it('refuses a tail cut at an earlier checkpoint when given the last checkpoint as anchor', async () => {
    const anchorFile = join(drill.dir, 'anchor.json');
    await writeFile(anchorFile, `${lines.at(-1) as string}\n`);
    let end = lines.length - 2;
    while (!(lines[end] ?? '').includes('"checkpoint"')) end--;
    const cut = lines.slice(0, end + 1);
    // Without the anchor this cut is not detectable (documented): the file ends sealed.
    await writeFile(join(drill.dir, 'blind.jsonl'), `${cut.join('\n')}\n`);
    const blind = await spike(['audit', 'verify', join(drill.dir, 'blind.jsonl'), '--public-key', pubFile]);
    assert.equal(blind.code, 0, blind.stderr);
    const f = await verifyTampered('cut-at-checkpoint', cut, ['--checkpoint', anchorFile]);
    assert.match(f.reason, /not in the file: the tail was cut/);
  });

  it('refuses a forged or altered checkpoint and the wrong public key', async () => {
    const c = lines.findIndex((l, i) => i > 0 && l.includes('"checkpoint":"interval"'));
    assert.ok(c > 0);
    const forged = [...lines];
    const line = forged[c] as string;
    const sigAt = line.indexOf('"sig":"') + 7;
    forged[c] = line.slice(0, sigAt) + (line[sigAt] === 'A' ? 'B' : 'A') + line.slice(sigAt + 1);
    const f = await verifyTampered('forged-signature', forged);
    assert.equal(f.line, c + 1);
    assert.match(f.reason, /signature does not verify/);

    const altered = [...lines];
    altered[c] = (altered[c] as string).replace(/"records":\d+/, '"records":0');
    const g = await verifyTampered('altered-checkpoint', altered);
    assert.equal(g.line, c + 1);
    assert.match(g.reason, /signature does not verify/);

    const other = join(drill.dir, 'other.pub');
    await writeFile(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    const w = await spike([
      'audit',
      'verify',
      join(drill.dir, 'forged-signature.jsonl'),
      '--public-key',
      other,
    ]);
    assert.equal(w.code, 1);
    assert.match(
      w.stderr,
      /:1: checkpoint signed by key [0-9a-f]{16}, which is not among the public keys given/,
    );
  });

  it('refuses a private key given as --public-key and a file that is not an audit file', async () => {
    const priv = join(drill.stack.dataDir, 'data', 'audit-signing-key.pem');
    const r = await spike(['audit', 'verify', auditFile, '--public-key', priv]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /a private key: give the public key/);
    const notAudit = join(drill.dir, 'not-audit.jsonl');
    await writeFile(notAudit, '{"time":"2026-01-01T00:00:00Z"}\n');
    const n = await spike(['audit', 'verify', notAudit, '--public-key', pubFile]);
    assert.equal(n.code, 1);
    assert.match(n.stderr, /:1: no valid "seq"/);
  });
});
