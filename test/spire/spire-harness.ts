/**
 * A private SPIRE deployment for one test file: `spire-server` and `spire-agent` on loopback with
 * their sockets in a fresh short temp dir, join-token node attestation, the unix workload
 * attestor, and one registration entry per SPIKE role selected by unix uid. The fast-sync
 * `experimental` knobs make new entries reach workloads in about two seconds.
 *
 * `close()` kills both processes and removes the temp dir; call it from `after`, so it also runs
 * when a test fails.
 */
import { rmSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launch, run, tail, waitUntil, type ManagedChild, type RunResult } from './child-process.ts';
import { requireSpireBinaries, type SpireBinaries } from './spire-binaries.ts';
import { agentConf, freePort, serverConf, TRUST_DOMAIN } from './spire-config.ts';

export { TRUST_DOMAIN };
/** The SPIFFE ID every workload entry hangs off (the agent's join-token alias). */
export const NODE_ID = `spiffe://${TRUST_DOMAIN}/spire-agent`;

export interface SpireRole {
  /** Short name (`nexus`, `keeper`, `pilot`, ...). */
  readonly name: string;
  /** Unix uid (and gid) the role's processes run as; the entry's `unix:uid` selector. */
  readonly uid: number;
  readonly spiffeId: string;
}

const ROLE_TABLE: ReadonlyArray<readonly [name: string, uid: number, path: string]> = [
  ['nexus', 1001, '/spike/nexus'],
  ['keeper', 1002, '/spike/keeper'],
  ['bootstrap', 1003, '/spike/bootstrap'],
  ['pilot', 1004, '/spike/pilot/role/superuser'],
  ['pilot-recover', 1005, '/spike/pilot/role/recover'],
  ['pilot-restore', 1006, '/spike/pilot/role/restore'],
  ['demo', 1007, '/workload/demo'],
];

/** SPIKE's roles and the demo workload, each with its own uid. */
export const SPIKE_ROLES: readonly SpireRole[] = ROLE_TABLE.map(([name, uid, path]) => ({
  name,
  uid,
  spiffeId: `spiffe://${TRUST_DOMAIN}${path}`,
}));

/** A uid with no registration entry. */
export const UNREGISTERED_UID = 1099;

export interface SpireOptions {
  /** `-x509SVIDTTL` of every role entry, seconds (default: the server's, 1 h). */
  x509SvidTtlSeconds?: number;
  roles?: readonly SpireRole[];
  binaries?: SpireBinaries;
}

export interface SpireHarness {
  /** The temp dir holding configs, sockets and data (mode 0755). */
  readonly dir: string;
  readonly binaries: SpireBinaries;
  readonly serverSocket: string;
  readonly agentSocket: string;
  /** `unix://` URL of the agent's Workload API, for `SPIFFE_ENDPOINT_SOCKET`. */
  readonly endpoint: string;
  readonly roles: ReadonlyMap<string, SpireRole>;
  role(name: string): SpireRole;
  /** Runs a `spire-server` admin command against this server (`-socketPath` added). */
  serverCli(args: readonly string[]): Promise<RunResult>;
  /** Runs a `spire-agent api ...` command against this agent (`-socketPath` added), as `uid`. */
  agentApi(args: readonly string[], uid?: number): Promise<RunResult>;
  /** Creates a workload entry `spiffeId` ⇐ `unix:uid:<uid>`; returns the entry ID. */
  createEntry(spiffeId: string, uid: number, x509SvidTtlSeconds?: number): Promise<string>;
  /** Waits until a process running as `uid` is issued `spiffeId` by the agent. */
  waitForSvid(uid: number, spiffeId: string, timeoutMs?: number): Promise<void>;
  /** `spire-server bundle show` in PEM. */
  bundlePem(): Promise<string>;
  /** A fresh directory under the temp dir owned by `uid`, mode 0700. */
  privateDir(name: string, uid: number): Promise<string>;
  stopAgent(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the agent again; it reuses its attested identity from its data dir (disk key manager). */
  startAgent(): Promise<void>;
  agentRunning(): boolean;
  /** Recent server and agent output, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

/** Environment for the SPIRE binaries: nothing inherited but PATH. */
const spireEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' });

export async function startSpire(options: SpireOptions = {}): Promise<SpireHarness> {
  const binaries = options.binaries ?? requireSpireBinaries();
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the SPIRE suite must run as root: the unix workload attestor tells our components apart by ' +
        'uid, so the suite starts each of them as its own uid (1001-1007)',
    );
  }
  const roles = new Map((options.roles ?? SPIKE_ROLES).map((r) => [r.name, r] as const));
  const dir = await mkdtemp('/tmp/spx-');
  // If the test process dies without running `after`, still leave no temp dir behind (the
  // children are killed by child-process.ts's own exit hook).
  const removeOnExit = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  // Other uids must reach the agent socket and their own data dirs below this one.
  await chmod(dir, 0o755);
  const serverSocket = join(dir, 'admin', 'api.sock');
  const agentSocket = join(dir, 'agent.sock');
  let server: ManagedChild | undefined;
  let agent: ManagedChild | undefined;
  let closed = false;

  const serverCli = (args: readonly string[]): Promise<RunResult> =>
    run(binaries.server, [...args, '-socketPath', serverSocket], {
      name: `spire-server ${args.slice(0, 2).join(' ')}`,
      env: spireEnv(),
      timeoutMs: 30_000,
    });
  const agentApi = (args: readonly string[], uid?: number): Promise<RunResult> =>
    run(binaries.agent, ['api', ...args, '-socketPath', agentSocket], {
      name: `spire-agent api ${args.slice(0, 2).join(' ')}`,
      env: spireEnv(),
      uid,
      timeoutMs: 30_000,
    });
  const must = async (what: string, result: Promise<RunResult>): Promise<string> => {
    const r = await result;
    if (r.code !== 0) throw new Error(`${what} failed (exit ${String(r.code)}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const logs = (): string =>
    `--- spire-server ---\n${tail(server?.output() ?? '', 30)}\n--- spire-agent ---\n${tail(agent?.output() ?? '', 30)}`;

  const startAgent = async (joinToken?: string): Promise<void> => {
    const args = ['run', '-config', join(dir, 'agent.conf')];
    if (joinToken !== undefined) args.push('-joinToken', joinToken);
    const proc = launch(binaries.agent, args, { name: 'spire-agent', env: spireEnv() });
    agent = proc;
    await waitUntil(
      'spire-agent to become healthy',
      30_000,
      async () => {
        if (!proc.running()) throw new Error(`spire-agent exited (${String(await proc.exited)}):\n${logs()}`);
        const r = await run(binaries.agent, ['healthcheck', '-socketPath', agentSocket], {
          name: 'spire-agent healthcheck',
          env: spireEnv(),
          timeoutMs: 10_000,
        });
        return r.code === 0 ? true : undefined;
      },
      200,
    );
  };

  const harness: SpireHarness = {
    dir,
    binaries,
    serverSocket,
    agentSocket,
    endpoint: `unix://${agentSocket}`,
    roles,
    role(name) {
      const r = roles.get(name);
      if (r === undefined) throw new Error(`no SPIRE role ${JSON.stringify(name)}`);
      return r;
    },
    serverCli,
    agentApi,
    async createEntry(spiffeId, uid, ttl) {
      const args = ['entry', 'create', '-parentID', NODE_ID, '-spiffeID', spiffeId];
      args.push('-selector', `unix:uid:${String(uid)}`, '-output', 'json');
      if (ttl !== undefined) args.push('-x509SVIDTTL', String(ttl));
      const out = await must(`entry create ${spiffeId}`, serverCli(args));
      const parsed = JSON.parse(out) as { results: Array<{ entry?: { id?: string } }> };
      const id = parsed.results[0]?.entry?.id;
      if (id === undefined) throw new Error(`entry create ${spiffeId}: no entry ID in ${out}`);
      return id;
    },
    async waitForSvid(uid, spiffeId, timeoutMs = 30_000) {
      let last = '';
      try {
        await waitUntil(
          `an X.509-SVID for uid ${String(uid)} (${spiffeId})`,
          timeoutMs,
          async () => {
            const r = await agentApi(['fetch', 'x509', '-output', 'json', '-timeout', '3s'], uid);
            last = r.stderr + r.stdout;
            if (r.code !== 0) return undefined;
            const body = JSON.parse(r.stdout) as { svids?: Array<{ spiffe_id?: string }> };
            return body.svids?.some((s) => s.spiffe_id === spiffeId) === true ? true : undefined;
          },
          250,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; last answer: ${last}\n${logs()}`, { cause: err });
      }
    },
    bundlePem: () => must('bundle show', serverCli(['bundle', 'show'])),
    async privateDir(name, uid) {
      const path = join(dir, 'home', name);
      await mkdir(path, { recursive: true, mode: 0o700 });
      await chmod(join(dir, 'home'), 0o755);
      await chown(path, uid, uid);
      await chmod(path, 0o700);
      return path;
    },
    async stopAgent(signal = 'SIGTERM') {
      await agent?.stop(signal, 5000);
    },
    startAgent: () => startAgent(),
    agentRunning: () => agent?.running() === true,
    logs,
    async close() {
      if (closed) return;
      closed = true;
      await agent?.stop('SIGTERM', 5000);
      await server?.stop('SIGTERM', 5000);
      await rm(dir, { recursive: true, force: true });
      process.removeListener('exit', removeOnExit);
    },
  };

  try {
    for (const sub of ['admin', 'server', 'agent']) await mkdir(join(dir, sub), { mode: 0o700 });
    const port = await freePort();
    await writeFile(join(dir, 'server.conf'), serverConf(dir, port));
    await writeFile(join(dir, 'agent.conf'), agentConf(dir, port));
    const srv = launch(binaries.server, ['run', '-config', join(dir, 'server.conf')], {
      name: 'spire-server',
      env: spireEnv(),
    });
    server = srv;
    await waitUntil(
      'spire-server to become healthy',
      30_000,
      async () => {
        if (!srv.running()) throw new Error(`spire-server exited (${String(await srv.exited)}):\n${logs()}`);
        const r = await serverCli(['healthcheck']);
        return r.code === 0 ? true : undefined;
      },
      200,
    );
    await writeFile(join(dir, 'bundle.pem'), await harness.bundlePem());
    const tokenOut = await must(
      'token generate',
      serverCli(['token', 'generate', '-spiffeID', NODE_ID, '-ttl', '600', '-output', 'json']),
    );
    const token = (JSON.parse(tokenOut) as { value?: string }).value;
    if (token === undefined) throw new Error(`token generate: no token in ${tokenOut}`);
    // Entries created before the agent starts are fetched right after it attests.
    for (const role of roles.values()) {
      await harness.createEntry(role.spiffeId, role.uid, options.x509SvidTtlSeconds);
    }
    await startAgent(token);
    await Promise.all([...roles.values()].map((r) => harness.waitForSvid(r.uid, r.spiffeId)));
  } catch (err) {
    await harness.close();
    throw err;
  }
  return harness;
}
