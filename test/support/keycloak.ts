/**
 * A real Keycloak for tests and the demo: `startKeycloak()` runs the distribution that
 * `npm run tools:install` put into the tools cache (scripts/tools/keycloak.ts) in development mode
 * on free loopback ports, with the `spike` realm imported from test/fixtures/keycloak/, and waits
 * until the realm's discovery document answers. Each start gets its own home folder (a few copied
 * files, links to the shared libraries, its own database and import folder), so parallel runs never
 * share state and nothing is written into the cache. `stop()` ends the whole process group and
 * removes the folder. Startup takes tens of seconds on a busy machine: start it once per test file.
 *
 * The realm (see its JSON): users alice (group infra), bob (trustees), carol (auditors), dave (no
 * group), erin (admins), each with the password `<name>-pass`; clients `spike-cli` (public: device
 * grant, code flow with PKCE S256, loopback redirects), `spike-console` (confidential, code flow
 * with PKCE) and `spike-test` (public, password grant: tests only). Access tokens carry the
 * audience `spike-nexus` and the short group names in `groups`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findJdk, noJdkMessage } from '../../scripts/tools/jdk.ts';
import {
  KEYCLOAK,
  KEYCLOAK_DEV_BUILD_OPTIONS,
  KEYCLOAK_DIST_DIR,
  KEYCLOAK_JAVA_MIN,
} from '../../scripts/tools/keycloak.ts';
import { toolBinDir } from '../../scripts/tools/registry.ts';
import { freePorts } from '../../scripts/free-ports.ts';

export const KEYCLOAK_VERSION = KEYCLOAK.version;
export const REALM = 'spike';
export const REALM_FILE = join(import.meta.dirname, '..', 'fixtures', 'keycloak', 'spike-realm.json');

/** The realm's users: name -> password and groups (as in the realm JSON). */
export const TEST_USERS = {
  alice: { password: 'alice-pass', groups: ['infra'] },
  bob: { password: 'bob-pass', groups: ['trustees'] },
  carol: { password: 'carol-pass', groups: ['auditors'] },
  dave: { password: 'dave-pass', groups: [] },
  erin: { password: 'erin-pass', groups: ['admins'] },
} as const satisfies Record<string, { password: string; groups: readonly string[] }>;
export type TestUser = keyof typeof TEST_USERS;

export const CLIENTS = {
  /** Public; device grant and code flow with PKCE; redirects to http://127.0.0.1:<any port>/... */
  cli: 'spike-cli',
  /** Confidential; code flow with PKCE; redirects https://127.0.0.1/* and https://localhost/* (port 443). */
  console: 'spike-console',
  consoleSecret: 'spike-console-test-secret',
  /** Public; password grant only. Tests only. */
  test: 'spike-test',
} as const;

/** The audience every access token of the realm carries. */
export const AUDIENCE = 'spike-nexus';

export interface TokenResponse {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly expires_in: number;
  readonly token_type: string;
  readonly scope?: string;
}

export interface KeycloakOptions {
  /** Realm JSON to import (default: test/fixtures/keycloak/spike-realm.json). */
  readonly realmFile?: string;
  /** How long to wait for the realm to answer (default 300 s or SPIKE_KEYCLOAK_START_TIMEOUT_MS). */
  readonly startTimeoutMs?: number;
  /** The tool's bin folder (default: the tools cache). */
  readonly binDir?: string;
}

export interface Keycloak {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** `http://127.0.0.1:<port>/realms/spike`: the `iss` of every token. */
  readonly issuer: string;
  /** `http://127.0.0.1:<management port>/health/ready` */
  readonly healthUrl: string;
  /** The bootstrap administrator of the master realm (random per start). */
  readonly admin: { readonly username: string; readonly password: string };
  /** Keycloak's log file (stdout and stderr). */
  readonly logFile: string;
  /** The process group Keycloak runs in (kc.sh and its Java). */
  readonly pgid: number;
  /** Tokens for a realm user by the password grant through the test-only client. */
  passwordToken(user: string, password?: string): Promise<TokenResponse>;
  /** Calls the admin REST API of the `spike` realm (`path` below /admin/realms/spike). */
  adminApi(method: string, path: string, body?: unknown): Promise<unknown>;
  /** Adds an exact redirect URI to a client (e.g. the console's https callback on its port). */
  addRedirectUri(clientId: string, uri: string): Promise<void>;
  /** Puts a user into a group or takes them out (tokens issued afterwards reflect it). */
  setGroupMembership(user: string, group: string, member: boolean): Promise<void>;
  /** The last part of the log, for error messages. */
  logTail(chars?: number): string;
  /** Stops the whole process group and removes the home folder. Safe to call twice. */
  stop(): Promise<void>;
}

export class KeycloakNotInstalledError extends Error {
  constructor(binDir: string) {
    super(
      `Keycloak ${KEYCLOAK_VERSION} is not installed: no distribution in ${join(binDir, KEYCLOAK_DIST_DIR)}. ` +
        'Run `npm run tools:install -- keycloak` (downloads it from Maven Central; `npm test` does it first).',
    );
    this.name = 'KeycloakNotInstalledError';
  }
}

/** The installed distribution's folder, or undefined when Keycloak is not installed. */
export function installedKeycloak(binDir: string = toolBinDir(KEYCLOAK)): string | undefined {
  const dist = join(binDir, KEYCLOAK_DIST_DIR);
  return existsSync(join(dist, 'bin', 'kc.sh')) && existsSync(join(dist, 'lib', 'quarkus'))
    ? dist
    : undefined;
}

/** A home folder for one run: the launcher, config and built files copied; libraries linked. */
async function makeHome(dist: string, realmFile: string): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'spike-keycloak-'));
  await mkdir(join(home, 'bin'));
  await copyFile(join(dist, 'bin', 'kc.sh'), join(home, 'bin', 'kc.sh'));
  await cp(join(dist, 'conf'), join(home, 'conf'), { recursive: true });
  await mkdir(join(home, 'providers'));
  await symlink(join(dist, 'themes'), join(home, 'themes'));
  await mkdir(join(home, 'lib'));
  await copyFile(join(dist, 'lib', 'quarkus-run.jar'), join(home, 'lib', 'quarkus-run.jar'));
  await symlink(join(dist, 'lib', 'app'), join(home, 'lib', 'app'));
  await symlink(join(dist, 'lib', 'lib'), join(home, 'lib', 'lib'));
  await cp(join(dist, 'lib', 'quarkus'), join(home, 'lib', 'quarkus'), { recursive: true });
  await mkdir(join(home, 'data', 'import'), { recursive: true });
  await copyFile(realmFile, join(home, 'data', 'import', 'realm.json'));
  return home;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone
  }
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Whether any process of the group is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startKeycloak(options: KeycloakOptions = {}): Promise<Keycloak> {
  const binDir = options.binDir ?? toolBinDir(KEYCLOAK);
  const dist = installedKeycloak(binDir);
  if (dist === undefined) throw new KeycloakNotInstalledError(binDir);
  const search = findJdk(process.env, KEYCLOAK_JAVA_MIN);
  if (search.jdk === undefined) {
    throw new Error(`cannot start Keycloak: it needs ${noJdkMessage(KEYCLOAK_JAVA_MIN, search)}`);
  }
  const envTimeout = Number(process.env.SPIKE_KEYCLOAK_START_TIMEOUT_MS);
  const startTimeoutMs =
    options.startTimeoutMs ?? (Number.isFinite(envTimeout) && envTimeout > 0 ? envTimeout : 300_000);
  const home = await makeHome(dist, options.realmFile ?? REALM_FILE);
  const [httpPort, managementPort] = (await freePorts(2)) as [number, number];
  const baseUrl = `http://127.0.0.1:${String(httpPort)}`;
  const issuer = `${baseUrl}/realms/${REALM}`;
  const admin = { username: 'spike-admin', password: randomBytes(18).toString('base64url') };
  const logFile = join(home, 'keycloak.log');

  // Keycloak reads KC_* and JAVA* from the environment: pass only what this run means.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('KC_') && !k.startsWith('JAVA') && !k.startsWith('QUARKUS_')) env[k] = v;
  }
  env.JAVA_HOME = search.jdk.home;
  env.KC_BOOTSTRAP_ADMIN_USERNAME = admin.username;
  env.KC_BOOTSTRAP_ADMIN_PASSWORD = admin.password;

  const args = [
    'start-dev',
    ...KEYCLOAK_DEV_BUILD_OPTIONS,
    '--http-host=127.0.0.1',
    `--http-port=${String(httpPort)}`,
    `--hostname=${baseUrl}`,
    `--http-management-port=${String(managementPort)}`,
    '--import-realm',
  ];
  const logFd = openSync(logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(join(home, 'bin', 'kc.sh'), args, {
      env,
      cwd: home,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  const pgid = child.pid;
  // A test runner that exits without calling stop() still takes Keycloak with it.
  const onExit = (): void => {
    if (pgid !== undefined) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  process.once('exit', onExit);
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));

  const logTail = (chars = 4000): string => {
    try {
      const text = readFileSync(logFile, 'utf8');
      return text.slice(-chars);
    } catch {
      return '(no log)';
    }
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    killGroup(child, 'SIGTERM');
    if (!(await waitForExit(child, 30_000))) killGroup(child, 'SIGKILL');
    await waitForExit(child, 10_000);
    // kc.sh forwards the signal to Java; make sure no process of the group outlives it.
    for (let i = 0; pgid !== undefined && groupAlive(pgid) && i < 50; i++) {
      if (i === 20) killGroup(child, 'SIGKILL');
      await sleep(200);
    }
    process.removeListener('exit', onExit);
    await rm(home, { recursive: true, force: true });
  };

  const deadline = Date.now() + startTimeoutMs;
  const discovery = `${issuer}/.well-known/openid-configuration`;
  try {
    for (;;) {
      if (spawnError !== undefined) throw new Error(`could not run kc.sh: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `Keycloak exited during startup (${child.signalCode ?? `exit ${String(child.exitCode)}`}); ` +
            `the end of its log:\n${logTail()}`,
        );
      }
      try {
        const res = await fetch(discovery, { signal: AbortSignal.timeout(5000) });
        if (res.ok) {
          const doc = (await res.json()) as { issuer?: string };
          if (doc.issuer !== issuer) {
            throw new Error(`the discovery document names issuer ${String(doc.issuer)}, expected ${issuer}`);
          }
          break;
        }
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('the discovery document')) throw err;
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Keycloak did not serve ${discovery} within ${String(Math.round(startTimeoutMs / 1000))} s ` +
            `(a busy machine can be slow: raise SPIKE_KEYCLOAK_START_TIMEOUT_MS); the end of its log:\n${logTail()}`,
        );
      }
      await sleep(500);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const tokenEndpoint = `${issuer}/protocol/openid-connect/token`;

  const passwordToken = async (user: string, password?: string): Promise<TokenResponse> => {
    const known = (TEST_USERS as Record<string, { password: string } | undefined>)[user];
    const secret = password ?? known?.password;
    if (secret === undefined) throw new Error(`no password known for user ${user}`);
    const res = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: CLIENTS.test,
        username: user,
        password: secret,
        scope: 'openid',
      }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as TokenResponse & { error?: string; error_description?: string };
    if (!res.ok) {
      throw new Error(
        `password grant for ${user} failed: HTTP ${String(res.status)} ${String(body.error)} ${String(body.error_description ?? '')}`,
      );
    }
    return body;
  };

  let adminToken: { token: string; until: number } | undefined;
  const getAdminToken = async (): Promise<string> => {
    if (adminToken !== undefined && adminToken.until > Date.now()) return adminToken.token;
    const res = await fetch(`${baseUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'admin-cli',
        username: admin.username,
        password: admin.password,
      }),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`admin login failed: HTTP ${String(res.status)}`);
    const body = (await res.json()) as TokenResponse;
    adminToken = { token: body.access_token, until: Date.now() + (body.expires_in - 10) * 1000 };
    return body.access_token;
  };

  const adminApi = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${baseUrl}/admin/realms/${REALM}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await getAdminToken()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok)
      throw new Error(`admin API ${method} ${path}: HTTP ${String(res.status)} ${text.slice(0, 300)}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };

  const findOne = async (what: string, query: string): Promise<{ id: string }> => {
    const list = (await adminApi('GET', `/${what}?${query}`)) as Array<{ id: string }>;
    const first = list[0];
    if (first === undefined) throw new Error(`no ${what} matches ${query}`);
    return first;
  };

  return {
    baseUrl,
    issuer,
    pgid: pgid!,
    healthUrl: `http://127.0.0.1:${String(managementPort)}/health/ready`,
    admin,
    logFile,
    passwordToken,
    adminApi,
    async addRedirectUri(clientId, uri) {
      const { id } = await findOne('clients', `clientId=${encodeURIComponent(clientId)}`);
      const client = (await adminApi('GET', `/clients/${id}`)) as { redirectUris?: string[] };
      await adminApi('PUT', `/clients/${id}`, {
        ...client,
        redirectUris: [...(client.redirectUris ?? []), uri],
      });
    },
    async setGroupMembership(user, group, member) {
      const u = await findOne('users', `username=${encodeURIComponent(user)}&exact=true`);
      const g = await findOne('groups', `search=${encodeURIComponent(group)}&exact=true`);
      await adminApi(member ? 'PUT' : 'DELETE', `/users/${u.id}/groups/${g.id}`);
    },
    logTail,
    stop,
  };
}
