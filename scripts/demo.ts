/**
 * `npm run demo`: a whole SPIKE deployment on this machine, with no other set-up.
 *
 *   dev identity issuer → 3 keepers (:8443 :8543 :8643) → Nexus on SQLite (:8553) → bootstrap (2 of 3)
 *
 * Keepers hold their shares in memory only, and the demo starts them fresh, so a demo started
 * again over existing data always finds them empty: it restores the root key at once from the
 * recovery files it saved at first start (`--reset` starts over instead). Only one demo runs per
 * state directory, and none starts while its ports are taken. Ctrl-C stops everything.
 *
 * `--people` also starts Keycloak (when `npm run tools:install` installed it) with the test realm and
 * turns on Nexus's people listener with a development certificate, so a person can `spike login`.
 *
 * `--dir`, `--socket-dir` and `--ports` exist for tests (a private state directory and free ports).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { acquireDemoLock, type DemoLock } from './demo-lock.ts';
import { freePorts, portOpen, Stack } from './stack.ts';
import type { Keycloak } from '../test/support/keycloak.ts';

const ROOT = join(import.meta.dirname, '..');

const out = (line = ''): void => {
  process.stdout.write(line + '\n');
};
const fail = (message: string, code = 1): never => {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(code);
};

function parseFlags() {
  try {
    return parseArgs({
      options: {
        restore: { type: 'boolean', default: false },
        reset: { type: 'boolean', default: false },
        people: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        dir: { type: 'string' },
        'socket-dir': { type: 'string' },
        ports: { type: 'string' },
      },
    }).values;
  } catch (err) {
    return fail(`${err instanceof Error ? err.message : String(err)} (npm run demo -- --help)`, 2);
  }
}
const flags = parseFlags();

if (flags.help) {
  out('Usage: npm run demo [-- --reset]');
  out('  (default)  over existing data, restore the root key from the saved recovery files');
  out('  --reset    delete the demo data (.demo/) first and start from scratch');
  out('  --restore  accepted for compatibility: restoring is the default');
  out('  --people   also start Keycloak (npm run tools:install -- keycloak) and the people listener,');
  out('             for spike login as a person (user/password printed), with example group policies');
  out('             (infra: infra/db/root, trustees: cloud/master)');
  out('For tests: --dir <state dir> --socket-dir <dir> --ports <keeper1,keeper2,keeper3,nexus,health>');
  process.exit(0);
}

const dir = flags.dir ?? join(ROOT, '.demo');
const shownDir = relative(process.cwd(), dir) || '.';
const socketDir = flags['socket-dir'] ?? `/tmp/spike-demo-${String(userInfo().uid)}`;
const ports = parsePorts(flags.ports);

// One demo per state directory: a second one would fight the first over its files and ports.
const lock: DemoLock = acquireDemoLock(dir);
if (!lock.acquired) {
  fail(
    `another demo is already running with ${shownDir}/ (pid ${String(lock.holder)}). ` +
      'Use that one, or stop it first (Ctrl-C in its terminal).',
  );
}
if (flags.reset) {
  for (const entry of readdirSync(dir))
    if (entry !== 'demo.pid') rmSync(join(dir, entry), { recursive: true, force: true });
}
/** Filled before Nexus starts when --people is given. */
const peopleEnv: Record<string, string> = {};
let keycloak: Keycloak | undefined;
const stack = new Stack({
  dir,
  nexusEnv: peopleEnv,
  socketDir,
  ...(ports === undefined
    ? {}
    : { keeperPorts: ports.slice(0, 3), nexusPort: ports[3] ?? 0, healthPort: ports[4] ?? 0 }),
});
const busy = [];
for (const port of [...stack.opts.keeperPorts, stack.opts.nexusPort, stack.opts.healthPort]) {
  if (await portOpen(port)) busy.push(port);
}
if (busy.length > 0) {
  lock.release();
  fail(
    `port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} already in use (another demo or SPIKE from another ` +
      'directory?). Stop whatever listens there first.',
  );
}

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    out('\nStopping Nexus, keepers and the identity issuer...');
    await stack.stop();
    await keycloak?.stop();
    lock.release();
    out(`Stopped. Data is kept in ${shownDir}/ (npm run demo -- --reset starts over).`);
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

function step(msg: string): void {
  out(`==> ${msg}`);
}

try {
  const existing = existsSync(join(stack.dataDir, 'data', 'spike.db'));

  step('Starting the dev identity issuer (DEVELOPMENT ONLY; production uses SPIRE)');
  await stack.startIssuer();
  step(`Starting 3 keepers on ${stack.opts.keeperPorts.map((p) => `:${String(p)}`).join(' ')}`);
  await stack.startKeepers();
  const peopleUrl = flags.people ? await preparePeople() : undefined;
  step(`Starting Nexus on :${String(stack.opts.nexusPort)} (SQLite in ${shownDir}/nexus)`);
  await stack.startNexus();

  if (!existing) {
    step('Bootstrapping: new root key, 2-of-3 shares to the keepers, proof that Nexus holds it');
    const boot = await stack.runBootstrap();
    if (boot.code !== 0) {
      process.stderr.write(boot.stdout + boot.stderr);
      throw new Error(`bootstrap failed (logs in ${shownDir}/logs/)`);
    }
    if (!(await stack.waitNexusReady(30_000))) throw new Error('Nexus did not become ready after bootstrap');
    step(
      'Creating the demo policies (workloads under spiffe://spike.ist/workload/ may read and write tenants/demo/db/*)',
    );
    for (const res of await stack.applyDemoPolicies()) {
      if (res.code !== 0) process.stderr.write(res.stderr);
    }
    step(`Saving recovery files (operator recover) to ${shownDir}/recovery/recover/`);
    const rec = await stack.runSpike('pilot-recover', ['operator', 'recover']);
    if (rec.code !== 0) process.stderr.write(rec.stderr);
  } else {
    await restoreFromRecoveryFiles();
  }

  if (peopleUrl !== undefined) await applyPeoplePolicies();

  await printStatus();
  out('');
  out('Try it (in another terminal, from this directory):');
  out('');
  out(`  export SPIFFE_ENDPOINT_SOCKET=${stack.endpoint('pilot')}`);
  if (stack.opts.nexusPort !== 8553) out(`  export SPIKE_NEXUS_API_URL=${stack.nexusUrl}`);
  out('  npx spike status');
  out(
    '  npx spike secret put tenants/demo/db/creds username=SPIKE password=-   # reads the password from stdin',
  );
  out('  npx spike secret get tenants/demo/db/creds');
  out('  npx spike secret list -f json');
  out('  npx spike run --path tenants/demo/db/creds -- env');
  out('  npx spike policy list');
  out('  echo hello | npx spike cipher encrypt | npx spike cipher decrypt');
  out('');
  out('The demo workload (SDK) with its own identity, spiffe://spike.ist/workload/demo:');
  out(`  SPIFFE_ENDPOINT_SOCKET=${stack.endpoint('demo')} npx node examples/demo-workload.ts`);
  out(`  Logs: ${shownDir}/logs/  (audit log: ${shownDir}/logs/audit.jsonl)`);
  if (peopleUrl !== undefined && keycloak !== undefined) printPeople(peopleUrl, keycloak);
  out('');
  out('Press Ctrl-C to stop everything.');
  // Keep running until Ctrl-C (the signal handlers stop the stack).
  setInterval(() => undefined, 1 << 30);
} catch (err) {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  await shutdown(1);
}

/**
 * The keepers this demo started are empty, so Nexus cannot recover by itself: feed it shares
 * from the recovery files saved at first start, as an operator would with `spike operator restore`.
 */
async function restoreFromRecoveryFiles(): Promise<void> {
  const recoveryDir = stack.recoveryDir;
  const files = existsSync(recoveryDir)
    ? readdirSync(recoveryDir)
        .filter((f) => /^spike\.recovery\.\d+\.txt$/.test(f))
        .sort()
    : [];
  const needed = stack.opts.threshold;
  if (files.length < needed) {
    throw new Error(
      `Nexus has data in ${shownDir}/ but the keepers start empty (they keep shares in memory only), and ` +
        `only ${String(files.length)} of the ${String(needed)} recovery files needed are in ` +
        `${relative(process.cwd(), recoveryDir)}/. Start over with: npm run demo -- --reset`,
    );
  }
  const used = files.slice(0, needed);
  step(
    `Existing data: the keepers start empty, so restoring the root key from ${String(used.length)} of ` +
      `${String(files.length)} saved recovery files (spike operator restore; npm run demo -- --reset starts over)`,
  );
  for (const f of used) {
    const res = await stack.runSpike(
      'pilot-restore',
      ['operator', 'restore'],
      readFileSync(join(recoveryDir, f)),
    );
    out(`    ${f}: ${(res.stdout + res.stderr).trim().split('\n').at(-1) ?? ''}`);
    if (res.code !== 0) throw new Error(`restoring from ${f} failed (exit ${String(res.code)})`);
  }
  if (!(await stack.waitNexusReady(15_000))) throw new Error('Nexus is still not ready after the restore');
}

/**
 * `--people`: example group policies and secrets, so a person is allowed or denied by group out of
 * the box. Applied as the Pilot superuser through the CLI on every start (policy apply is
 * idempotent); a secret is written only when it is missing, so later versions are kept.
 */
async function applyPeoplePolicies(): Promise<void> {
  const examples = [
    {
      policy: 'people-infra-db',
      group: 'infra',
      path: 'infra/db/root',
      pattern: '^infra/db/.*$',
      permissions: 'read,write,list',
    },
    {
      policy: 'people-trustees-cloud',
      group: 'trustees',
      path: 'cloud/master',
      pattern: '^cloud/master$',
      permissions: 'read,list',
    },
  ] as const;
  step('Creating the people example policies (group infra: infra/db/*, group trustees: cloud/master)');
  for (const ex of examples) {
    const res = await stack.runSpike('pilot', [
      'policy',
      'apply',
      '--name',
      ex.policy,
      '--groups',
      ex.group,
      '--path-pattern',
      ex.pattern,
      '--permissions',
      ex.permissions,
    ]);
    if (res.code !== 0) process.stderr.write(res.stderr);
    const has = await stack.runSpike('pilot', ['secret', 'metadata', 'get', ex.path]);
    if (has.code === 3) {
      // An example value, not a real secret.
      const put = await stack.runSpike('pilot', ['secret', 'put', ex.path, `note=demo-${ex.group}-value`]);
      if (put.code !== 0) process.stderr.write(put.stderr);
    } else if (has.code !== 0) {
      process.stderr.write(has.stderr);
    }
  }
}

async function printStatus(): Promise<void> {
  const state = (running: boolean): string => (running ? 'running' : 'stopped');
  out('');
  out('Component           Address                     State');
  out(`identity issuer     ${socketDir.padEnd(27)} ${state(stack.isRunning('issuer'))}`);
  stack.opts.keeperPorts.forEach((p, i) => {
    out(
      `keeper ${String(i + 1)}            ${`https://localhost:${String(p)}`.padEnd(27)} ${state(stack.isRunning(i))}`,
    );
  });
  // Ask the health port only while our own Nexus runs: it could be someone else's otherwise.
  const nexus = stack.isRunning('nexus') ? await stack.nexusState() : 'stopped';
  out(`nexus               ${stack.nexusUrl.padEnd(27)} ${nexus}`);
}

function parsePorts(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const ports = value.split(',').map((p) => Number(p.trim()));
  if (ports.length !== 5 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    return fail('--ports needs five ports: keeper1,keeper2,keeper3,nexus,health', 2);
  }
  return ports;
}

/**
 * `--people`: starts Keycloak with the test realm, writes a development certificate for the people
 * listener and the OIDC configuration, and sets Nexus's people settings. Returns the listener URL.
 */
async function preparePeople(): Promise<string> {
  const { installedKeycloak, startKeycloak, AUDIENCE, CLIENTS } = await import('../test/support/keycloak.ts');
  if (installedKeycloak() === undefined) {
    throw new Error(
      '--people needs Keycloak: run `npm run tools:install -- keycloak` first (needs a JDK >= 21)',
    );
  }
  step('Starting Keycloak with the spike realm (DEVELOPMENT ONLY; takes a minute or two)');
  keycloak = await startKeycloak();
  const peopleDir = join(dir, 'people');
  mkdirSync(peopleDir, { recursive: true, mode: 0o700 });
  const { createCa, issueSvid } = await import('@spike-ts/identity/mint');
  const ca = await createCa({ trustDomain: 'people.demo' });
  const cert = await issueSvid(ca, { spiffeId: 'spiffe://people.demo/nexus', dnsNames: ['localhost'] });
  writeFileSync(join(peopleDir, 'ca.pem'), ca.certPem);
  writeFileSync(join(peopleDir, 'cert.pem'), cert.certPem);
  writeFileSync(join(peopleDir, 'key.pem'), cert.keyPem, { mode: 0o600 });
  // The web console: the realm's confidential console client, redirected back to this listener.
  const [port] = await freePorts(1);
  const peopleUrl = `https://localhost:${String(port)}`;
  writeFileSync(join(peopleDir, 'console-client-secret'), CLIENTS.consoleSecret, { mode: 0o600 });
  await keycloak.addRedirectUri(CLIENTS.console, `${peopleUrl}/console/callback`);
  await keycloak.addRedirectUri(CLIENTS.console, `${peopleUrl}/console/logged-out`);
  writeFileSync(
    join(peopleDir, 'oidc.json'),
    JSON.stringify({
      issuers: [
        {
          issuer: keycloak.issuer,
          audience: AUDIENCE,
          algorithms: ['RS256'],
          adminGroups: ['admins'],
          auditorGroups: ['auditors'],
        },
      ],
      console: {
        issuer: keycloak.issuer,
        clientId: CLIENTS.console,
        clientSecretFile: join(peopleDir, 'console-client-secret'),
        publicBaseUrl: peopleUrl,
      },
    }),
  );
  Object.assign(peopleEnv, {
    SPIKE_NEXUS_PEOPLE_LISTEN: `127.0.0.1:${String(port)}`,
    SPIKE_NEXUS_PEOPLE_TLS_CERT_FILE: join(peopleDir, 'cert.pem'),
    SPIKE_NEXUS_PEOPLE_TLS_KEY_FILE: join(peopleDir, 'key.pem'),
    SPIKE_NEXUS_OIDC_CONFIG: join(peopleDir, 'oidc.json'),
  });
  return peopleUrl;
}

function printPeople(peopleUrl: string, kc: Keycloak): void {
  const peopleDir = relative(process.cwd(), join(dir, 'people')) || '.';
  out('');
  out(
    `People (Keycloak at ${kc.issuer}; admin console ${kc.baseUrl}/admin/ as ${kc.admin.username} / ${kc.admin.password}):`,
  );
  out('  users: erin / erin-pass (group admins: superuser), alice / alice-pass (infra),');
  out('         bob / bob-pass (trustees), carol / carol-pass (auditors), dave / dave-pass (no group)');
  out('');
  out('  unset SPIFFE_ENDPOINT_SOCKET');
  out(`  export SPIKE_OIDC_ISSUER=${kc.issuer}`);
  out(`  export SPIKE_PEOPLE_URL=${peopleUrl}`);
  out(`  export SPIKE_PEOPLE_CA_FILE=${peopleDir}/ca.pem`);
  out('  npx spike login              # device grant: open the printed URL, enter the code, log in as erin');
  out('  npx spike login --browser    # or the code flow: open the printed URL in a browser on this machine');
  out('  npx spike whoami');
  out('  npx spike secret list');
  out('  npx spike logout');
  out('  Groups get access through policies that name them (docs/people.md). Out of the box:');
  out('    alice (infra)     reads and writes infra/db/root  (policy people-infra-db)');
  out('    bob (trustees)    reads cloud/master              (policy people-trustees-cloud)');
  out('    dave (no group)   reads nothing: every secret request is denied');
  out('    erin (admin)      everything, like the Pilot superuser; carol (auditor) lists and reads metadata');
  out('  npx spike secret get infra/db/root   # as alice: allowed; as bob or dave: denied');
  out('');
  out(`  Web console: ${peopleUrl}/console/  (log in on the Keycloak page as any user above;`);
  out(`  the certificate is a development one: trust ${peopleDir}/ca.pem or accept the warning)`);
}
