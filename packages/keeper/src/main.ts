/**
 * `spike-keeper`: the composition root and the only reader of the environment. Holds one share in
 * memory; SIGINT/SIGTERM zero it before exiting.
 */
import { createLogger, serverArgs } from '@spike-ts/core';
import { createX509Source, type X509Source } from '@spike-ts/identity';
import { KeeperConfigError, loadKeeperConfig } from './config.ts';
import { KEEPER_HELP, KEEPER_VERSION } from './help.ts';
import { createKeeperServer, KeeperIdentityError, type KeeperServer } from './keeper-server.ts';

function fail(message: string, code: number): never {
  process.stderr.write(`spike-keeper: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const early = serverArgs(process.argv.slice(2), {
    name: 'spike-keeper',
    version: KEEPER_VERSION,
    help: KEEPER_HELP,
  });
  if (early !== undefined) {
    process[early.stream].write(early.text, () => process.exit(early.exitCode));
    return;
  }
  let config;
  try {
    config = loadKeeperConfig(process.env);
  } catch (err) {
    if (err instanceof KeeperConfigError) fail(err.message, 2);
    throw err;
  }
  const logger = createLogger({
    level: config.logLevel,
    sink: (line) => process.stdout.write(line),
    base: { component: 'keeper' },
  });

  let source: X509Source;
  try {
    source = await createX509Source({ env: process.env, logger });
  } catch (err) {
    fail(`could not obtain an X.509-SVID from the Workload API: ${(err as Error).message}`, 1);
  }

  let keeper: KeeperServer;
  try {
    keeper = createKeeperServer({
      source,
      trustRoots: config.trustRoots,
      logger,
      headersTimeoutMs: config.headersTimeoutMs,
    });
  } catch (err) {
    await source.close();
    if (err instanceof KeeperIdentityError) fail(err.message, 1);
    throw err;
  }

  let stopping = false;
  const stop = (signal: string): void => {
    keeper.holder.clear();
    if (stopping) return;
    stopping = true;
    logger.info('shutting down; share zeroed', { signal });
    void Promise.allSettled([keeper.close(), source.close()]).then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('exit', () => keeper.holder.clear());

  try {
    const address = await keeper.listen(config.port, config.host);
    logger.info('SPIKE Keeper listening', { address: address.address, port: address.port });
    process.stderr.write(`spike-keeper: listening on ${address.address}:${address.port}\n`);
  } catch (err) {
    await source.close();
    fail(`cannot listen on SPIKE_KEEPER_TLS_PORT: ${(err as Error).message}`, 1);
  }
}

main().catch((err: unknown) => {
  fail(`unexpected failure: ${err instanceof Error ? err.message : String(err)}`, 1);
});
