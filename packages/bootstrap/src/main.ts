/**
 * `spike-bootstrap`: the composition root and the only reader of argv and the environment.
 * Progress goes to stderr; the exit code says how it ended (see `--help`).
 */
import { createLogger } from '@spike-ts/core';
import { createX509Source, isBootstrap, type X509Source } from '@spike-ts/identity';
import { runBootstrap } from './bootstrap.ts';
import { HELP_TEXT, parseBootstrapArgs } from './cli-args.ts';
import { loadBootstrapConfig } from './config.ts';
import pkg from '../package.json' with { type: 'json' };

const BOOTSTRAP_VERSION: string = pkg.version;
import { BootstrapError, EXIT_FAILURE, EXIT_OK } from './errors.ts';
import { createMtlsTransport } from './mtls-transport.ts';

const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function main(): Promise<number> {
  const args = parseBootstrapArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(HELP_TEXT);
    return EXIT_OK;
  }
  if (args.version) {
    process.stdout.write(`spike-bootstrap ${BOOTSTRAP_VERSION}\n`);
    return EXIT_OK;
  }
  const config = loadBootstrapConfig(process.env, { force: args.force });
  if (config.timeoutMs > 0) {
    setTimeout(() => {
      process.stderr.write(
        `spike-bootstrap: gave up after SPIKE_BOOTSTRAP_TIMEOUT (${Math.round(config.timeoutMs / 1000)}s)\n`,
      );
      process.exit(EXIT_FAILURE);
    }, config.timeoutMs).unref();
  }
  if (config.backendStore === 'memory') {
    return (await runBootstrap(config, { transport: unusedTransport, progress })) === 'skipped'
      ? EXIT_OK
      : EXIT_FAILURE;
  }

  const logger = createLogger({
    level: config.logLevel,
    sink: (line) => process.stderr.write(line),
    base: { component: 'bootstrap' },
  });
  let source: X509Source;
  try {
    source = await createX509Source({ env: process.env, logger });
  } catch (err) {
    throw new BootstrapError(
      `could not obtain an X.509-SVID from the SPIFFE Workload API (SPIFFE_ENDPOINT_SOCKET): ${(err as Error).message}`,
    );
  }
  const transport = createMtlsTransport(source, config.trustRoots);
  try {
    const ownId = source.getX509Svid().spiffeId;
    if (!isBootstrap(ownId, config.trustRoots)) {
      throw new BootstrapError(
        `this process's SPIFFE ID ${ownId} is not a SPIKE Bootstrap ID ` +
          '(expected spiffe://<trust root>/spike/bootstrap; check SPIKE_TRUST_ROOT_BOOTSTRAP)',
      );
    }
    await runBootstrap(config, { transport, progress });
    return EXIT_OK;
  } finally {
    await transport.close();
    await source.close();
  }
}

const unusedTransport = {
  postKeeper: () => Promise.reject(new Error('not used')),
  postNexus: () => Promise.reject(new Error('not used')),
};

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof BootstrapError) {
      process.stderr.write(`spike-bootstrap: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(
      `spike-bootstrap: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(EXIT_FAILURE);
  },
);
