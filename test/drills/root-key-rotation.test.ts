/**
 * Online root-key rotation drills (ADR 0044), with real processes: the dev identity issuer, three
 * keepers (2 of 3), Nexus on SQLite (with its API threads), bootstrap and the `spike` CLI. Nexus
 * re-seals one row per transaction here, so a rotation of the drill's data takes long enough to
 * be killed mid-way at an observed point (no fault hook). Each drill ends with a finished rotation,
 * every keeper holding a share of the new key, and nothing lost.
 *
 * Kill points: mid-re-sealing with the keepers holding a mix of old and new shares (recovery from
 * the keepers); right after begin while no keeper could be given a new share, with every keeper
 * lost too (restore from the recovery files of the old key, which an unfinished rotation still
 * accepts); right after the end (recovery from the keepers). After a finished rotation the old
 * recovery files are refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createSpikeClient,
  SpikeUnauthorizedError,
  type RootKeyStatus,
  type SpikeClient,
} from '@spike-ts/sdk';
import { Drill, waitFor, type Snapshot } from './drill-kit.ts';

const SECRETS = 150;

describe('root-key rotation drills (real processes)', { timeout: 600_000 }, () => {
  let drill: Drill;
  let pilot: SpikeClient;
  /** Written by `spike operator recover` right after bootstrap (generation 1). */
  let firstFiles: Map<number, string>;
  /** A cipher-API ciphertext made before any rotation. */
  let sealed: { version: number; nonce: Uint8Array; ciphertext: Uint8Array };

  const restore = (text: string) => drill.stack.runSpike('pilot-restore', ['operator', 'restore'], text);
  const status = (): Promise<RootKeyStatus> => pilot.rootKey.status();

  /** Resume the keepers a drill stopped (always, also when the drill failed). */
  const resumeKeepers = (): void => {
    for (const i of [0, 1, 2]) {
      try {
        drill.stack.signalKeeper(i, 'SIGCONT');
      } catch {
        // not running
      }
    }
  };

  const waitFinished = async (timeoutMs = 180_000): Promise<RootKeyStatus> => {
    let last: RootKeyStatus | undefined;
    await waitFor('the rotation to finish', timeoutMs, async () => {
      last = await status().catch(() => undefined);
      return last !== undefined && !last.rotating;
    });
    return last as RootKeyStatus;
  };

  /** Every recovery file differs from `old`, and every keeper holds the share of `files`. */
  const assertNewKey = async (old: Map<number, string>): Promise<Map<number, string>> => {
    const files = await drill.recover();
    for (const [id, text] of files) assert.notEqual(text, old.get(id), `share ${String(id)} did not change`);
    await waitFor('every keeper to hold a share of the new key', 30_000, async () => {
      try {
        await drill.assertKeepersHold(files);
        return true;
      } catch {
        return false;
      }
    });
    return files;
  };

  const assertSnapshot = async (expected: Snapshot): Promise<void> => {
    assert.deepEqual(await drill.snapshot(), expected);
  };

  before(async () => {
    drill = await Drill.start({ nexusEnv: { SPIKE_NEXUS_ROOT_KEY_ROTATION_BATCH_SIZE: '1' } });
    for (const res of await drill.stack.applyDemoPolicies()) assert.equal(res.code, 0, res.stderr);
    pilot = await drill.pilot();
    const paths = Array.from({ length: SECRETS }, (_, i) => `rotation/s${String(i)}`);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < paths.length; i += 25) {
        await Promise.all(
          paths.slice(i, i + 25).map((p) => pilot.putSecret(p, { round: String(round), path: p })),
        );
      }
    }
    firstFiles = await drill.recover();
    const { version, nonce, ciphertext } = await pilot.encrypt(
      new TextEncoder().encode('made before rotation'),
    );
    sealed = { version, nonce, ciphertext };
  });

  after(async () => {
    resumeKeepers();
    await drill?.close();
  });

  it('refuses callers without the role, and a status of a system never rotated says generation 1', async () => {
    assert.deepEqual(
      { ...(await status()), rowsTotal: 0 },
      {
        generation: 1,
        rotating: false,
        from: 0,
        phase: 'idle',
        startedAt: '',
        lastRotatedAt: '',
        rowsTotal: 0,
        rowsRemaining: 0,
      },
    );
    for (const name of ['demo', 'lite', 'pilot-restore'] as const) {
      const client = await createSpikeClient({
        source: await drill.source(name),
        nexusUrl: drill.stack.nexusUrl,
        env: {},
        timeoutMs: 10_000,
      });
      try {
        await assert.rejects(client.rootKey.rotate(), SpikeUnauthorizedError, name);
        await assert.rejects(client.rootKey.status(), SpikeUnauthorizedError, name);
      } finally {
        await client.close();
      }
    }
    const cli = await drill.stack.runSpike('pilot-restore', ['operator', 'rotate-root-key']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /needs the SPIKE Pilot superuser or recover role/);
    assert.equal((await status()).generation, 1, 'nothing was rotated');
  });

  it('drill: killed mid-re-sealing while the keepers hold old and new shares; recovers from the keepers and finishes', async (t) => {
    const { stack } = drill;
    const before = await drill.snapshot();
    // Keepers 2 and 3 hang: they keep their old shares; keeper 1 gets the new one.
    stack.signalKeeper(1, 'SIGSTOP');
    stack.signalKeeper(2, 'SIGSTOP');
    const load = drill.startWriteLoad('rotation/load');
    try {
      await load.waitAcks(10);
      // Begun by the recover role: the CLI writes the new key's recovery files at once.
      const begun = await stack.runSpike('pilot-recover', ['operator', 'rotate-root-key', '--no-wait']);
      assert.equal(begun.code, 0, begun.stderr);
      assert.match(begun.stderr, /Root-key rotation begun: generation 1 -> 2/);
      assert.match(begun.stderr, /Wrote 3 recovery shares/);
      const newFiles = await drill.recoveryFiles();

      // Started twice: refused, and the CLI says why.
      const twice = await stack.runSpike('pilot', ['operator', 'rotate-root-key']);
      assert.equal(twice.code, 1, twice.stderr);
      assert.match(twice.stderr, /already in progress/);

      // Kill at an observed point: some rows re-sealed, many left.
      let seen: RootKeyStatus | undefined;
      await waitFor('re-sealing to be under way', 120_000, async () => {
        seen = await status();
        assert.ok(seen.rotating, 'the rotation finished before it could be interrupted');
        return seen.rowsRemaining < seen.rowsTotal - 20;
      });
      await stack.killNexus();
      const ackedBeforeKill = load.acks();
      assert.ok(seen !== undefined && seen.rowsRemaining > 20, 'killed mid-way');
      t.diagnostic(`killed with ${String(seen.rowsRemaining)} of ${String(seen.rowsTotal)} rows left`);
      resumeKeepers();

      const mark = drill.logMark('nexus');
      await drill.startNexus();
      await drill.waitReady();
      await drill.logMatching('nexus', mark, /root key installed; Nexus is ready.*"source":"keepers"/);
      const done = await waitFinished();
      assert.equal(done.generation, 2);
      assert.equal(done.rowsRemaining, 0);
      await load.waitAcks(ackedBeforeKill.size + 10);
      await load.stop();

      const acked = load.acks();
      for (const [path, value] of acked) {
        const seq = path.slice(path.lastIndexOf('/') + 1);
        assert.deepEqual(await pilot.getSecret(path), { seq, value }, `acknowledged write ${path} lost`);
      }
      const after = await drill.snapshot();
      for (const [path, value] of Object.entries(before.secrets))
        assert.deepEqual(after.secrets[path], value, path);
      assert.deepEqual(after.policies, before.policies);
      // The files the CLI wrote at the start are the new key's; the keepers hold its shares.
      const files = await assertNewKey(firstFiles);
      assert.deepEqual(files, newFiles);
      // Older cipher-API ciphertexts still decrypt.
      assert.equal(new TextDecoder().decode(await pilot.decrypt(sealed)), 'made before rotation');
    } finally {
      resumeKeepers();
      await load.proc.stop('SIGKILL');
    }
  });

  it('drill: killed before any keeper got a new share, keepers lost too; the old files restore it, it finishes, then they are refused', async () => {
    const { stack } = drill;
    const before = await drill.snapshot();
    const oldFiles = await drill.recoveryFiles();
    for (const i of [0, 1, 2]) stack.signalKeeper(i, 'SIGSTOP');
    try {
      const begun = await pilot.rootKey.rotate();
      assert.deepEqual([begun.from, begun.generation, begun.rotating], [2, 3, true]);
      await assert.rejects(pilot.rootKey.rotate(), /bad request|invalid/i, 'started twice');
      await stack.killNexus();
    } finally {
      resumeKeepers();
    }
    await Promise.all([0, 1, 2].map((i) => stack.killKeeper(i)));
    await stack.startKeepers();
    await drill.startNexus();
    assert.equal(await stack.nexusState(), 'not-ready');

    // The files of generation 2 (written before this rotation) still open it: it is unfinished.
    const first = await restore(oldFiles.get(1) ?? '');
    assert.equal(first.code, 0, first.stderr);
    const second = await restore(oldFiles.get(3) ?? '');
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /restored and ready/);
    await drill.waitReady();
    const done = await waitFinished();
    assert.equal(done.generation, 3);
    await assertSnapshot(before);
    const newFiles = await assertNewKey(oldFiles);

    // Finished: the files of generation 2 are refused, with a message that names the rotation.
    await stack.killNexus();
    await Promise.all([0, 1, 2].map((i) => stack.killKeeper(i)));
    await stack.startKeepers();
    await drill.startNexus();
    const refusedMark = drill.logMark('nexus');
    await restore(oldFiles.get(1) ?? '');
    const refused = await restore(oldFiles.get(2) ?? '');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /written before a root-key rotation/);
    await drill.logMatching(
      'nexus',
      refusedMark,
      'the shards given are of a root key that a rotation retired',
    );
    assert.equal(await stack.nexusState(), 'not-ready');
    // The new files replace the old shares index by index: once two of them are in, it restores.
    const withOld = await restore(newFiles.get(1) ?? '');
    assert.equal(withOld.code, 1, 'a new share and a retired one do not rebuild a key');
    const done2 = await restore(newFiles.get(2) ?? '');
    assert.equal(done2.code, 0, done2.stderr);
    assert.match(done2.stderr, /restored and ready/);
    await drill.waitReady();
    await assertSnapshot(before);
    assert.equal(new TextDecoder().decode(await pilot.decrypt(sealed)), 'made before rotation');
  });

  it('drill: killed right after the end; recovers from the keepers with the new key', async () => {
    const { stack } = drill;
    const before = await drill.snapshot();
    const oldFiles = await drill.recoveryFiles();
    const begun = await stack.runSpike('pilot', ['operator', 'rotate-root-key']);
    assert.equal(begun.code, 0, begun.stderr);
    assert.match(begun.stderr, /spike operator recover/);
    assert.match(begun.stderr, /Root-key rotation finished: generation 4/);
    assert.match(begun.stderr, /Recovery files written before this rotation no longer work/);
    await stack.killNexus();
    await drill.startNexus();
    await drill.waitReady();
    const s = await status();
    assert.deepEqual([s.generation, s.rotating, s.rowsRemaining], [4, false, 0]);
    await assertSnapshot(before);
    await assertNewKey(oldFiles);
    const shown = await stack.runSpike('pilot', ['operator', 'rotate-root-key', '--status']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /Root-key generation\s+4/);
    assert.match(shown.stdout, /none in progress/);
  });
});
