/**
 * Drill 6, the role matrix: every custody route called by every role over real mTLS, against a
 * bootstrapped system of real processes. Each identity's SVID comes from its own dev-issuer
 * socket (`createX509Source`), each call goes through `createMtlsClient`.
 *
 * The reference's answers: Nexus completes the handshake with any SVID of the trust domain and
 * answers 401 to every role but the one a route is hard-wired to; keepers complete the handshake
 * only with Nexus and Bootstrap (anyone else is rejected at the TLS level) and answer 401 to
 * Bootstrap asking for a share.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { aesGcmEncrypt, combineShares, shardFromJson, shardToJson } from '@spike-ts/core';
import { MtlsConnectionError } from '@spike-ts/identity';
import { ALL_IDENTITIES, Drill, parseRecoveryText, type Share } from './drill-kit.ts';

type Outcome = string;
type Matrix = Record<string, Outcome>;

/** `expected[id]`, everybody else `other`. */
function matrix(expected: Matrix, other: Outcome): Matrix {
  return Object.fromEntries(ALL_IDENTITIES.map((id) => [id, expected[id] ?? other]));
}

describe('drill 6: custody routes x roles (real processes, real mTLS)', { timeout: 120_000 }, () => {
  let drill: Drill;
  let files: Map<number, string>;
  let shares: Share[];
  let rootKey: Uint8Array;

  before(async () => {
    drill = await Drill.start();
    files = await drill.recover();
    shares = [...files.values()].map(parseRecoveryText).sort((a, b) => a.id - b.id);
    rootKey = combineShares(
      shares.slice(0, 2).map((s) => ({ id: s.id, value: s.shard })),
      2,
    );
  });

  after(async () => {
    rootKey?.fill(0);
    await drill?.close();
  });

  /** Call `url` as every identity; `check` turns a 2xx answer into an outcome (and asserts on it). */
  async function callAsEveryone(
    server: 'nexus' | 'keeper',
    url: string,
    body: () => string,
    check: (status: number, json: Record<string, unknown>, id: string) => Outcome = (s) => String(s),
  ): Promise<Matrix> {
    const out: Matrix = {};
    for (const id of ALL_IDENTITIES) {
      const client = await drill.mtlsAs(id, server);
      try {
        const res = await client.request(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: body(),
        });
        const json = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
        if (res.status === 401) {
          out[id] = `401 ${String(json.err ?? json.Err)}`;
        } else {
          out[id] = check(res.status, json, id);
        }
      } catch (err) {
        assert.ok(err instanceof MtlsConnectionError, `${id}: ${String(err)}`);
        assert.doesNotMatch(err.message, /ECONNREFUSED/, `${id}: the server is down`);
        out[id] = 'tls-rejected';
      }
    }
    return out;
  }

  it('/v1/operator/recover: only the Pilot recover role, which gets every share', async () => {
    const got = await callAsEveryone(
      'nexus',
      `${drill.stack.nexusUrl}/v1/operator/recover`,
      () => '{}',
      (status, json) => {
        assert.equal(status, 200);
        const returned = json.shards as Record<string, unknown>;
        for (const s of shares) assert.deepEqual(shardFromJson(returned[String(s.id)]), s.shard);
        return 'shards';
      },
    );
    assert.deepEqual(got, matrix({ 'pilot-recover': 'shards' }, '401 access_unauthorized'));
  });

  it('/v1/operator/restore: only the Pilot restore role (Nexus is ready: nothing to restore)', async () => {
    const first = shares[0];
    assert.ok(first !== undefined);
    const body = () => JSON.stringify({ id: first.id, shard: shardToJson(first.shard) });
    const got = await callAsEveryone(
      'nexus',
      `${drill.stack.nexusUrl}/v1/operator/restore`,
      body,
      (status, json) => {
        assert.equal(status, 200);
        assert.equal(json.restored, true);
        assert.equal(json.remaining, 0);
        return 'restored';
      },
    );
    assert.deepEqual(got, matrix({ 'pilot-restore': 'restored' }, '401 access_unauthorized'));
  });

  it('/v1/bootstrap/verify: only Bootstrap, and Nexus proves it holds the root key', async () => {
    const plaintext = Buffer.from(randomBytes(32).toString('hex'));
    const body = () => {
      const nonce = randomBytes(12);
      const ciphertext = aesGcmEncrypt(rootKey, nonce, plaintext);
      return JSON.stringify({
        nonce: nonce.toString('base64'),
        ciphertext: Buffer.from(ciphertext).toString('base64'),
      });
    };
    const got = await callAsEveryone(
      'nexus',
      `${drill.stack.nexusUrl}/v1/bootstrap/verify`,
      body,
      (status, json) => {
        assert.equal(status, 200);
        assert.equal(json.hash, createHash('sha256').update(plaintext).digest('hex'));
        return 'verified';
      },
    );
    assert.deepEqual(got, matrix({ bootstrap: 'verified' }, '401 access_unauthorized'));
  });

  it('keeper /v1/store/contribute: Nexus and Bootstrap only; everyone else is rejected at the TLS level', async () => {
    const first = shares[0];
    assert.ok(first !== undefined);
    const mark = drill.logMark('keeper-1');
    // Keeper 1 is handed the share it already holds: the system is left as it was.
    const body = () => JSON.stringify({ shard: shardToJson(first.shard) });
    const got = await callAsEveryone('keeper', `${drill.stack.keeperUrl(0)}/v1/store/contribute`, body);
    assert.deepEqual(got, matrix({ nexus: '200', bootstrap: '200' }, 'tls-rejected'));
    // The keeper's log reaches its file through a pipe: wait for each line instead of reading once.
    for (const path of [
      '/spike/pilot/role/superuser',
      '/spike/workload/role/lite',
      '/workload/demo',
      '/spike/keeper',
    ]) {
      const line = `spiffe://spike.ist${path}\\" is not authorized`;
      assert.ok((await drill.logMatching('keeper-1', mark, line)).includes(line), `keeper logs ${path}`);
    }
  });

  it('keeper /v1/store/shard: Nexus only (Bootstrap gets 401); everyone else is rejected at the TLS level', async () => {
    const first = shares[0];
    assert.ok(first !== undefined);
    const got = await callAsEveryone(
      'keeper',
      `${drill.stack.keeperUrl(0)}/v1/store/shard`,
      () => '{}',
      (status, json) => {
        assert.equal(status, 200);
        assert.deepEqual(shardFromJson(json.shard), first.shard);
        assert.equal(json.Err, '');
        return 'shard';
      },
    );
    assert.deepEqual(got, matrix({ nexus: 'shard', bootstrap: '401 access_unauthorized' }, 'tls-rejected'));
  });

  it('leaves the system as it was: ready, same key, every keeper holding its share', async () => {
    assert.equal(await drill.stack.nexusState(), 'ready');
    assert.deepEqual(await drill.recover(), files);
    await drill.assertKeepersHold(files);
  });
});
