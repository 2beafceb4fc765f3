/**
 * Multi-party approval through the real `spike` binary against a real Nexus (in this process,
 * memory backend) over mTLS and its people listener: the requester is a workload SVID (the Pilot
 * superuser, and a plain workload), the approvers are people whose logins are access tokens from a
 * stand-in OIDC issuer on loopback written into their own `spike login` cache (no Keycloak: the
 * login itself is tested in test/login/). Request, two approvals, the grant used once and refused
 * the second time; deny; cancel; `--wait`; bad inputs each with its message and exit code.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ok, type SpikeRun } from './cli-harness.ts';
import { requestIdOf, startPeopleLab, type PeopleLab } from './people-lab.ts';

const PILOT = 'spiffe://spike.ist/spike/pilot/role/superuser';
const SECRET = 'root-password-behind-approval';

describe(
  'spike request, approve, deny, requests (real Nexus, SVIDs and people)',
  { timeout: 300_000 },
  () => {
    let t: PeopleLab;
    const asWorkload = (args: string[], identity = 'pilot', timeoutMs?: number): Promise<SpikeRun> =>
      t.asWorkload(args, { identity, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    const asPerson = (name: string, args: string[]): Promise<SpikeRun> => t.asPerson(name, args);

    before(async () => {
      t = await startPeopleLab();
      await t.login('alice', ['infra']);
      await t.login('carol', ['infra']);
      await t.login('dave', []);

      ok(await asWorkload(['secret', 'put', 'infra/db/root', `password=${SECRET}`]));
      ok(await asWorkload(['secret', 'put', 'infra/db/other', 'password=free']));
      // People of group infra read infra/db/*; reading infra/db/root needs two approvals from infra.
      ok(
        await asWorkload([
          'policy',
          'create',
          '--name',
          'infra-db',
          '--groups',
          'infra',
          '--path-pattern',
          '^infra/db/.*$',
          '--permissions',
          'read',
        ]),
      );
      ok(
        await asWorkload([
          'policy',
          'create',
          '--name',
          'infra-db-root-approval',
          '--groups',
          'infra',
          '--path-pattern',
          '^infra/db/root$',
          '--permissions',
          'read',
          '--approval-required',
          '2',
          '--approval-groups',
          'infra',
          '--grant-ttl',
          '10m',
        ]),
      );
      // A plain workload (no Pilot role) that may read the path, so it may ask for it.
      ok(
        await asWorkload([
          'policy',
          'create',
          '--name',
          'stranger-reads-root',
          '--spiffeid-pattern',
          '^spiffe://spike\\.ist/workload/stranger$',
          '--path-pattern',
          '^infra/db/root$',
          '--permissions',
          'read',
        ]),
      );
    });

    after(async () => {
      await t?.close();
    });

    it('policy get shows the approval rule', async () => {
      const text = ok(await asWorkload(['policy', 'get', 'infra-db-root-approval'])).stdout;
      assert.match(
        text,
        /^Approval: +2 approvals; from groups infra; for the policy's permissions; grant valid 10m$/m,
      );
      const json = JSON.parse(
        ok(await asWorkload(['policy', 'get', 'infra-db-root-approval', '-f', 'json'])).stdout,
      ) as {
        approval?: unknown;
      };
      assert.deepEqual(json.approval, { required: 2, approverGroups: ['infra'], grantTtlSeconds: 600 });
      const plain = JSON.parse(
        ok(await asWorkload(['policy', 'get', 'infra-db', '-f', 'json'])).stdout,
      ) as object;
      assert.equal('approval' in plain, false);
    });

    it('request, two approvals, the grant used once, the second use refused with exit 8', async () => {
      const refused = await asWorkload(['secret', 'get', 'infra/db/root', 'password']);
      assert.equal(refused.code, 8, refused.stderr);
      assert.match(refused.stderr, /spike request read infra\/db\/root --reason/);
      assert.doesNotMatch(refused.stdout + refused.stderr, new RegExp(SECRET));
      // the approval rule covers values only: other paths and metadata are not gated
      assert.equal(ok(await asWorkload(['secret', 'get', 'infra/db/other', 'password'])).stdout, 'free\n');
      ok(await asWorkload(['secret', 'metadata', 'get', 'infra/db/root']));

      const filed = ok(
        await asWorkload(['request', 'read', 'infra/db/root', '--reason', 'rotate the root password']),
      );
      const id = requestIdOf(filed);
      assert.match(filed.stderr, /needs 2 approval\(s\)/);

      const list = ok(await asPerson('alice', ['requests', 'list', '--status', 'pending'])).stdout;
      assert.match(
        list,
        new RegExp(`^${id} +pending +read +infra/db/root +${PILOT.replace(/\./g, '\\.')} +0/2`, 'm'),
      );
      const first = ok(await asPerson('alice', ['approve', id, '--comment', 'ok, CHG-1']));
      assert.match(first.stderr, /\(1 of 2 approvals\); waiting for 1 more/);
      assert.equal(
        (await asWorkload(['secret', 'get', 'infra/db/root', 'password'])).code,
        8,
        'one approval is not enough',
      );
      const second = ok(await asPerson('carol', ['approve', id]));
      assert.match(second.stderr, /is approved \(2 of 2 approvals\)/);
      const shown = ok(await asWorkload(['requests', 'show', id])).stdout;
      assert.match(shown, /^Status +approved$/m);
      assert.match(shown, /user:alice at .*: "ok, CHG-1"/);

      assert.equal(
        ok(await asWorkload(['secret', 'get', 'infra/db/root', 'password'])).stdout,
        `${SECRET}\n`,
      );
      const again = await asWorkload(['secret', 'get', 'infra/db/root', 'password']);
      assert.equal(again.code, 8, 'the grant is single use');
      assert.doesNotMatch(again.stdout, new RegExp(SECRET));
      assert.match(ok(await asWorkload(['requests', 'show', id])).stdout, /^Status +used$/m);

      const records = t.audit.records().map((r) => r as unknown as Record<string, unknown>);
      const approvals = records.filter((r) => r.route === '/v1/approvals');
      assert.ok(approvals.some((r) => r.action === 'request' && r.caller === PILOT));
      assert.ok(approvals.some((r) => r.action === 'approve' && r.principal === 'user:alice'));
      assert.ok(!JSON.stringify(records).includes(SECRET), 'no secret value in the audit log');
    });

    it('a plain workload files a request with its SVID; only people approve', async () => {
      const filed = ok(
        await asWorkload(['request', 'read', 'infra/db/root', '--reason', 'break glass'], 'stranger'),
      );
      const id = requestIdOf(filed);
      const viaSvid = await asWorkload(['approve', id]);
      assert.equal(viaSvid.code, 4);
      assert.match(viaSvid.stderr, /Only people approve requests/);
      const mine = ok(await asWorkload(['requests', 'list', '--mine', '--json'], 'stranger')).stdout;
      assert.deepEqual(
        (JSON.parse(mine) as { id: string }[]).map((r) => r.id),
        [id],
      );
      ok(await asWorkload(['requests', 'cancel', id], 'stranger'));
    });

    it('deny ends a request at once; --wait exits 4 and says who denied', async () => {
      const waiting = asWorkload(
        ['request', 'read', 'infra/db/root', '--reason', 'please', '--wait', '--interval', '1'],
        'pilot',
        120_000,
      );
      let id = '';
      for (let i = 0; i < 200 && id === ''; i += 1) {
        const pending = JSON.parse(
          ok(await asPerson('alice', ['requests', 'list', '--status', 'pending', '--json'])).stdout,
        ) as { id: string; reason: string }[];
        id = pending.find((r) => r.reason === 'please')?.id ?? '';
        if (id === '') await new Promise((r) => setTimeout(r, 100));
      }
      assert.notEqual(id, '', 'the request shows up');
      ok(await asPerson('alice', ['deny', id, '--comment', 'not today']));
      const done = await waiting;
      assert.equal(done.code, 4, done.stderr);
      assert.match(done.stderr, /was denied by user:alice: "not today"/);
      const late = await asPerson('carol', ['approve', id]);
      assert.equal(late.code, 1);
      assert.match(late.stderr, /is denied, no longer pending/);
    });

    it('--wait follows the approvals and exits 0; then the operation goes through once', async () => {
      const waiting = asWorkload(
        ['request', 'read', 'infra/db/root', '--reason', 'wait for it', '--wait', '--interval', '1'],
        'pilot',
        120_000,
      );
      let id = '';
      for (let i = 0; i < 200 && id === ''; i += 1) {
        const pending = JSON.parse(
          ok(await asPerson('carol', ['requests', 'list', '--status', 'pending', '--json'])).stdout,
        ) as { id: string; reason: string }[];
        id = pending.find((r) => r.reason === 'wait for it')?.id ?? '';
        if (id === '') await new Promise((r) => setTimeout(r, 100));
      }
      ok(await asPerson('carol', ['approve', id]));
      ok(await asPerson('alice', ['approve', id, '-c', 'go']));
      const done = await waiting;
      assert.equal(done.code, 0, done.stderr);
      assert.equal(done.stdout.trim(), id);
      assert.match(done.stderr, /Waiting for approvals/);
      assert.match(done.stderr, /user:carol approved \(\d of 2 approvals\)/);
      assert.match(done.stderr, /may now run 'spike secret get infra\/db\/root' once/);
      assert.equal(
        ok(await asWorkload(['secret', 'get', 'infra/db/root', 'password'])).stdout,
        `${SECRET}\n`,
      );
    });

    it('cancel: only the requester; a cancelled request approves nothing', async () => {
      const id = requestIdOf(ok(await asWorkload(['request', 'read', 'infra/db/root', '--reason', 'oops'])));
      const notMine = await asPerson('alice', ['requests', 'cancel', id]);
      assert.equal(notMine.code, 4, notMine.stderr);
      assert.match(notMine.stderr, /Only the requester/);
      ok(await asWorkload(['requests', 'cancel', id]));
      const late = await asPerson('alice', ['approve', id]);
      assert.equal(late.code, 1);
      assert.match(late.stderr, /is cancelled, no longer pending/);
    });

    it('bad inputs: each a clear error and exit code, nothing changed', async () => {
      const before = ok(await asWorkload(['requests', 'list', '--json'])).stdout;
      const unknown = await asPerson('alice', ['approve', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']);
      assert.equal(unknown.code, 3, unknown.stderr);
      assert.match(unknown.stderr, /No request '.*' that you may see/);
      const empty = await asWorkload(['request', 'read', 'infra/db/root', '--reason', '']);
      assert.equal(empty.code, 1);
      assert.match(empty.stderr, /The reason is empty/);
      const long = await asWorkload(['request', 'read', 'infra/db/root', '--reason', 'x'.repeat(1001)]);
      assert.equal(long.code, 1);
      assert.match(long.stderr, /at most 1000/);
      const needless = await asWorkload(['request', 'read', 'infra/db/other', '--reason', 'no rule here']);
      assert.equal(needless.code, 1, needless.stderr);
      assert.match(needless.stderr, /needs no approval/);
      const noAccess = await asPerson('dave', ['request', 'read', 'infra/db/root', '--reason', 'let me']);
      assert.equal(noAccess.code, 4, 'the requester must be allowed the operation itself');
      assert.equal(ok(await asWorkload(['requests', 'list', '--json'])).stdout, before, 'nothing filed');

      // alice files her own request: she may not approve it; carol approves once, not twice
      const own = requestIdOf(
        ok(await asPerson('alice', ['request', 'read', 'infra/db/root', '--reason', 'mine'])),
      );
      const self = await asPerson('alice', ['approve', own]);
      assert.equal(self.code, 1, self.stderr);
      assert.match(self.stderr, /cannot approve your own request/);
      ok(await asPerson('carol', ['approve', own]));
      const twice = await asPerson('carol', ['approve', own]);
      assert.equal(twice.code, 1, twice.stderr);
      assert.match(twice.stderr, /already approved request .*: each approver counts once/);
      const outsider = await asPerson('dave', ['approve', own]);
      assert.ok(outsider.code === 3 || outsider.code === 4, `${String(outsider.code)}: ${outsider.stderr}`);
      const shown = ok(await asPerson('alice', ['requests', 'show', own, '--json'])).stdout;
      assert.equal((JSON.parse(shown) as { approvals: unknown[] }).approvals.length, 1);
    });
  },
);
