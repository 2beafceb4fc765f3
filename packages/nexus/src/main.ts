/**
 * `spike-nexus`: the composition root. Loads the configuration from the environment (as each
 * API thread does, through the same `loadConfigFromProcess`), obtains the X.509-SVID from the
 * Workload API, builds the Nexus and serves until SIGINT/SIGTERM. SIGHUP reopens the audit file.
 */
import { createLogger, serverArgs } from '@spike-ts/core';
import { createX509Source, type X509Source } from '@spike-ts/identity';
import { ConfigError, loadConfigFromProcess, type NexusConfig } from './config.ts';
import { createCustody } from './custody/index.ts';
import { NEXUS_HELP, NEXUS_VERSION } from './help.ts';
import { runMigrateCommand } from './migrate.ts';
import { createNexus, NexusIdentityError, type Nexus } from './server.ts';

function fail(message: string, code: number): never {
  process.stderr.write(`spike-nexus: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'migrate') {
    const code = await runMigrateCommand(process.argv.slice(3), {
      env: process.env,
      cwd: process.cwd(),
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
    });
    process.exitCode = code;
    return;
  }
  const early = serverArgs(process.argv.slice(2), {
    name: 'spike-nexus',
    version: NEXUS_VERSION,
    help: NEXUS_HELP,
  });
  if (early !== undefined) {
    process[early.stream].write(early.text, () => process.exit(early.exitCode));
    return;
  }
  let config: NexusConfig;
  try {
    config = loadConfigFromProcess();
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid configuration: ${err.message}`, 2);
    throw err;
  }
  const logger = createLogger({
    level: config.logLevel,
    sink: (line) => process.stdout.write(line),
    base: { component: 'nexus' },
  });
  if (config.backend === 'memory') {
    logger.warn('SPIKE_NEXUS_BACKEND_STORE=memory: secrets are NOT persisted and are lost on exit');
  }

  let source: X509Source;
  try {
    source = await createX509Source({
      endpoint: config.spiffeEndpointSocket,
      timeoutMs: config.spiffeSourceTimeoutMs,
      env: process.env,
      logger,
    });
  } catch (err) {
    fail(`could not obtain an X.509-SVID from the Workload API: ${(err as Error).message}`, 1);
  }

  let nexus: Nexus;
  try {
    nexus = await createNexus(config, {
      source,
      logger,
      custodyFactory: createCustody,
      processMetrics: true,
    });
  } catch (err) {
    await source.close();
    if (err instanceof NexusIdentityError) fail(err.message, 1);
    fail(`cannot start: ${(err as Error).message}`, 1);
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    void Promise.allSettled([nexus.close()])
      .then(() => source.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // logrotate (`create` mode) renames the audit file, then sends SIGHUP from `postrotate`.
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reopening the audit log file');
    nexus.reopenAuditLog();
  });

  try {
    const address = await nexus.listen();
    const health = nexus.healthAddress();
    const people = nexus.peopleAddress();
    process.stderr.write(
      `spike-nexus: listening on ${address.address}:${String(address.port)}` +
        (health === null ? '' : ` (health on ${health.address}:${String(health.port)})`) +
        (people === null ? '' : ` (people on ${people.address}:${String(people.port)})`) +
        ` backend=${config.backend} api-threads=${String(config.apiThreads)}` +
        (config.apiThreadsAuto ? ' (auto)' : '') +
        '\n',
    );
  } catch (err) {
    await nexus.close();
    await source.close();
    fail(`cannot listen: ${(err as Error).message}`, 1);
  }
}

main().catch((err: unknown) => {
  fail(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`, 1);
});
