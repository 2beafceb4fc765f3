/**
 * @module main
 * Composition root of the `spike` CLI: the only module that reads `process` and exits.
 * The SDK and the Workload API client (gRPC, X.509) are imported only when a command first needs
 * an identity, so `spike --help`, `spike version` and `spike completion` start fast.
 */
import type { CliIo } from './cli-io.ts';
import { runCli } from './run-cli.ts';

const io: CliIo = {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  get stdin() {
    return process.stdin;
  },
  preload: async () => {
    await Promise.all([import('./open-workload-source.ts'), import('@spike-ts/sdk')]);
  },
  openSource: async (opts) => {
    const { openWorkloadSource } = await import('./open-workload-source.ts');
    return openWorkloadSource(process.env, opts.timeoutMs);
  },
  openClient: async (source, opts) => {
    const { createSpikeClient } = await import('@spike-ts/sdk');
    return createSpikeClient({
      source,
      env: process.env,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    });
  },
};

// Exit explicitly: an idle keep-alive socket or a Workload API stream must not keep the CLI alive.
// (No top-level await: the self-contained executable bundles this module as CommonJS.)
void runCli(process.argv.slice(2), io).then((code) => {
  process.stdout.write('', () => process.exit(code));
});
