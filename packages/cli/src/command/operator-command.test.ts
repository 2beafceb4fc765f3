/**
 * `spike operator restore` when Nexus rejects a well-formed share (400): the operator must learn
 * that the recovery file is wrong and what to do next, not a generic "check the arguments".
 * (Found by the total-loss restore drill in test/drills.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { X509Source } from '@spike-ts/identity';
import { SpikeBadRequestError, type SpikeClient } from '@spike-ts/sdk';
import type { CliIo } from '../cli-io.ts';
import { ExitCode } from '../exit-code.ts';
import { runCli } from '../run-cli.ts';
import { RESTORE_REJECTED_MESSAGE } from './operator-command.ts';

const RESTORE_ID = 'spiffe://spike.ist/spike/pilot/role/restore';
const SHARE_HEX = 'ab'.repeat(32);

function restoreHarness(restore: SpikeClient['restore']): { io: CliIo; err: () => string } {
  let err = '';
  const stdin = new PassThrough();
  stdin.end(`spike:2:${SHARE_HEX}\n`);
  const source: X509Source = {
    getX509Svid: () => ({ spiffeId: RESTORE_ID }) as ReturnType<X509Source['getX509Svid']>,
    getX509Bundles: () => new Map(),
    onUpdate: () => () => undefined,
    close: () => Promise.resolve(),
  };
  const client = { restore, close: () => Promise.resolve() } as unknown as SpikeClient;
  const io: CliIo = {
    env: {},
    stdout: { write: () => true },
    stderr: { write: (c) => (err += String(c)) },
    stdin,
    openSource: () => Promise.resolve(source),
    openClient: () => Promise.resolve(client),
  };
  return { io, err: () => err };
}

describe('spike operator restore: a share Nexus rejects', () => {
  it('says the recovery share was rejected, that the shares are kept, and what to do next (exit 1)', async () => {
    const h = restoreHarness(() => Promise.reject(new SpikeBadRequestError('Bad request.', 400)));
    assert.equal(await runCli(['operator', 'restore'], h.io), ExitCode.General);
    assert.match(h.err(), /rejected this recovery share/);
    assert.match(h.err(), /keeps every share given/);
    assert.match(h.err(), /same share index/);
    assert.match(h.err(), /still not ready/);
    assert.match(h.err(), /another recovery file/);
    assert.doesNotMatch(h.err(), /Check the arguments/);
    assert.ok(!h.err().includes(SHARE_HEX), 'the share is never echoed');
    assert.ok(h.err().includes(RESTORE_REJECTED_MESSAGE));
  });

  it('still reports a client-side validation failure as invalid input', async () => {
    const h = restoreHarness(() => Promise.reject(new SpikeBadRequestError('id is out of range.', 0, 'id')));
    assert.equal(await runCli(['operator', 'restore'], h.io), ExitCode.General);
    assert.match(h.err(), /Invalid input: id is out of range/);
    assert.doesNotMatch(h.err(), /rejected this recovery share/);
  });

  it('reports progress and success unchanged', async () => {
    const h = restoreHarness(() => Promise.resolve({ collected: 1, remaining: 1, restored: false }));
    assert.equal(await runCli(['operator', 'restore'], h.io), ExitCode.Ok);
    assert.match(h.err(), /Shards collected: 1, remaining: 1/);
  });
});
