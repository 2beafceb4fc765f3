/**
 * SVID rotation under load on real SPIRE: every entry has a 30 s X.509-SVID TTL, so the agent
 * renews each component's SVID every ~10-20 s. A steady SDK read load over keep-alive mTLS runs
 * until Nexus, all three keepers and the client itself have each rotated at least twice (seen as
 * the serial of the certificate each server presents, and of the client's own SVID), while Nexus
 * keeps pushing and checking keeper shares over mTLS every second. Not one request may fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tail, waitUntil, type RunResult } from './child-process.ts';
import { startSpire, type SpireHarness } from './spire-harness.ts';
import { lastLoadStatus, stopLoad, type LoadStatus } from './load-status.ts';
import { presentedSerial } from './presented-serial.ts';
import { SpikeOnSpire } from './spike-on-spire.ts';

/** Short enough for rotations every few seconds; SPIRE backdates NotBefore by 10 s on top. */
const SVID_TTL_SECONDS = 30;
const PATH = 'tenants/demo/rotation';
const VALUES = { token: 'rotating-but-stable' };

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${String(r.code)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

describe('SVID rotation under load on SPIRE', () => {
  let spire: SpireHarness;
  let stack: SpikeOnSpire;

  before(async () => {
    spire = await startSpire({ x509SvidTtlSeconds: SVID_TTL_SECONDS });
    stack = new SpikeOnSpire(spire);
    await stack.startKeepers(3);
    await stack.startNexus({
      SPIKE_NEXUS_KEEPER_UPDATE_INTERVAL: '2s',
      SPIKE_NEXUS_KEEPER_HEARTBEAT_INTERVAL: '1s',
    });
    ok(await stack.runBootstrap(), 'spike-bootstrap');
    await stack.waitNexusReady();
    ok(await stack.spike('pilot', ['secret', 'put', PATH, `token=${VALUES.token}`]), 'secret put');
    ok(
      await stack.spike('pilot', [
        'policy',
        'create',
        '--name',
        'demo-reads',
        '--path-pattern',
        '^tenants/demo/',
        '--spiffeid-pattern',
        '^spiffe://spike\\.ist/workload/demo$',
        '--permissions',
        'read',
      ]),
      'policy create',
    );
  });
  after(async () => {
    await stack?.close();
    await spire?.close();
  });

  it('serves a steady SDK load across two rotations of every SVID with zero failed requests', async (t) => {
    const servers = [
      { name: 'nexus', port: stack.nexus!.port },
      ...stack.keepers.map((k, i) => ({ name: `keeper-${String(i + 1)}`, port: k.port })),
    ];
    const seen = new Map<string, Set<string>>(servers.map((s) => [s.name, new Set<string>()]));
    const nexusLogStart = stack.nexus!.child.output().length;
    const load = await stack.startLoad('demo', PATH, VALUES);
    let final: LoadStatus | undefined;
    let clientSerials: string[] = [];
    try {
      await waitUntil(
        "two rotations of every component's SVID",
        150_000,
        async () => {
          if (!load.running()) throw new Error(`load client exited:\n${tail(load.output())}`);
          for (const s of servers) seen.get(s.name)!.add(await presentedSerial(s.port));
          clientSerials = lastLoadStatus(load)?.serials ?? [];
          const rotated =
            [...seen.values()].every((serials) => serials.size >= 3) && clientSerials.length >= 3;
          return rotated ? true : undefined;
        },
        1000,
      );
      final = await stopLoad(load);
    } finally {
      if (load.running()) await load.stop('SIGKILL');
    }
    const counts = [...seen].map(([name, serials]) => `${name} ${String(serials.size)}`);
    t.diagnostic(
      `${String(final.ok)} requests, ${String(final.failed)} failed; SVIDs seen: ${counts.join(', ')}, ` +
        `client ${String(final.serials.length)}`,
    );
    assert.deepEqual(final.errors, []);
    assert.equal(final.failed, 0);
    assert.ok(final.ok > 200, `only ${String(final.ok)} requests`);
    assert.ok(final.serials.length >= 3, `client serials: ${final.serials.join(',')}`);
    for (const [name, serials] of seen) assert.ok(serials.size >= 3, `${name}: ${[...serials].join(',')}`);

    // Nexus kept talking to every keeper across their rotations and its own.
    const nexusLog = stack.nexus!.child.output().slice(nexusLogStart);
    assert.doesNotMatch(nexusLog, /keeper unreachable|keeper sync failed|keeper holds no share/);
    assert.equal(await stack.nexusReady(), true);
  });
});
