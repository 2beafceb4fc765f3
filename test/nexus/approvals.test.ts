/**
 * Multi-party approval (ADR 0042) end to end in one process: a real Nexus with its mTLS port
 * (workloads, the Pilot superuser) and its people listener (people with tokens from a local
 * issuer), on the memory and SQLite backends. The clock of Nexus is the test's, so expiry is
 * reached by moving it, never by waiting.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { constants, publicEncrypt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestIssuer, type TestIssuer } from '@spike-ts/nexus/testing';
import { ID, call, client, createPki, startNexus, type Pki, type Reply, type TestNexus } from './harness.ts';
import { peopleListenerEnv, testIssuerEntry } from './people-listener-env.ts';

const A = '/v1/approvals?action=';
const GET = '/v1/store/secrets?action=get';
const PUT = '/v1/store/secrets';
const POLICY = '/v1/acl/policy';
const REASON = 'break-glass: the db lost its credentials (ticket OPS-4711)';

type Person = { preferred_username: string; groups: string[] };
const alice: Person = { preferred_username: 'alice', groups: ['infra'] };
const bob: Person = { preferred_username: 'bob', groups: ['infra'] };
const carol: Person = { preferred_username: 'carol', groups: ['infra', 'devs'] };
const dave: Person = { preferred_username: 'dave', groups: [] };
const root: Person = { preferred_username: 'root', groups: ['admins'] };
const audrey: Person = { preferred_username: 'audrey', groups: ['auditors'] };

for (const backend of ['memory', 'sqlite'] as const) {
  describe(`multi-party approval (${backend})`, () => {
    let pki: Pki;
    let idp: TestIssuer;
    let t: TestNexus;
    let dir: string;
    let peoplePort: number;
    let offset = 0;
    const now = (): number => Date.now() + offset;

    // Tokens are checked against the real clock; approvals against Nexus's (moved by the test).
    const asPerson = async (path: string, body: unknown, who: Person): Promise<Reply> => {
      const token = await idp.token(who);
      return call(peoplePort, pki, {
        path,
        body,
        client: null,
        headers: { authorization: `Bearer ${token}` },
      });
    };
    let mtlsCall: (path: string, body: unknown, as: string) => Promise<Reply>;
    const asWorkload = (path: string, body: unknown, as: string = ID.reader): Promise<Reply> =>
      mtlsCall(path, body, as);
    const ok = (r: Reply, what: string): Record<string, unknown> => {
      assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`);
      return r.json();
    };
    type View = {
      id: string;
      status: string;
      requester: string;
      requesterKind: string;
      approvals: { principal: string; comment?: string }[];
      denials: { principal: string }[];
      grantExpiresAt?: string;
      usedAt?: string;
      required: number;
    };
    const view = (r: Reply, what: string): View => ok(r, what)['request'] as View;
    const refusedForApproval = (r: Reply, what: string): void => {
      assert.equal(r.status, 403, `${what}: ${r.text}`);
      assert.equal(r.json()['err'], 'approval_required', what);
    };
    const lastAudit = () => t.audit.records().at(-1);

    before(async () => {
      pki = await createPki();
      idp = await startTestIssuer();
      dir = await mkdtemp(join(tmpdir(), 'spx-approvals-'));
      const peopleEnv = await peopleListenerEnv(pki, dir, [testIssuerEntry(idp.issuer)]);
      t = await startNexus(pki, {
        backend,
        now,
        env: {
          ...peopleEnv,
          SPIKE_NEXUS_API_THREADS: '1',
        },
      });
      peoplePort = t.nexus.peopleAddress()?.port ?? 0;
      const c = client(t, pki);
      mtlsCall = async (path, body, as) => c({ path, body, client: await pki.cert(as) });
      const su = (path: string, body: unknown) => mtlsCall(path, body, ID.superuser);
      ok(await su(PUT, { path: 'cloud/master', values: { key: 'cloud-secret-value' } }), 'put');
      ok(await su(PUT, { path: 'cloud/other', values: { key: 'other' } }), 'put');
      ok(await su(PUT, { path: 'free/x', values: { key: 'free' } }), 'put');
      const policy = async (p: Record<string, unknown>) =>
        ok(await su(POLICY, { spiffeidPattern: '', ...p }), `policy ${String(p['name'])}`);
      await policy({
        name: 'reader-cloud',
        spiffeidPattern: '^spiffe://spike\\.ist/workload/reader$',
        pathPattern: '^cloud/.*$',
        permissions: ['read', 'write'],
      });
      await policy({
        name: 'writer-cloud',
        spiffeidPattern: '^spiffe://spike\\.ist/workload/writer$',
        pathPattern: '^cloud/.*$',
        permissions: ['read'],
      });
      await policy({
        name: 'carol-cloud',
        people: ['user:carol'],
        pathPattern: '^cloud/.*$',
        permissions: ['read'],
      });
      await policy({
        name: 'carol-free',
        people: ['user:carol'],
        pathPattern: '^free/.*$',
        permissions: ['read'],
      });
      // The rule: a path marker that names nobody.
      await policy({
        name: 'cloud-approval',
        pathPattern: '^cloud/.*$',
        permissions: ['read', 'write'],
        approval: { required: 2, approverGroups: ['infra'] },
      });
    });
    after(async () => {
      await t?.close();
      await idp?.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('break glass: a workload gets a grant after two people approve, and any client then reads once', async () => {
      refusedForApproval(await asWorkload(GET, { path: 'cloud/master' }), 'before');
      const refusal = lastAudit();
      assert.equal(refusal?.err, 'approval_required');
      assert.equal(refusal?.decision, 'denied');
      assert.equal(refusal?.path, 'cloud/master');

      const filed = view(
        await asWorkload(`${A}request`, { operation: 'read', target: 'cloud/master', reason: REASON }),
        'request',
      );
      assert.equal(filed.status, 'pending');
      assert.equal(filed.requester, ID.reader);
      assert.equal(filed.requesterKind, 'workload');
      assert.equal(filed.required, 2);
      assert.match(filed.id, /^[A-Za-z0-9_-]{34}$/);
      assert.equal(lastAudit()?.approval, filed.id);

      const first = view(await asPerson(`${A}approve`, { id: filed.id, comment: 'ok' }, alice), 'alice');
      assert.equal(first.status, 'pending');
      assert.deepEqual(
        first.approvals.map((v) => [v.principal, v.comment]),
        [['user:alice', 'ok']],
      );
      // Approving twice.
      assert.equal((await asPerson(`${A}approve`, { id: filed.id }, alice)).status, 400);
      // Still no grant with one approval.
      refusedForApproval(await asWorkload(GET, { path: 'cloud/master' }), 'one approval');
      const second = view(await asPerson(`${A}approve`, { id: filed.id }, bob), 'bob');
      assert.equal(second.status, 'approved');
      assert.ok(second.grantExpiresAt !== undefined);

      // The grant is for this requester, this operation and this exact path only.
      refusedForApproval(await asWorkload(GET, { path: 'cloud/other' }), 'another path');
      refusedForApproval(
        await asWorkload(PUT, { path: 'cloud/master', values: { key: 'x' } }),
        'another operation',
      );
      refusedForApproval(await asWorkload(GET, { path: 'cloud/master' }, ID.writer), 'another requester');
      refusedForApproval(await asPerson(GET, { path: 'cloud/master' }, carol), 'another requester (person)');

      // A client that knows nothing of approvals: a plain secret get, as SPIKE's SDK sends it.
      const read = await asWorkload(GET, { path: 'cloud/master' });
      assert.deepEqual(ok(read, 'read with grant'), { data: { key: 'cloud-secret-value' } });
      const used = lastAudit();
      assert.equal(used?.approval, filed.id);
      assert.equal(used?.approvalStatus, 'used');
      assert.equal(used?.decision, 'allowed');
      // Using the grant twice.
      refusedForApproval(await asWorkload(GET, { path: 'cloud/master' }), 'second use');
      const after = view(await asWorkload(`${A}get`, { id: filed.id }), 'get');
      assert.equal(after.status, 'used');
      assert.ok(after.usedAt !== undefined);
    });

    it('approvers are people named by the rule, never the requester, and a denial ends it', async () => {
      const filed = view(
        await asPerson(`${A}request`, { operation: 'read', target: 'cloud/master', reason: REASON }, carol),
        'carol files',
      );
      assert.equal(filed.requesterKind, 'person');
      // Approving one's own request (carol is in infra too).
      assert.equal((await asPerson(`${A}approve`, { id: filed.id }, carol)).status, 401);
      // A person not in the approver set, an admin not in it, and a workload.
      assert.equal((await asPerson(`${A}approve`, { id: filed.id }, dave)).status, 401);
      assert.equal((await asPerson(`${A}approve`, { id: filed.id }, root)).status, 401);
      assert.equal((await asWorkload(`${A}approve`, { id: filed.id }, ID.superuser)).status, 401);
      assert.equal((await asWorkload(`${A}approve`, { id: filed.id })).status, 401);
      assert.equal(lastAudit()?.decision, 'denied');
      // Filing again while it is open answers the same request.
      const again = view(
        await asPerson(`${A}request`, { operation: 'read', target: 'cloud/master', reason: 'again' }, carol),
        'again',
      );
      assert.equal(again.id, filed.id);

      const denied = view(await asPerson(`${A}deny`, { id: filed.id, comment: 'no ticket' }, alice), 'deny');
      assert.equal(denied.status, 'denied');
      assert.deepEqual(
        denied.denials.map((v) => v.principal),
        ['user:alice'],
      );
      assert.equal((await asPerson(`${A}approve`, { id: filed.id }, bob)).status, 400);
      refusedForApproval(await asPerson(GET, { path: 'cloud/master' }, carol), 'after denial');

      // Who sees it: the requester, its approvers, admins and auditors; nobody else.
      for (const who of [carol, bob, root, audrey]) {
        assert.equal(view(await asPerson(`${A}get`, { id: filed.id }, who), 'get').status, 'denied');
      }
      assert.equal((await asPerson(`${A}get`, { id: filed.id }, dave)).status, 404);
      assert.equal((await asWorkload(`${A}get`, { id: filed.id }, ID.writer)).status, 404);
      const mine = ok(await asPerson(`${A}list`, { mine: true }, carol), 'list')['requests'] as View[];
      assert.ok(mine.some((r) => r.id === filed.id && r.status === 'denied'));
      const daves = ok(await asPerson(`${A}list`, {}, dave), 'list')['requests'] as View[];
      assert.deepEqual(daves, []);
      const pendingForBob = ok(await asPerson(`${A}list`, { status: 'denied' }, bob), 'list')[
        'requests'
      ] as View[];
      assert.ok(pendingForBob.every((r) => r.status === 'denied'));
      assert.ok(pendingForBob.some((r) => r.id === filed.id));
    });

    it('approving after expiry is refused, and a grant not used in time expires', async () => {
      const filed = view(
        await asPerson(`${A}request`, { operation: 'read', target: 'cloud/master', reason: REASON }, carol),
        'file',
      );
      offset += 86_400_000 + 1000;
      assert.equal((await asPerson(`${A}approve`, { id: filed.id }, alice)).status, 400);
      assert.equal(view(await asPerson(`${A}get`, { id: filed.id }, carol), 'get').status, 'expired');

      const next = view(
        await asPerson(`${A}request`, { operation: 'read', target: 'cloud/master', reason: REASON }, carol),
        'file again',
      );
      assert.notEqual(next.id, filed.id);
      view(await asPerson(`${A}approve`, { id: next.id }, alice), 'alice');
      assert.equal(view(await asPerson(`${A}approve`, { id: next.id }, bob), 'bob').status, 'approved');
      offset += 900_000 + 1000;
      refusedForApproval(await asPerson(GET, { path: 'cloud/master' }, carol), 'expired grant');
      assert.equal(view(await asPerson(`${A}get`, { id: next.id }, carol), 'get').status, 'expired');

      // Ended requests are kept a week, then pruned (here by the next filing).
      offset += 8 * 86_400_000;
      const later = view(
        await asPerson(`${A}request`, { operation: 'read', target: 'cloud/other', reason: REASON }, carol),
        'later',
      );
      for (const id of [filed.id, next.id]) {
        assert.equal((await asPerson(`${A}get`, { id }, carol)).status, 404, 'pruned');
      }
      view(await asPerson(`${A}cancel`, { id: later.id }, carol), 'cancel');
    });

    it('the Pilot superuser and admins need a grant too', async () => {
      refusedForApproval(await asWorkload(GET, { path: 'cloud/master' }, ID.superuser), 'superuser');
      refusedForApproval(
        await asPerson(PUT, { path: 'cloud/master', values: { key: 'x' } }, root),
        'admin write',
      );
      const filed = view(
        await asWorkload(
          `${A}request`,
          { operation: 'read', target: 'cloud/master', reason: REASON },
          ID.superuser,
        ),
        'superuser files',
      );
      view(await asPerson(`${A}approve`, { id: filed.id }, alice), 'alice');
      view(await asPerson(`${A}approve`, { id: filed.id }, bob), 'bob');
      ok(await asWorkload(GET, { path: 'cloud/master' }, ID.superuser), 'superuser reads');
      refusedForApproval(await asWorkload(GET, { path: 'cloud/master' }, ID.superuser), 'superuser again');
      // Metadata is not gated; the secret list never shows the approval records.
      ok(
        await asWorkload('/v1/store/secrets/metadata?action=get', { path: 'cloud/master' }, ID.superuser),
        'meta',
      );
      const keys = ok(await asWorkload('/v1/store/secrets?action=list', {}, ID.superuser), 'list')['keys'];
      assert.deepEqual(keys, ['cloud/master', 'cloud/other', 'free/x']);
    });

    it('a cancelled request grants nothing; only the requester cancels', async () => {
      const filed = view(
        await asPerson(`${A}request`, { operation: 'read', target: 'cloud/other', reason: REASON }, carol),
        'file',
      );
      assert.equal((await asPerson(`${A}cancel`, { id: filed.id }, alice)).status, 401);
      assert.equal((await asPerson(`${A}cancel`, { id: filed.id }, dave)).status, 404);
      assert.equal(view(await asPerson(`${A}cancel`, { id: filed.id }, carol), 'cancel').status, 'cancelled');
      assert.equal((await asPerson(`${A}approve`, { id: filed.id }, alice)).status, 400);
      assert.equal((await asPerson(`${A}cancel`, { id: filed.id }, carol)).status, 400);
    });

    it('refuses malformed bodies, wrong types and bad values, and changes nothing', async () => {
      const raw = (body: unknown, action = 'request') => asPerson(`${A}${action}`, body, carol);
      const bad: [unknown, string][] = [
        ['{not json', 'request'],
        [[], 'request'],
        [{ operation: 5, target: 'cloud/master', reason: 'x' }, 'request'],
        [{ operation: 'steal', target: 'cloud/master', reason: 'x' }, 'request'],
        [{ operation: 'read', target: 'cloud/master', reason: '' }, 'request'],
        [{ operation: 'read', target: 'cloud/master', reason: '   ' }, 'request'],
        [{ operation: 'read', target: 'cloud/master', reason: 'x'.repeat(1001) }, 'request'],
        [{ operation: 'read', target: 'cloud/master', reason: 'bell\u0007' }, 'request'],
        [{ operation: 'read', target: 'cloud/master', reason: 'x', extra: 1 }, 'request'],
        // An operation no rule gates.
        [{ operation: 'read', target: 'free/x', reason: 'x' }, 'request'],
        [{ id: 7 }, 'approve'],
        [{ id: 'short' }, 'approve'],
        [{ id: 'A'.repeat(34), comment: 7 }, 'approve'],
        [{ id: 'A'.repeat(34), comment: 'x'.repeat(1001) }, 'deny'],
        [{ status: 'lost' }, 'list'],
        [{ limit: 5000 }, 'list'],
        [{ mine: 'yes' }, 'list'],
      ];
      const before = await t.store.listSecretPaths();
      for (const [body, action] of bad) {
        const r =
          typeof body === 'string'
            ? await call(peoplePort, pki, {
                path: `${A}${action}`,
                body,
                client: null,
                headers: { authorization: `Bearer ${await idp.token(carol)}` },
              })
            : await raw(body, action);
        assert.equal(r.status, 400, `${action} ${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
        assert.deepEqual(r.json(), { err: 'api_bad_request' });
      }
      // An unknown id of the right shape.
      assert.equal((await raw({ id: 'A'.repeat(34) }, 'approve')).status, 404);
      assert.equal((await raw({ id: 'A'.repeat(34) }, 'get')).status, 404);
      // A bad path from a caller allowed everywhere (the Pilot superuser): 400 after authorization.
      assert.equal(
        (
          await asWorkload(
            `${A}request`,
            { operation: 'read', target: 'bad path!', reason: 'r' },
            ID.superuser,
          )
        ).status,
        400,
      );
      assert.equal(
        (await asWorkload(`${A}request`, { operation: 'sign', target: '../key', reason: 'r' }, ID.superuser))
          .status,
        400,
      );
      // The policy target must be empty.
      assert.equal(
        (await asWorkload(`${A}request`, { operation: 'policy', target: 'x', reason: 'r' }, ID.superuser))
          .status,
        400,
      );
      // Not allowed to do the operation at all: 401 before anything is looked up.
      assert.equal(
        (await asPerson(`${A}request`, { operation: 'read', target: 'cloud/master', reason: 'x' }, dave))
          .status,
        401,
      );
      assert.equal(
        (await asPerson(`${A}request`, { operation: 'write', target: 'cloud/master', reason: 'x' }, carol))
          .status,
        401,
      );
      assert.deepEqual(await t.store.listSecretPaths(), before);
    });

    it('refuses bad approval rules in policies with the rule broken, and reads rules back', async () => {
      const su = (body: unknown) => asWorkload(POLICY, body, ID.superuser);
      const base = { name: 'bad-rule', spiffeidPattern: '', pathPattern: '^x/.*$', permissions: ['read'] };
      for (const approval of [
        { required: 0, approverGroups: ['infra'] },
        { required: 10, approverGroups: ['infra'] },
        { required: 1 },
        { required: 1, approverGroups: [] },
        { required: 1, approverPeople: ['alice'] },
        { required: 3, approverPeople: ['user:a', 'user:b'] },
        { required: 1, approverGroups: ['infra'], permissions: ['list'] },
        { required: 1, approverGroups: ['infra'], permissions: [] },
        { required: 1, approverGroups: ['infra'], grantTtlSeconds: 86_401 },
        { required: 1, approverGroups: ['infra'], requestTtlSeconds: 0 },
        { required: 1, approverGroups: ['infra'], unknown: true },
        { required: '2', approverGroups: ['infra'] },
        { required: 1, approverGroups: 'infra' },
        'two please',
      ]) {
        const r = await su({ ...base, approval });
        assert.equal(r.status, 400, JSON.stringify(approval));
      }
      assert.equal(await t.store.getPolicy('bad-rule'), undefined);
      const got = ok(await asWorkload(`${POLICY}?action=get`, { id: 'cloud-approval' }, ID.superuser), 'get');
      assert.deepEqual(got['approval'], { required: 2, approverGroups: ['infra'] });
      const plain = ok(await asWorkload(`${POLICY}?action=get`, { id: 'reader-cloud' }, ID.superuser), 'get');
      assert.equal('approval' in plain, false);
    });

    it('a signing key behind approval: approvalRequired, a grant per signature, bad input uses none', async () => {
      const su = (path: string, body: unknown) => asWorkload(path, body, ID.superuser);
      ok(await su('/v1/keys', { name: 'keys/release', algorithm: 'ed25519' }), 'create');
      ok(
        await su(POLICY, {
          name: 'reader-sign',
          spiffeidPattern: '^spiffe://spike\\.ist/workload/reader$',
          pathPattern: '^keys/.*$',
          permissions: ['sign', 'read'],
        }),
        'policy',
      );
      const pub = ok(await su('/v1/keys?action=get', { name: 'keys/release' }), 'public');
      assert.equal(pub['approvalRequired'], false);
      ok(
        await su(POLICY, {
          name: 'release-approval',
          spiffeidPattern: '',
          pathPattern: '^keys/release$',
          permissions: ['sign'],
          approval: { required: 1, approverPeople: ['user:alice'] },
        }),
        'rule',
      );
      assert.equal(
        ok(await su('/v1/keys?action=get', { name: 'keys/release' }), 'public')['approvalRequired'],
        true,
      );
      const message = Buffer.from('release 1.2.3').toString('base64');
      refusedForApproval(await asWorkload('/v1/keys/sign', { name: 'keys/release', message }), 'sign');
      const filed = view(
        await asWorkload(`${A}request`, {
          operation: 'sign',
          target: 'keys/release',
          reason: 'release 1.2.3',
        }),
        'file',
      );
      assert.equal((await asPerson(`${A}approve`, { id: filed.id }, bob)).status, 401);
      view(await asPerson(`${A}approve`, { id: filed.id }, alice), 'alice');
      // A malformed message fails before the grant is looked at.
      assert.equal((await asWorkload('/v1/keys/sign', { name: 'keys/release', message: '!!' })).status, 400);
      const signed = ok(await asWorkload('/v1/keys/sign', { name: 'keys/release', message }), 'sign');
      assert.equal(typeof signed['signature'], 'string');
      assert.equal(lastAudit()?.approval, filed.id);
      refusedForApproval(await asWorkload('/v1/keys/sign', { name: 'keys/release', message }), 'sign again');
      // Verifying is not gated.
      ok(
        await su(POLICY, {
          name: 'reader-verify',
          spiffeidPattern: '^spiffe://spike\\.ist/workload/reader$',
          pathPattern: '^keys/.*$',
          permissions: ['verify'],
        }),
        'verify policy',
      );
      assert.equal(
        ok(
          await asWorkload('/v1/keys/verify', {
            name: 'keys/release',
            message,
            signature: signed['signature'],
          }),
          'v',
        )['valid'],
        true,
      );
    });

    it('a backup key behind approval: decrypting needs a grant, once', async () => {
      const su = (path: string, body: unknown) => asWorkload(path, body, ID.superuser);
      ok(await su('/v1/keys', { name: 'backup/main', algorithm: 'rsa-oaep-3072' }), 'create');
      ok(
        await su(POLICY, {
          name: 'reader-backup',
          spiffeidPattern: '^spiffe://spike\\.ist/workload/reader$',
          pathPattern: '^backup/main$',
          permissions: ['decrypt', 'read'],
          approval: { required: 2, approverGroups: ['infra'], permissions: ['decrypt'] },
        }),
        'policy with a rule',
      );
      const pub = ok(await su('/v1/keys?action=get', { name: 'backup/main' }), 'public');
      assert.equal(pub['approvalRequired'], true);
      const pem = (pub['versions'] as { publicKeyPem: string }[])[0]?.publicKeyPem ?? '';
      const ciphertext = publicEncrypt(
        { key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        Buffer.from('data-encryption-key'),
      ).toString('base64');
      refusedForApproval(
        await asWorkload('/v1/keys/decrypt', { name: 'backup/main', ciphertext }),
        'decrypt',
      );
      const filed = view(
        await asWorkload(`${A}request`, { operation: 'decrypt', target: 'backup/main', reason: 'restore' }),
        'file',
      );
      view(await asPerson(`${A}approve`, { id: filed.id }, alice), 'alice');
      view(await asPerson(`${A}approve`, { id: filed.id }, bob), 'bob');
      const plain = ok(await asWorkload('/v1/keys/decrypt', { name: 'backup/main', ciphertext }), 'decrypt');
      assert.equal(Buffer.from(String(plain['plaintext']), 'base64').toString(), 'data-encryption-key');
      refusedForApproval(await asWorkload('/v1/keys/decrypt', { name: 'backup/main', ciphertext }), 'again');
    });

    it('too many open requests of one requester are refused', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 16; i++) {
        const r = await asWorkload(`${A}request`, {
          operation: 'write',
          target: `cloud/t${i}`,
          reason: REASON,
        });
        ids.push(view(r, `request ${i}`).id);
      }
      const over = await asWorkload(`${A}request`, {
        operation: 'write',
        target: 'cloud/t16',
        reason: REASON,
      });
      assert.equal(over.status, 400);
      for (const id of ids) view(await asWorkload(`${A}cancel`, { id }), 'cancel');
      view(
        await asWorkload(`${A}request`, { operation: 'write', target: 'cloud/t16', reason: REASON }),
        'after',
      );
    });

    it('policy changes behind an approval rule on spike/system/acl', async () => {
      const su = (path: string, body: unknown) => asWorkload(path, body, ID.superuser);
      ok(
        await su(POLICY, {
          name: 'acl-approval',
          spiffeidPattern: '',
          pathPattern: '^spike/system/acl$',
          permissions: ['write'],
          approval: { required: 1, approverGroups: ['infra'] },
        }),
        'rule',
      );
      const change = {
        name: 'extra',
        spiffeidPattern: '^spiffe://spike\\.ist/workload/x$',
        pathPattern: '^x/.*$',
        permissions: ['read'],
      };
      refusedForApproval(await su(POLICY, change), 'upsert');
      refusedForApproval(await asPerson(POLICY, change, root), 'admin upsert');
      refusedForApproval(await su(`${POLICY}?action=delete`, { id: 'reader-cloud' }), 'delete');
      assert.equal(await t.store.getPolicy('extra'), undefined);
      // Reading policies is not gated.
      ok(await su(`${POLICY}?action=get`, { id: 'reader-cloud' }), 'get');
      const filed = view(
        await su(`${A}request`, { operation: 'policy', target: '', reason: 'add extra' }),
        'file',
      );
      view(await asPerson(`${A}approve`, { id: filed.id }, alice), 'alice');
      ok(await su(POLICY, change), 'upsert with grant');
      assert.equal(lastAudit()?.approval, filed.id);
      refusedForApproval(await su(`${POLICY}?action=delete`, { id: 'extra' }), 'grant used');
      // Removing the rule itself needs a grant too.
      const again = view(
        await su(`${A}request`, { operation: 'policy', target: '', reason: 'drop rule' }),
        'file',
      );
      view(await asPerson(`${A}approve`, { id: again.id }, bob), 'bob');
      ok(await su(`${POLICY}?action=delete`, { id: 'acl-approval' }), 'delete rule');
      ok(await su(`${POLICY}?action=delete`, { id: 'extra' }), 'no rule any more');
    });

    it('keeps reasons, comments and values out of the audit trail and the log', () => {
      const text = JSON.stringify(t.audit.records()) + t.logs.join('\n');
      for (const secret of ['cloud-secret-value', 'OPS-4711', 'no ticket']) {
        assert.equal(text.includes(secret), false, secret);
      }
      // Every step is in the trail: filed, approved, denied, cancelled, used, refused.
      const kinds = new Set(t.audit.records().map((r) => `${r.action}:${r.approvalStatus ?? r.err ?? ''}`));
      for (const k of [
        'request:pending',
        'approve:pending',
        'approve:approved',
        'deny:denied',
        'cancel:cancelled',
        'get:used',
        'get:approval_required',
      ]) {
        assert.ok(kinds.has(k), k);
      }
    });
  });
}
