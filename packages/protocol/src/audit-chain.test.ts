import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AUDIT_GENESIS_PREV,
  auditKeyId,
  auditLineHash,
  chainLine,
  generateAuditSigningKeyPem,
  parseAuditPrivateKey,
  parseAuditPublicKey,
  signCheckpointLine,
  verifyAuditChain,
  type AuditVerifyOptions,
} from './audit-chain.ts';

const key = parseAuditPrivateKey(generateAuditSigningKeyPem());
const other = parseAuditPrivateKey(generateAuditSigningKeyPem());
/** A P-256 public key: not what signs audit checkpoints. */
const EC_PUBLIC_PEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAERlCKYqzUqaGyqLqAiCuQDfhsQdw5
ebJLCm558enNS6tFjaWgJzLOwb9i5rLjtwwiEXupuONMWZ9sU3eiiS/35Q==
-----END PUBLIC KEY-----
`;
/** A chain written by hand: `r` a record (with the given JSON body), `c` a checkpoint. */
function build(items: readonly (string | { cp: string; signer?: typeof key })[]): string[] {
  let prev = AUDIT_GENESIS_PREV;
  return items.map((item, i) => {
    let line: string;
    if (typeof item === 'string') line = chainLine(item, i + 1, prev) as string;
    else {
      const signer = item.signer ?? key;
      const body = JSON.stringify({ checkpoint: item.cp, records: 0, keyId: auditKeyId(signer.publicKey) });
      line = signCheckpointLine(chainLine(body, i + 1, prev) as string, signer.privateKey);
    }
    prev = auditLineHash(line);
    return line;
  });
}
const text = (lines: readonly string[]): string => lines.map((l) => `${l}\n`).join('');
const run = (lines: readonly string[] | string, options: Partial<AuditVerifyOptions> = {}) =>
  verifyAuditChain([{ name: 'f', text: typeof lines === 'string' ? lines : text(lines) }], {
    publicKeys: [key.publicKey],
    ...options,
  });

describe('audit chain verification', () => {
  const good = build([{ cp: 'start' }, '{"a":1}', '{"a":2,"door":"mtls","groups":["x"]}', { cp: 'stop' }]);

  it('accepts an intact chain, unknown fields included (the exact bytes are hashed)', () => {
    const r = run(good);
    assert.equal(r.ok, true, JSON.stringify(r.finding));
    assert.deepEqual([r.lines, r.checkpoints, r.unsealed], [4, 2, 0]);
    assert.deepEqual(r.lastCheckpoint, { file: 'f', line: 4, seq: 4 });
  });

  it('refuses a line re-serialized with the same content (fields in another order)', () => {
    const reordered = [...good];
    const o = JSON.parse(good[2] as string) as Record<string, unknown>;
    reordered[2] = JSON.stringify(Object.fromEntries(Object.entries(o).reverse()));
    assert.equal(run(reordered).finding?.line, 4);
  });

  it('refuses an empty file, blank lines, non-objects and lines without chain fields', () => {
    assert.match(run('').finding?.reason ?? '', /no audit records/);
    assert.match(run([good[0] as string, '']).finding?.reason ?? '', /not valid JSON/);
    assert.match(run(['[1]']).finding?.reason ?? '', /not a JSON object/);
    assert.match(run(['{"seq":0,"prev":"00"}']).finding?.reason ?? '', /no valid "seq"/);
    assert.match(run(['{"seq":1,"prev":"xyz"}']).finding?.reason ?? '', /no valid "prev"/);
  });

  it('refuses a file that does not begin with a start or reopen checkpoint (a cut head)', () => {
    const r = run(good.slice(1));
    assert.equal(r.finding?.line, 1);
    assert.match(r.finding?.reason ?? '', /head of the file is missing/);
  });

  it('refuses a seq out of order even when prev links', () => {
    const lines = build([{ cp: 'start' }, '{"a":1}']);
    const bad = chainLine('{"a":2}', 7, auditLineHash(lines[1] as string)) as string;
    assert.match(run([...lines, bad]).finding?.reason ?? '', /"seq" is 7 after 2/);
  });

  it('refuses checkpoints without a signature, of an unknown kind, or by an unknown key', () => {
    const unsigned = [chainLine('{"checkpoint":"start","keyId":"00"}', 1, AUDIT_GENESIS_PREV) as string];
    assert.match(run(unsigned).finding?.reason ?? '', /without a signature/);
    const kind = [chainLine('{"checkpoint":"party"}', 1, AUDIT_GENESIS_PREV) as string];
    assert.match(run(kind).finding?.reason ?? '', /unknown "checkpoint" kind/);
    assert.match(
      run(build([{ cp: 'start', signer: other }])).finding?.reason ?? '',
      /not among the public keys/,
    );
  });

  it('accepts a key change when both public keys are given', () => {
    const lines = build([
      { cp: 'start' },
      '{"a":1}',
      { cp: 'stop' },
      { cp: 'start', signer: other },
      { cp: 'stop', signer: other },
    ]);
    assert.equal(run(lines).ok, false);
    assert.equal(run(lines, { publicKeys: [key.publicKey, other.publicKey] }).ok, true);
  });

  it('refuses an unsealed tail unless allowed, and a missing anchor', () => {
    const open = build([{ cp: 'start' }, '{"a":1}', '{"a":2}']);
    const r = run(open);
    assert.equal(r.finding?.line, 2);
    assert.match(r.finding?.reason ?? '', /last 2 line\(s\) are not covered/);
    assert.equal(run(open, { allowUnsealedTail: true }).unsealed, 2);
    assert.equal(run(good, { anchor: good[3] as string }).ok, true);
    assert.match(
      run(good.slice(0, 3), { anchor: good[3] as string, allowUnsealedTail: true }).finding?.reason ?? '',
      /not in the file/,
    );
  });

  it('refuses a second chain in the same input, so whole chains cannot be reordered', () => {
    const second = build([{ cp: 'start' }, '{"b":1}', { cp: 'stop' }]);
    for (const [lines, at] of [
      [[...good, ...second], 5],
      [[...second, ...good], 4],
    ] as const) {
      const r = run(lines);
      assert.equal(r.finding?.line, at);
      assert.match(r.finding?.reason ?? '', /a new chain begins here/);
    }
  });

  it('verifies files in order across a boundary and names the file', () => {
    const r = verifyAuditChain(
      [
        { name: 'old', text: text(good.slice(0, 2)) },
        { name: 'new', text: text(good.slice(3)) },
      ],
      { publicKeys: [key.publicKey] },
    );
    assert.deepEqual(r.finding && { file: r.finding.file, line: r.finding.line }, { file: 'new', line: 1 });
  });

  it('parses public keys strictly', () => {
    assert.throws(() => parseAuditPublicKey('nope'), /not a PEM public key/);
    assert.throws(() => parseAuditPublicKey(generateAuditSigningKeyPem()), /a private key/);
    assert.throws(() => parseAuditPublicKey(EC_PUBLIC_PEM), /is ec, not Ed25519/);
    assert.throws(() => parseAuditPrivateKey('nope'), /not a PEM private key/);
  });
});
