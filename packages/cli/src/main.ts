/**
 * @module main
 * Composition root of the `spike` CLI: the only module that reads `process` and exits.
 */
import { createSpikeClient } from '@spike-ts/sdk';
import type { CliIo } from './cli-io.ts';
import { openWorkloadSource } from './open-workload-source.ts';
import { runCli } from './run-cli.ts';

const io: CliIo = {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  get stdin() {
    return process.stdin;
  },
  openSource: (opts) => openWorkloadSource(process.env, opts.timeoutMs),
  openClient: (source, opts) =>
    createSpikeClient({
      source,
      env: process.env,
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    }),
};

const code = await runCli(process.argv.slice(2), io);
// Exit explicitly: an idle keep-alive socket or a Workload API stream must not keep the CLI alive.
process.stdout.write('', () => process.exit(code));
