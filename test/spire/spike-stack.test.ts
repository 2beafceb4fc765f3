/**
 * The whole SPIKE stack on real SPIRE, every process holding only the SVID the SPIRE agent gave
 * its role (selected by the role's own Node.js link, all under the test's uid): 3 keepers and
 * Nexus on SQLite, bootstrap, secrets and policies through the `spike` CLI and the SDK, Nexus
 * killed with SIGKILL and recovering from the keepers, operator recover and restore when the
 * keepers are empty too, and a SPIRE agent restart under a steady SDK load.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { tail, waitUntil, type RunResult } from './child-process.ts';
import { startSpire, type SpireHarness } from './spire-harness.ts';
import { lastLoadStatus, stopLoad, type LoadStatus } from './load-status.ts';
import { presentedSerial } from './presented-serial.ts';
import { BIN, SpikeOnSpire } from './spike-on-spire.ts';

const DEMO_PATH = 'tenants/demo/db/creds';
const DEMO_VALUES = { username: 'SPIKE', password: 'SPIKE_Rocks' };

function ok(r: RunResult, what = 'command'): RunResult {
  assert.equal(r.code, 0, `${what} exited ${String(r.code)}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe('SPIKE on SPIRE: keepers, Nexus, bootstrap, CLI and SDK with SPIRE-issued SVIDs', () => {
  let spire: SpireHarness;
  let stack: SpikeOnSpire;
  const pilot = (args: string[], input?: string) => stack.spike('pilot', args, input);

  before(async () => {
    spire = await startSpire();
    stack = new SpikeOnSpire(spire);
    await stack.startKeepers(3);
    await stack.startNexus();
  });
  after(async () => {
    await stack?.close();
    await spire?.close();
  });

  it('bootstrap refuses a non-bootstrap SVID, then initializes Nexus with its own', async () => {
    const wrong = await stack.runNode('pilot', BIN.bootstrap, ['-init']);
    assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
    assert.match(wrong.stdout + wrong.stderr, /not a SPIKE Bootstrap ID/);
    assert.equal(await stack.nexusReady(), false);

    const boot = ok(await stack.runBootstrap(), 'spike-bootstrap -init');
    assert.match(boot.stdout + boot.stderr, /Bootstrap complete/);
    await stack.waitNexusReady();

    const again = await stack.runBootstrap();
    assert.equal(again.code, 3, again.stdout + again.stderr);
    assert.match(again.stdout + again.stderr, /already initialized/);
  });

  it('secrets round-trip through the spike CLI (Pilot superuser)', async () => {
    ok(await pilot(['secret', 'put', 'app/db', 'user=admin', 'pass=s3cr3t']));
    ok(await pilot(['secret', 'put', 'app/db', 'user=admin2', 'pass=s3cr3t2']));
    assert.equal(ok(await pilot(['secret', 'get', 'app/db'])).stdout, 'pass: s3cr3t2\nuser: admin2\n');
    assert.deepEqual(
      JSON.parse(ok(await pilot(['secret', 'get', 'app/db', '-v', '1', '-f', 'json'])).stdout),
      {
        pass: 's3cr3t',
        user: 'admin',
      },
    );
    assert.deepEqual(parseYaml(ok(await pilot(['secret', 'list', '-f', 'yaml'])).stdout), ['app/db']);
    const meta = JSON.parse(
      ok(await pilot(['secret', 'metadata', 'get', 'app/db', '-f', 'json'])).stdout,
    ) as {
      metadata: { currentVersion: number };
    };
    assert.equal(meta.metadata.currentVersion, 2);
    ok(await pilot(['secret', 'delete', 'app/db', '-v', '1,2']));
    const gone = await pilot(['secret', 'get', 'app/db']);
    assert.equal(gone.code, 3, gone.stderr);
    assert.match(gone.stderr, /not found/);
    ok(await pilot(['secret', 'undelete', 'app/db']));
    assert.equal(ok(await pilot(['secret', 'get', 'app/db', 'user'])).stdout, 'admin2\n');
  });

  it('the CLI refuses to act with a non-Pilot SVID', async () => {
    const r = await stack.spike('demo', ['secret', 'list']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /needs the SPIKE Pilot superuser role, but this CLI's SVID is spiffe:\/\/spike\.ist\/workload\/demo/,
    );
  });

  it('policies round-trip through the CLI and the SDK, and decide what the demo workload may do', async () => {
    const before = await stack.sdk('demo', [
      { method: 'putSecret', args: [DEMO_PATH, DEMO_VALUES] },
      { method: 'getSecret', args: [DEMO_PATH] },
    ]);
    assert.deepEqual(
      before.map((o) => (o.ok ? 'ok' : o.code)),
      ['access_unauthorized', 'access_unauthorized'],
    );

    for (const [name, perm] of [
      ['workload-can-read', 'read'],
      ['workload-can-write', 'write'],
    ]) {
      ok(
        await pilot([
          'policy',
          'create',
          '--name',
          name!,
          '--path-pattern',
          '^tenants/demo/db/.*$',
          '--spiffeid-pattern',
          '^spiffe://spike\\.ist/workload/.*$',
          '--permissions',
          perm!,
        ]),
      );
    }
    const listed = JSON.parse(ok(await pilot(['policy', 'list', '-f', 'json'])).stdout) as Array<{
      name: string;
    }>;
    assert.deepEqual(listed.map((p) => p.name).sort(), ['workload-can-read', 'workload-can-write']);
    const shown = JSON.parse(
      ok(await pilot(['policy', 'get', 'workload-can-read', '-f', 'json'])).stdout,
    ) as {
      permissions: string[];
    };
    assert.deepEqual(shown.permissions, ['read']);

    const allowed = await stack.sdk('demo', [
      { method: 'putSecret', args: [DEMO_PATH, DEMO_VALUES] },
      { method: 'getSecret', args: [DEMO_PATH] },
      { method: 'getSecret', args: ['app/db'] },
      { method: 'listPolicies', args: [] },
    ]);
    assert.deepEqual(allowed[0], { ok: true, value: null });
    assert.deepEqual(allowed[1], { ok: true, value: DEMO_VALUES });
    assert.equal(allowed[2]?.ok === false && allowed[2].code, 'access_unauthorized', 'outside the policy');
    assert.equal(allowed[3]?.ok === false && allowed[3].code, 'access_unauthorized', 'not an admin');

    const policy = {
      name: 'sdk-made',
      spiffeIdPattern: '^spiffe://spike\\.ist/workload/demo$',
      pathPattern: '^tenants/sdk/.*$',
      permissions: ['read', 'list'],
    };
    const admin = await stack.sdk('pilot', [
      { method: 'putPolicy', args: [policy] },
      { method: 'getPolicy', args: ['sdk-made'] },
      { method: 'listPolicies', args: [] },
      { method: 'deletePolicy', args: ['sdk-made'] },
      { method: 'getPolicy', args: ['sdk-made'] },
    ]);
    assert.ok(admin[0]?.ok, JSON.stringify(admin[0]));
    const got = admin[1]?.ok === true ? (admin[1].value as Record<string, unknown>) : {};
    assert.deepEqual(
      {
        name: got['name'],
        spiffeIdPattern: got['spiffeIdPattern'],
        pathPattern: got['pathPattern'],
        permissions: got['permissions'],
      },
      policy,
    );
    const names = admin[2]?.ok === true ? (admin[2].value as Array<{ name: string }>).map((p) => p.name) : [];
    assert.ok(names.includes('sdk-made'), names.join(','));
    assert.ok(admin[3]?.ok, JSON.stringify(admin[3]));
    assert.equal(admin[4]?.ok === false && admin[4].code, 'api_not_found');
    assert.equal(ok(await pilot(['policy', 'delete', 'workload-can-write', '--yes'])).code, 0);
    const readOnly = await stack.sdk('demo', [{ method: 'putSecret', args: [DEMO_PATH, DEMO_VALUES] }]);
    assert.equal(readOnly[0]?.ok === false && readOnly[0].code, 'access_unauthorized');

    // The audit trail names the SPIRE-issued callers.
    const audit = await readFile(join(await stack.home('nexus'), 'audit.jsonl'), 'utf8');
    assert.match(audit, /spiffe:\/\/spike\.ist\/workload\/demo/);
    assert.match(audit, /spiffe:\/\/spike\.ist\/spike\/pilot\/role\/superuser/);
  });

  it('Nexus killed with SIGKILL restarts and recovers its root key from the keepers', async () => {
    ok(await pilot(['secret', 'put', 'drill/kill', 'v=before-kill']));
    assert.equal(await stack.nexus!.child.stop('SIGKILL'), 'SIGKILL');
    await stack.startNexus();
    await stack.waitNexusReady();
    assert.match(stack.nexus!.child.output(), /recovering the root key from keepers/);
    assert.equal(ok(await pilot(['secret', 'get', 'drill/kill', 'v'])).stdout, 'before-kill\n');
  });

  it('with the keepers emptied too, operator recover files restore the root key (recover/restore roles)', async () => {
    ok(await stack.spike('pilot-recover', ['operator', 'recover']));
    const dir = join(await stack.home('pilot-recover'), 'recover');
    const files = (await readdir(dir)).filter((f) => f.startsWith('spike.recovery.')).sort();
    assert.equal(files.length, 3);

    await stack.nexus!.child.stop('SIGKILL');
    await Promise.all(stack.keepers.map((k) => k.child.stop('SIGKILL')));
    await stack.startKeepers(3);
    await stack.startNexus();
    await waitUntil('Nexus to find the keepers empty', 30_000, () =>
      /keeper holds no share yet/.test(stack.nexus!.child.output()) ? true : undefined,
    );
    assert.equal(await stack.nexusReady(), false);
    const denied = await stack.spike('pilot', ['operator', 'restore'], 'spike:1:00');
    assert.notEqual(denied.code, 0, 'a superuser is not the restore role');

    const first = ok(
      await stack.spike(
        'pilot-restore',
        ['operator', 'restore'],
        await readFile(join(dir, files[0]!), 'utf8'),
      ),
    );
    assert.match(first.stderr, /Shards collected: 1, remaining: 1/);
    const second = ok(
      await stack.spike(
        'pilot-restore',
        ['operator', 'restore'],
        await readFile(join(dir, files[1]!), 'utf8'),
      ),
    );
    assert.match(second.stderr, /restored and ready/);
    await stack.waitNexusReady();
    assert.equal(ok(await pilot(['secret', 'get', 'drill/kill', 'v'])).stdout, 'before-kill\n');
  });

  it('survives a SPIRE agent restart under an SDK load: no failed request, new SVIDs afterwards', async () => {
    const load = await stack.startLoad('demo', DEMO_PATH, DEMO_VALUES);
    let final: LoadStatus | undefined;
    try {
      await waitUntil('the load to get going', 30_000, () => {
        if (!load.running()) throw new Error(`load client exited:\n${tail(load.output())}`);
        return (lastLoadStatus(load)?.ok ?? 0) >= 20 ? true : undefined;
      });
      const ports = [stack.nexus!.port, ...stack.keepers.map((k) => k.port)];
      const before = await Promise.all(ports.map((p) => presentedSerial(p)));
      const clientBefore = lastLoadStatus(load)!.serials.at(-1);

      await spire.stopAgent();
      const okAtStop = lastLoadStatus(load)!.ok;
      await waitUntil('requests to keep succeeding while the agent is down', 30_000, () =>
        (lastLoadStatus(load)?.ok ?? 0) >= okAtStop + 40 ? true : undefined,
      );
      assert.equal(spire.agentRunning(), false);
      await spire.startAgent();

      await waitUntil('every component to receive a new SVID from the restarted agent', 60_000, async () => {
        const now = await Promise.all(ports.map((p) => presentedSerial(p)));
        const client = lastLoadStatus(load)?.serials.at(-1);
        return now.every((s, i) => s !== before[i]) && client !== clientBefore ? true : undefined;
      });
      // A new process gets its SVID from the restarted agent.
      assert.equal(ok(await pilot(['secret', 'get', DEMO_PATH, 'username'])).stdout, 'SPIKE\n');
      const okAfter = lastLoadStatus(load)!.ok;
      await waitUntil('requests with the new SVIDs', 30_000, () =>
        (lastLoadStatus(load)?.ok ?? 0) >= okAfter + 40 ? true : undefined,
      );
    } finally {
      if (load.running()) final = await stopLoad(load);
    }
    assert.deepEqual(final?.errors, []);
    assert.equal(final.failed, 0);
    assert.ok(final.ok > 100, `only ${String(final.ok)} requests`);
  });
});
