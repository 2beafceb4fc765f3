/**
 * The root key of a dev-mode Nexus on SQLite (`--data-dir`). The keepers run in this process and
 * hold their shares in memory only, so they are empty at every start:
 *
 * - first start (no recovery files, a store never initialized): the real bootstrap ceremony (`runBootstrap` over mTLS with
 *   the bootstrap identity, live-system check included), then `spike operator recover` run in
 *   this process with the Pilot recover identity, which writes the recovery files into the data
 *   directory;
 * - every later start: `spike operator restore` with the Pilot restore identity, fed those files
 *   one by one until Nexus is ready (after which Nexus re-seeds the keepers itself).
 *
 * Both the ceremony and the CLI commands are the ones operators run; nothing here reimplements them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from '@spike-ts/core';
import { createMtlsTransport, loadBootstrapConfig, runBootstrap } from '@spike-ts/bootstrap';
import { runCli, type CliIo } from '@spike-ts/cli';
import { createX509Source, isBootstrap } from '@spike-ts/identity';
import { createSpikeClient } from '@spike-ts/sdk';
import type { Env } from '@spike-ts/settings';

/** Name pattern of the files `spike operator recover` writes. */
const RECOVERY_FILE = /^spike\.recovery\.(\d+)\.txt$/;

export interface RootKeyDeps {
  /** `SPIKE_PILOT_RECOVERY_DIR`: the files are in `<recoveryParent>/recover`. */
  readonly recoveryParent: string;
  readonly nexusUrl: string;
  readonly threshold: number;
  /** Workload API endpoint of a served identity (`bootstrap`, `pilot-recover`, `pilot-restore`). */
  readonly endpointFor: (name: string) => string;
  /** The environment of the bootstrap, composed by the caller (keeper peers, shares, store). */
  readonly bootstrapEnv: Env;
  readonly isReady: () => boolean;
  /** Whether Nexus's store was ever given a root key (it holds a key-check value). */
  readonly isInitialized: () => Promise<boolean>;
  /** One progress line for the developer. */
  readonly progress: (line: string) => void;
  readonly logger: Logger;
}

/** The recovery files `spike operator recover` left in the data directory, by share index. */
export function recoveryFiles(recoveryParent: string): string[] {
  const dir = join(recoveryParent, 'recover');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => RECOVERY_FILE.test(n))
    .sort((a, b) => Number(RECOVERY_FILE.exec(a)?.[1]) - Number(RECOVERY_FILE.exec(b)?.[1]))
    .map((n) => join(dir, n));
}

/** Gives Nexus its root key: bootstrap at first start, restore from the recovery files after. */
export async function provideRootKey(deps: RootKeyDeps): Promise<'bootstrapped' | 'restored'> {
  const files = recoveryFiles(deps.recoveryParent);
  if (files.length > 0) {
    await restore(deps, files);
    return 'restored';
  }
  // The bootstrap's live-system check cannot see a store that was initialized while its keepers are
  // empty (ADR 0010), and ours always start empty: a new root key would only be refused by Nexus.
  if (await deps.isInitialized()) {
    throw new Error(
      `the data directory holds secrets under a root key, but there are no recovery files in ` +
        `${join(deps.recoveryParent, 'recover')} to restore it from. Put the files back, or start over ` +
        'with an empty --data-dir.',
    );
  }
  await bootstrap(deps);
  deps.progress(
    'Saving the recovery files (spike operator recover), used to restore the root key at the next start',
  );
  await spike(deps, 'pilot-recover', ['operator', 'recover']);
  return 'bootstrapped';
}

async function bootstrap(deps: RootKeyDeps): Promise<void> {
  const config = loadBootstrapConfig(deps.bootstrapEnv);
  const logger = deps.logger.child({ component: 'bootstrap' });
  const source = await createX509Source({
    endpoint: deps.endpointFor('bootstrap'),
    env: deps.bootstrapEnv,
    logger,
  });
  const transport = createMtlsTransport(source, config.trustRoots);
  try {
    const ownId = source.getX509Svid().spiffeId;
    if (!isBootstrap(ownId, config.trustRoots)) throw new Error(`${ownId} is not a SPIKE Bootstrap ID`);
    await runBootstrap(config, { transport, progress: (line) => deps.progress(`  bootstrap: ${line}`) });
  } finally {
    await transport.close();
    await source.close();
  }
}

async function restore(deps: RootKeyDeps, files: readonly string[]): Promise<void> {
  deps.progress(
    `Restoring the root key from the recovery files in ${join(deps.recoveryParent, 'recover')} ` +
      '(spike operator restore; the in-process keepers start empty)',
  );
  for (const file of files) {
    if (deps.isReady()) break;
    await spike(deps, 'pilot-restore', ['operator', 'restore'], readFileSync(file));
  }
  if (!deps.isReady()) {
    throw new Error(
      `Nexus is still not ready after the ${String(files.length)} recovery file(s) in ` +
        `${join(deps.recoveryParent, 'recover')} (${String(deps.threshold)} are needed). ` +
        'Put the missing files back, or start over with an empty --data-dir.',
    );
  }
}

/** Runs one `spike` command in this process with identity `name`; throws with its messages on failure. */
async function spike(deps: RootKeyDeps, name: string, argv: string[], input?: Buffer): Promise<void> {
  const env: Env = {
    SPIFFE_ENDPOINT_SOCKET: deps.endpointFor(name),
    SPIKE_NEXUS_API_URL: deps.nexusUrl,
    SPIKE_PILOT_RECOVERY_DIR: deps.recoveryParent,
  };
  let messages = '';
  const collect = { write: (chunk: string | Uint8Array) => (messages += chunk.toString()) };
  const io: CliIo = {
    env,
    stdout: collect,
    stderr: collect,
    stdin: Readable.from(input === undefined ? [] : [input]),
    openSource: (opts) =>
      createX509Source({ endpoint: env['SPIFFE_ENDPOINT_SOCKET'], env, logger: deps.logger, ...opts }),
    openClient: (source, opts) => createSpikeClient({ source, env, ...opts }),
  };
  try {
    const code = await runCli(argv, io);
    if (code !== 0)
      throw new Error(`spike ${argv.join(' ')} failed (exit ${String(code)}): ${messages.trim()}`);
  } finally {
    input?.fill(0);
  }
}
