/**
 * @module people-lab
 * A real Nexus (in this process, memory backend) with its mTLS port and its people listener, a
 * dev identity issuer for workload SVIDs, and a stand-in OIDC issuer on loopback whose access
 * tokens are written into per-person `spike login` caches: so the real `spike` binary runs as a
 * workload (its SVID) or as a person (no socket, their login) without Keycloak. The login flows
 * themselves are tested against Keycloak in test/login/. Test-only.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createX509Source, type X509Source } from '@spike-ts/identity';
import { createMemoryAuditSink, createNexus, loadConfig, type Nexus } from '@spike-ts/nexus';
import { startTestIssuer, type TestIssuer } from '@spike-ts/nexus/testing';
import { serverCertificate } from '../console/fixtures.ts';
import { runSpike, startIdentityLab, type IdentityLab, type SpikeRun } from './cli-harness.ts';

export interface PeopleLab {
  readonly lab: IdentityLab;
  readonly nexus: Nexus;
  /** Scratch folder of the lab (removed at close). */
  readonly dir: string;
  /** Audit records, when no audit file was asked for. */
  readonly audit: ReturnType<typeof createMemoryAuditSink>;
  /** The `spike` binary as a workload (its SVID; default the Pilot superuser). */
  asWorkload(
    args: readonly string[],
    opts?: { identity?: string; input?: string | Buffer; cwd?: string; timeoutMs?: number },
  ): Promise<SpikeRun>;
  /** The `spike` binary as a person: no Workload API socket, their login cache. */
  asPerson(
    name: string,
    args: readonly string[],
    opts?: { input?: string | Buffer; cwd?: string; timeoutMs?: number },
  ): Promise<SpikeRun>;
  /** Writes a login cache for a person with these groups (a token of the stand-in issuer). */
  login(name: string, groups: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export async function startPeopleLab(options: { auditFile?: string } = {}): Promise<PeopleLab> {
  const lab = await startIdentityLab();
  const dir = mkdtempSync('/tmp/spx-plab-');
  let idp: TestIssuer | undefined;
  let source: X509Source | undefined;
  try {
    idp = await startTestIssuer();
    const cert = serverCertificate(dir);
    writeFileSync(
      join(dir, 'oidc.json'),
      JSON.stringify({
        issuers: [
          {
            issuer: idp.issuer,
            audience: 'spike-nexus',
            adminGroups: ['admins'],
            auditorGroups: ['auditors'],
          },
        ],
      }),
    );
    source = await createX509Source({
      endpoint: lab.issuer.endpointFor('nexus'),
      env: {},
      timeoutMs: 10_000,
    });
    const config = loadConfig(
      {
        SPIKE_NEXUS_TLS_PORT: '127.0.0.1:0',
        SPIKE_NEXUS_HEALTH_ADDR: 'off',
        SPIKE_NEXUS_BACKEND_STORE: 'memory',
        SPIKE_NEXUS_PEOPLE_LISTEN: '127.0.0.1:0',
        SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE: cert.cert,
        SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE: cert.key,
        SPIKE_NEXUS_OIDC_CONFIG: join(dir, 'oidc.json'),
        ...(options.auditFile === undefined ? {} : { SPIKE_NEXUS_AUDIT_LOG: options.auditFile }),
      },
      { homeDir: lab.dir },
    );
    const audit = createMemoryAuditSink();
    const nexus = await createNexus(config, {
      source,
      ...(options.auditFile === undefined ? { auditSink: audit } : {}),
    });
    const url = `https://127.0.0.1:${(await nexus.listen()).port}`;
    const peopleUrl = `https://127.0.0.1:${nexus.peopleAddress()?.port ?? 0}`;
    const homes = new Map<string, string>();
    const issuer = idp;
    const nexusSource = source;
    return {
      lab,
      nexus,
      dir,
      audit,
      asWorkload: (args, opts = {}) =>
        runSpike(args, {
          env: lab.env(opts.identity ?? 'pilot', url),
          ...(opts.input === undefined ? {} : { input: opts.input }),
          ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
        }),
      asPerson: (name, args, opts = {}) => {
        const home = homes.get(name);
        assert.ok(home !== undefined, `no login for ${name}`);
        const env: Record<string, string> = lab.env('pilot', url, {
          XDG_CONFIG_HOME: home,
          SPIKE_PEOPLE_CA_FILE: cert.cert,
        });
        delete env['SPIFFE_ENDPOINT_SOCKET'];
        return runSpike(args, {
          env,
          ...(opts.input === undefined ? {} : { input: opts.input }),
          ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
        });
      },
      async login(name, groups) {
        const home = join(dir, `config-${name}`);
        mkdirSync(join(home, 'spike'), { recursive: true, mode: 0o700 });
        const now = Math.floor(Date.now() / 1000);
        // Within the issuer's 3600 s maximum lifetime, and longer than any test here.
        const accessToken = await issuer.token({
          preferred_username: name,
          groups: [...groups],
          iat: now,
          exp: now + 3000,
        });
        writeFileSync(
          join(home, 'spike', 'login.json'),
          JSON.stringify({
            v: 1,
            issuer: issuer.issuer,
            clientId: 'spike-cli',
            peopleUrl,
            peopleCaFile: cert.cert,
            accessToken,
            expiresAt: (now + 3000) * 1000,
            user: name,
          }),
          { mode: 0o600 },
        );
        homes.set(name, home);
      },
      async close() {
        await nexus.close();
        await nexusSource.close();
        await issuer.close();
        await lab.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await source?.close();
    await idp?.close();
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The request ID `spike request` printed on stdout. */
export function requestIdOf(run: SpikeRun): string {
  const id = run.stdout.trim().split('\n')[0] ?? '';
  assert.match(id, /^[A-Za-z0-9_-]{22,64}$/, `a request ID on stdout: ${run.stdout} / ${run.stderr}`);
  return id;
}
