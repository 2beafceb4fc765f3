/**
 * The governance guide (docs/governance.md) run as written: its commands through the real `spike`
 * binary against a real Nexus (mTLS port and people listener, audit to a file), people logged in
 * with tokens of a stand-in OIDC issuer, and the real `gpg`. Every command this test runs is
 * checked to appear verbatim in the guide, so the guide cannot drift from what works: server root
 * password (group read, workloads-only), cloud master key (two approvers), release signing key
 * (gpg --verify; optional approval), backup key (gpg --encrypt, decryption behind approval), and
 * the audit trail verified offline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SpikeRun } from '../cli/cli-harness.ts';
import { startPeopleLab, type PeopleLab } from '../cli/people-lab.ts';

const GUIDE = readFileSync(fileURLToPath(new URL('../../docs/governance.md', import.meta.url)), 'utf8');
/** Where the guide's audit file is; the test's is elsewhere. */
const GUIDE_AUDIT = '/var/log/spike/audit.jsonl';

/** Splits a command line as a POSIX shell would for these commands: spaces, '…' and "…". */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (const c of line) {
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      any = true;
    } else if (c === ' ') {
      if (any || cur !== '') out.push(cur);
      cur = '';
      any = false;
    } else cur += c;
  }
  if (any || cur !== '') out.push(cur);
  return out;
}

describe('docs/governance.md, run as written', { timeout: 600_000 }, () => {
  let t: PeopleLab;
  let work: string;
  let gnupg: string;
  let auditFile: string;
  const ran: string[] = [];

  /** One command of the guide (`<id>` stands for a request ID): checked to be in the guide, then run. */
  const guide = (line: string, id?: string): string[] => {
    assert.ok(GUIDE.includes(line), `docs/governance.md shows: ${line}`);
    ran.push(line);
    const argv = words(line).map((w) => (w === '<id>' ? (id ?? '') : w === GUIDE_AUDIT ? auditFile : w));
    return argv;
  };
  const spikeArgs = (line: string, id?: string): string[] => {
    const argv = guide(line, id);
    assert.equal(argv[0], 'spike');
    return argv.slice(1);
  };
  const operator = (line: string, input?: string): Promise<SpikeRun> =>
    t.asWorkload(spikeArgs(line), { cwd: work, ...(input === undefined ? {} : { input }) });
  const as = (name: string, line: string, id?: string): Promise<SpikeRun> =>
    t.asPerson(name, spikeArgs(line, id), { cwd: work, timeoutMs: 120_000 });
  const gpg = (line: string, input?: string) => {
    const argv = guide(line);
    assert.equal(argv[0], 'gpg');
    return spawnSync('gpg', ['--batch', '--no-tty', '--homedir', gnupg, ...argv.slice(1)], {
      cwd: work,
      encoding: 'utf8',
      ...(input === undefined ? {} : { input }),
    });
  };
  const done = (run: SpikeRun, what = ''): SpikeRun => {
    assert.equal(run.code, 0, `${what} exit ${String(run.code)}: ${run.stderr}`);
    return run;
  };
  /** The pending request of `requester` whose reason is `reason`, as an approver sees it. */
  const pendingId = async (approver: string, reason: string): Promise<string> => {
    for (let i = 0; i < 300; i += 1) {
      const list = JSON.parse(
        done(await t.asPerson(approver, ['requests', 'list', '--status', 'pending', '--json'])).stdout,
      ) as { id: string; reason: string }[];
      const found = list.find((r) => r.reason === reason);
      if (found !== undefined) return found.id;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no pending request with reason ${reason}`);
  };

  before(async () => {
    work = mkdtempSync('/tmp/spx-gov-');
    gnupg = mkdtempSync('/tmp/spx-govg-');
    auditFile = join(work, 'audit.jsonl');
    t = await startPeopleLab({ auditFile });
    for (const name of ['alice', 'bob', 'carol']) await t.login(name, ['infra']);
    for (const name of ['dave', 'frank', 'grace']) await t.login(name, ['dba']);
    await t.login('erin', ['admins']);
  });
  after(async () => {
    await t?.close();
    spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'all']);
    rmSync(work, { recursive: true, force: true });
    rmSync(gnupg, { recursive: true, force: true });
  });

  it('1. server root password: a group reads it; a workloads-only secret no person reads', async () => {
    done(await operator('spike secret put infra/db/root username=postgres password=-', 'pg-root-pw\n'));
    done(
      await operator(
        "spike policy apply --name infra-db-root --groups infra --path-pattern '^infra/db/root$' --permissions read",
      ),
    );
    assert.equal(done(await as('alice', 'spike secret get infra/db/root password')).stdout, 'pg-root-pw\n');
    const dave = await as('dave', 'spike secret get infra/db/root password');
    assert.equal(dave.code, 4, 'outside the group');
    done(await operator('spike secret put infra/db/host-key key=-', 'host-key-value\n'));
    done(
      await operator(
        "spike policy apply --name db-host-key --spiffeid-pattern '^spiffe://spike\\.ist/workload/db-host$' --path-pattern '^infra/db/host-key$' --permissions read --workloads-only",
      ),
    );
    const erin = await as('erin', 'spike secret get infra/db/host-key');
    assert.equal(erin.code, 4, erin.stderr);
    assert.match(erin.stderr, /denied this request for user:erin/);
    assert.doesNotMatch(erin.stdout, /host-key-value/);
  });

  it('2. cloud master key: two approvers from infra, the grant used once', async () => {
    done(
      await operator('spike secret put cloud/master access-key=AKIAEXAMPLE secret-key=-', 'cloud-secret\n'),
    );
    done(
      await operator(
        "spike policy apply --name cloud-master --groups infra --path-pattern '^cloud/master$' --permissions read --approval-required 2 --approval-groups infra --grant-ttl 10m",
      ),
    );
    const refused = await as('bob', 'spike secret get cloud/master secret-key');
    assert.equal(refused.code, 8, refused.stderr);
    // the guide shows this message as it is
    const message = refused.stderr.trim();
    assert.ok(GUIDE.includes(message), `the guide shows the refusal: ${message}`);
    const waiting = as(
      'bob',
      'spike request read cloud/master --reason "rotate the cloud root credentials (CHG-2041)" --wait',
    );
    const id = await pendingId('alice', 'rotate the cloud root credentials (CHG-2041)');
    assert.match(done(await as('alice', 'spike requests list --status pending')).stdout, new RegExp(id));
    const own = await as('bob', 'spike approve <id> --comment "CHG-2041 approved"', id);
    assert.equal(own.code, 1, 'bob cannot approve his own request');
    done(await as('alice', 'spike approve <id> --comment "CHG-2041 approved"', id));
    done(await as('carol', 'spike approve <id> --comment "CHG-2041 approved"', id));
    const waited = done(await waiting, '--wait');
    assert.equal(waited.stdout.trim(), id);
    assert.match(waited.stderr, /user:alice approved .*user:carol approved/s);
    assert.equal(done(await as('bob', 'spike secret get cloud/master secret-key')).stdout, 'cloud-secret\n');
    assert.equal((await as('bob', 'spike secret get cloud/master secret-key')).code, 8, 'used up');
  });

  it('3. release signing key: signed in Nexus, gpg --verify accepts it; optional approval per key', async () => {
    done(
      await operator(
        'spike key create release/pgp -a openpgp-ed25519 --user-id "Example Releases <release@example.org>"',
      ),
    );
    done(await operator('spike key public release/pgp -o release.asc'));
    done(
      await operator(
        "spike policy apply --name release-signers --groups infra --path-pattern '^release/pgp$' --permissions sign",
      ),
    );
    writeFileSync(join(work, 'SHA256SUMS'), 'e3b0c442...  app-2.0.0.tar.gz\n');
    done(await as('alice', 'spike sign release/pgp -f SHA256SUMS -o SHA256SUMS.asc'));
    assert.equal(gpg('gpg --import release.asc').status, 0);
    const verified = gpg('gpg --verify SHA256SUMS.asc SHA256SUMS');
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stderr, /Good signature from "Example Releases <release@example.org>"/);
    assert.notEqual((await as('dave', 'spike sign release/pgp -f SHA256SUMS -o SHA256SUMS.asc')).code, 0);

    done(
      await operator(
        "spike policy apply --name release-signing-approval --groups infra --path-pattern '^release/pgp$' --permissions sign --approval-required 1 --approval-groups infra --approval-permissions sign",
      ),
    );
    assert.equal((await as('alice', 'spike sign release/pgp -f SHA256SUMS -o SHA256SUMS.asc')).code, 8);
    const waiting = as('alice', 'spike request sign release/pgp --reason "sign release 2.0.0" --wait');
    const id = await pendingId('bob', 'sign release 2.0.0');
    done(await t.asPerson('bob', ['approve', id]));
    done(await waiting, '--wait');
    done(await as('alice', 'spike sign release/pgp -f SHA256SUMS -o SHA256SUMS.asc'));
    assert.equal(gpg('gpg --verify SHA256SUMS.asc SHA256SUMS').status, 0);
  });

  it('4. backup key: gpg encrypts to it; decryption through Nexus after two approvals, once', async () => {
    done(
      await operator(
        'spike key create backup/main -a openpgp-cv25519 --user-id "Backups <backup@example.org>"',
      ),
    );
    done(await operator('spike key public backup/main -o backup.asc'));
    writeFileSync(join(work, 'app.sql'), 'CREATE TABLE app (id int);\n');
    assert.equal(gpg('gpg --import backup.asc').status, 0);
    const enc = gpg('gpg --trust-model always --encrypt -r backup@example.org -o app.sql.gpg app.sql');
    assert.equal(enc.status, 0, enc.stderr);
    rmSync(join(work, 'app.sql'));
    done(
      await operator(
        "spike policy apply --name backup-restore --groups dba --path-pattern '^backup/main$' --permissions decrypt --approval-required 2 --approval-groups dba --approval-permissions decrypt",
      ),
    );
    const waiting = as(
      'dave',
      'spike request decrypt backup/main --reason "restore app after incident 77" --wait',
    );
    const id = await pendingId('frank', 'restore app after incident 77');
    done(await t.asPerson('frank', ['approve', id]));
    done(await t.asPerson('grace', ['approve', id]));
    done(await waiting, '--wait');
    done(await as('dave', 'spike key decrypt backup/main -f app.sql.gpg -o app.sql'));
    assert.equal(readFileSync(join(work, 'app.sql'), 'utf8'), 'CREATE TABLE app (id int);\n');
    rmSync(join(work, 'app.sql'));
    assert.equal((await as('dave', 'spike key decrypt backup/main -f app.sql.gpg -o app.sql')).code, 8);
  });

  it('5. the audit trail verifies offline against the public key and a checkpoint kept elsewhere', async () => {
    // `> file`: the test writes stdout to the file, as the shell would.
    guide('spike audit public-key > audit.pub');
    writeFileSync(join(work, 'audit.pub'), done(await t.asWorkload(['audit', 'public-key'])).stdout);
    guide('spike audit checkpoint > anchor.txt');
    writeFileSync(join(work, 'anchor.txt'), done(await t.asWorkload(['audit', 'checkpoint'])).stdout);
    const verified = await operator(
      'spike audit verify /var/log/spike/audit.jsonl --public-key audit.pub --checkpoint anchor.txt --allow-unsealed-tail',
    );
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout + verified.stderr, /audit trail verified: \d+ lines/);
    const lines = readFileSync(auditFile, 'utf8');
    assert.match(lines, /"route":"\/v1\/approvals"/);
    assert.doesNotMatch(
      lines,
      /CHG-2041|incident 77|pg-root-pw|cloud-secret/,
      'no reasons or values in the trail',
    );
    // an edited record is found
    writeFileSync(auditFile, lines.replace('"decision":"denied"', '"decision":"allowed"'));
    const tampered = await t.asWorkload(
      ['audit', 'verify', auditFile, '--public-key', join(work, 'audit.pub'), '--allow-unsealed-tail'],
      { cwd: work },
    );
    assert.equal(tampered.code, 1);
    assert.match(tampered.stderr, /audit verification FAILED at/);
  });

  it('ran every command of the guide’s scenarios', () => {
    assert.ok(ran.length >= 30, `${String(ran.length)} commands`);
  });
});
