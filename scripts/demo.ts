/**
 * `npm run demo`: a whole SPIKE deployment on this machine, with no other set-up.
 *
 *   dev identity issuer → 3 keepers (:8443 :8543 :8643) → Nexus on SQLite (:8553) → bootstrap (2 of 3)
 *
 * Started again over existing data, Nexus recovers its root key from the keepers when they still
 * hold shares; otherwise the demo says how to restore from the recovery files it saved at first
 * start (`npm run demo -- --restore` does it for you). Ctrl-C stops everything.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Stack } from './stack.ts';

const ROOT = join(import.meta.dirname, '..');

const { values: flags } = parseArgs({
  options: {
    restore: { type: 'boolean', default: false },
    reset: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const out = (line = ''): void => {
  process.stdout.write(line + '\n');
};

if (flags.help) {
  out('Usage: npm run demo [-- --restore] [-- --reset]');
  out('  --restore  restore the root key from the saved recovery files when keepers are empty');
  out('  --reset    delete the demo data (.demo/) first and start from scratch');
  process.exit(0);
}

const dir = join(ROOT, '.demo');
if (flags.reset) {
  const { rmSync } = await import('node:fs');
  rmSync(dir, { recursive: true, force: true });
}
const socketDir = `/tmp/spike-demo-${String(userInfo().uid)}`;
const stack = new Stack({ dir, socketDir });
const recoveryDir = join(dir, 'recovery', 'recover');

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    out('\nStopping Nexus, keepers and the identity issuer...');
    await stack.stop();
    out('Stopped. Data is kept in .demo/ (npm run demo -- --reset starts over).');
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
  step(`Starting Nexus on :${String(stack.opts.nexusPort)} (SQLite in .demo/nexus)`);
  await stack.startNexus();

  if (!existing) {
    step('Bootstrapping: new root key, 2-of-3 shares to the keepers, proof that Nexus holds it');
    const boot = await stack.runBootstrap();
    if (boot.code !== 0) {
      process.stderr.write(boot.stdout + boot.stderr);
      throw new Error('bootstrap failed (logs in .demo/logs/)');
    }
    if (!(await stack.waitNexusReady(30_000))) throw new Error('Nexus did not become ready after bootstrap');
    step(
      'Creating the demo policies (workloads under spiffe://spike.ist/workload/ may read and write tenants/demo/db/*)',
    );
    for (const res of await stack.applyDemoPolicies()) {
      if (res.code !== 0) process.stderr.write(res.stderr);
    }
    step('Saving recovery files (operator recover) to .demo/recovery/recover/');
    const rec = await stack.runSpike('pilot-recover', ['operator', 'recover']);
    if (rec.code !== 0) process.stderr.write(rec.stderr);
  } else {
    step('Existing data found: waiting for Nexus to recover its root key from the keepers');
    const ready = await stack.waitNexusReady(8_000);
    if (!ready) {
      const files = existsSync(recoveryDir)
        ? readdirSync(recoveryDir).filter((f) => f.startsWith('spike.recovery.'))
        : [];
      if (flags.restore && files.length > 0) {
        step(`Keepers are empty: restoring from ${String(files.length)} recovery file(s)`);
        for (const f of files.slice(0, stack.opts.threshold)) {
          const res = await stack.runSpike(
            'pilot-restore',
            ['operator', 'restore'],
            readFileSync(join(recoveryDir, f)),
          );
          out(`    ${f}: ${(res.stdout + res.stderr).trim().split('\n').at(-1) ?? ''}`);
        }
        if (!(await stack.waitNexusReady(15_000))) throw new Error('Nexus is still not ready after restore');
      } else {
        out('');
        out('Nexus has data but the keepers are empty (they keep shares in memory only), so it cannot');
        out('recover by itself. Restore the root key with two recovery files:');
        out('');
        for (const f of files.slice(0, 2)) {
          out(
            `  SPIFFE_ENDPOINT_SOCKET=${stack.endpoint('pilot-restore')} npx spike operator restore < ${join(recoveryDir, f)}`,
          );
        }
        out('');
        out('or restart the demo with:  npm run demo -- --restore');
        out('(or start over with:       npm run demo -- --reset)');
        out('');
      }
    }
  }

  await printStatus();
  out('');
  out('Try it (in another terminal, from this directory):');
  out('');
  out(`  export SPIFFE_ENDPOINT_SOCKET=${stack.endpoint('pilot')}`);
  out('  npx spike secret put tenants/demo/db/creds username=SPIKE password=SPIKE_Rocks');
  out('  npx spike secret get tenants/demo/db/creds');
  out('  npx spike secret list -f json');
  out('  npx spike policy list');
  out('  echo hello | npx spike cipher encrypt | npx spike cipher decrypt');
  out('');
  out('');
  out('The demo workload (SDK) with its own identity, spiffe://spike.ist/workload/demo:');
  out(`  SPIFFE_ENDPOINT_SOCKET=${stack.endpoint('demo')} npx node examples/demo-workload.ts`);
  out('  Logs: .demo/logs/  (audit log: .demo/logs/audit.jsonl)');
  out('');
  out('Press Ctrl-C to stop everything.');
  // Keep running until Ctrl-C (the signal handlers stop the stack).
  setInterval(() => undefined, 1 << 30);
} catch (err) {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  await shutdown(1);
}

async function printStatus(): Promise<void> {
  out('');
  out('Component           Address                     State');
  out(`identity issuer     ${socketDir.padEnd(27)} ${stack.isRunning('issuer') ? 'running' : 'stopped'}`);
  stack.opts.keeperPorts.forEach((p, i) => {
    out(
      `keeper ${String(i + 1)}            ${`https://localhost:${String(p)}`.padEnd(27)} ${stack.isRunning(i) ? 'running' : 'stopped'}`,
    );
  });
  out(`nexus               ${stack.nexusUrl.padEnd(27)} ${await stack.nexusState()}`);
}
