/**
 * A private SPIRE deployment for one test file: `spire-server` and `spire-agent` on loopback with
 * their sockets in a fresh short temp dir, join-token node attestation, the unix workload
 * attestor with `discover_workload_path`, and one registration entry per SPIKE role. The
 * fast-sync `experimental` knobs make new entries reach workloads in about two seconds.
 *
 * Everything runs as the user running the tests; no root needed. Roles are told apart by the
 * executable's path: each role runs its own hard link of the Node.js binary (`<dir>/exe/<role>/node`,
 * a copy where a link is impossible), and its entry selects `unix:uid:<our uid>` together with
 * `unix:path:<that link>` (ADR 0022). The attestor reads the path the process was started from, so
 * two links of one file are two workloads.
 *
 * `close()` kills both processes and removes the temp dir; call it from `after`, so it also runs
 * when a test fails.
 */
import { rmSync } from 'node:fs';
import { constants, copyFile, link, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launch, run, tail, waitUntil, type ManagedChild, type RunResult } from './child-process.ts';
import { requireSpireBinaries, type SpireBinaries } from './spire-binaries.ts';
import { agentConf, freePort, serverConf, TRUST_DOMAIN } from './spire-config.ts';

export { TRUST_DOMAIN };
/** The SPIFFE ID every workload entry hangs off (the agent's join-token alias). */
export const NODE_ID = `spiffe://${TRUST_DOMAIN}/spire-agent`;

export interface SpireRole {
  /** Short name (`nexus`, `keeper`, `pilot`, ...); also the folder of the role's Node.js link. */
  readonly name: string;
  readonly spiffeId: string;
}

const ROLE_TABLE: ReadonlyArray<readonly [name: string, path: string]> = [
  ['nexus', '/spike/nexus'],
  ['keeper', '/spike/keeper'],
  ['bootstrap', '/spike/bootstrap'],
  ['pilot', '/spike/pilot/role/superuser'],
  ['pilot-recover', '/spike/pilot/role/recover'],
  ['pilot-restore', '/spike/pilot/role/restore'],
  ['demo', '/workload/demo'],
];

/** SPIKE's roles and the demo workload. */
export const SPIKE_ROLES: readonly SpireRole[] = ROLE_TABLE.map(([name, path]) => ({
  name,
  spiffeId: `spiffe://${TRUST_DOMAIN}${path}`,
}));

/** The uid everything runs as, and the `unix:uid` selector of every entry. */
export const OUR_UID = process.getuid?.() ?? 0;

export interface SpireOptions {
  /** `-x509SVIDTTL` of every role entry, seconds (default: the server's, 1 h). */
  x509SvidTtlSeconds?: number;
  roles?: readonly SpireRole[];
  binaries?: SpireBinaries;
}

export interface SpireHarness {
  /** The temp dir holding configs, sockets, data and the roles' Node.js links (mode 0700). */
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
  /**
   * The Node.js executable a process of `name` runs: a hard link of this Node.js binary (or a copy)
   * at `<dir>/exe/<name>/node`, made on first use. Every role has one; any other name gives an
   * executable with no registration entry until `createEntry` names it.
   */
  nodeFor(name: string): Promise<string>;
  /** Creates a workload entry `spiffeId` ⇐ `unix:uid:<our uid>` + `unix:path:<exe>`; returns its ID. */
  createEntry(spiffeId: string, exe: string, x509SvidTtlSeconds?: number): Promise<string>;
  /** Waits until a process started from `exe` is issued `spiffeId` (asks with our own client). */
  waitForSvid(exe: string, spiffeId: string, timeoutMs?: number): Promise<void>;
  /** `spire-server bundle show` in PEM. */
  bundlePem(): Promise<string>;
  /** A fresh directory under the temp dir, mode 0700. */
  privateDir(name: string): Promise<string>;
  stopAgent(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the agent again; it reuses its attested identity from its data dir (disk key manager). */
  startAgent(): Promise<void>;
  agentRunning(): boolean;
  /** Recent server and agent output, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

/** Our Workload API client as a one-shot child: prints the SVID it got as JSON. */
const FETCH_SVID = join(import.meta.dirname, 'fetch-svid.ts');

/** Environment for the SPIRE binaries: nothing inherited but PATH. */
const spireEnv = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin' });

/**
 * Hard-links `target` at `path`; copies it where a link is refused (another file system, or a
 * binary owned by another user under `fs.protected_hardlinks`).
 */
async function linkOrCopy(target: string, path: string): Promise<void> {
  try {
    await link(target, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EACCES') throw err;
    await copyFile(target, path, constants.COPYFILE_FICLONE);
  }
}

export async function startSpire(options: SpireOptions = {}): Promise<SpireHarness> {
  const binaries = options.binaries ?? requireSpireBinaries();
  const roles = new Map((options.roles ?? SPIKE_ROLES).map((r) => [r.name, r] as const));
  // The real path: the attestor reports the resolved path of each process's executable.
  const dir = await realpath(await mkdtemp('/tmp/spx-'));
  // If the test process dies without running `after`, still leave no temp dir behind (the
  // children are killed by child-process.ts's own exit hook).
  const removeOnExit = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
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
  const exes = new Map<string, Promise<string>>();
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
    nodeFor(name) {
      if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`bad executable name ${JSON.stringify(name)}`);
      let exe = exes.get(name);
      if (exe === undefined) {
        const folder = join(dir, 'exe', name);
        exe = mkdir(folder, { recursive: true, mode: 0o700 }).then(async () => {
          await linkOrCopy(process.execPath, join(folder, 'node'));
          return join(folder, 'node');
        });
        exes.set(name, exe);
      }
      return exe;
    },
    async createEntry(spiffeId, exe, ttl) {
      const args = ['entry', 'create', '-parentID', NODE_ID, '-spiffeID', spiffeId];
      args.push('-selector', `unix:uid:${String(OUR_UID)}`, '-selector', `unix:path:${exe}`);
      args.push('-output', 'json');
      if (ttl !== undefined) args.push('-x509SVIDTTL', String(ttl));
      const out = await must(`entry create ${spiffeId}`, serverCli(args));
      const parsed = JSON.parse(out) as { results: Array<{ entry?: { id?: string } }> };
      const id = parsed.results[0]?.entry?.id;
      if (id === undefined) throw new Error(`entry create ${spiffeId}: no entry ID in ${out}`);
      return id;
    },
    async waitForSvid(exe, spiffeId, timeoutMs = 30_000) {
      // fetch-svid.ts retries PERMISSION_DENIED (no entry reached the agent yet) until its timeout.
      const r = await run(exe, [FETCH_SVID, String(timeoutMs)], {
        name: `fetch-svid ${spiffeId}`,
        env: { ...spireEnv(), SPIFFE_ENDPOINT_SOCKET: `unix://${agentSocket}` },
        timeoutMs: timeoutMs + 30_000,
      });
      const line = r.stdout.split('\n').find((l) => l.startsWith('{')) ?? '';
      let got: unknown;
      try {
        got = (JSON.parse(line) as { spiffeId?: unknown }).spiffeId;
      } catch {
        got = undefined;
      }
      if (r.code !== 0 || got !== spiffeId) {
        throw new Error(
          `no X.509-SVID ${spiffeId} for ${exe} (exit ${String(r.code)}): ${r.stdout}${r.stderr}\n${logs()}`,
        );
      }
    },
    bundlePem: () => must('bundle show', serverCli(['bundle', 'show'])),
    async privateDir(name) {
      const path = join(dir, 'home', name);
      await mkdir(path, { recursive: true, mode: 0o700 });
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
      await harness.createEntry(role.spiffeId, await harness.nodeFor(role.name), options.x509SvidTtlSeconds);
    }
    await startAgent(token);
    await Promise.all(
      [...roles.values()].map(async (r) => harness.waitForSvid(await harness.nodeFor(r.name), r.spiffeId)),
    );
  } catch (err) {
    await harness.close();
    throw err;
  }
  return harness;
}
