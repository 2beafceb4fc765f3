/**
 * Where the SPIRE suite finds `spire-server` and `spire-agent`: the per-user tools cache that
 * `npm run tools:install` (scripts/tools-install.ts, run by `npm test` first) fills. Missing
 * binaries are an error, never a skip: the suite exists to prove interop with real SPIRE.
 */
import { join } from 'node:path';
import { missingBinaries, toolBinDir } from '../../scripts/tools/registry.ts';
import { SPIRE } from '../../scripts/tools/spire.ts';

export const SPIRE_VERSION = SPIRE.version;

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export interface SpireBinaries {
  readonly server: string;
  readonly agent: string;
}

export class SpireBinariesMissingError extends Error {
  readonly missing: readonly string[];
  constructor(binDir: string, missing: readonly string[]) {
    super(
      `SPIRE ${SPIRE_VERSION} is not installed: ${missing.join(' and ')} not found (or not executable) ` +
        `in ${binDir}. Run \`npm run tools:install\` to build SPIRE into the tools cache (needs Go, ` +
        'gcc and the Go module proxy; a cold build takes several minutes; `npm test` does it ' +
        'first) or set SPIRE_BIN_DIR to a folder holding both binaries, then run the SPIRE suite again.',
    );
    this.name = 'SpireBinariesMissingError';
    this.missing = missing;
  }
}

/** `SPIRE_BIN_DIR` when set (SPIRE installed elsewhere), else `<tools cache>/spire/<version>/bin`. */
export function defaultSpireBinDir(): string {
  const override = process.env.SPIRE_BIN_DIR?.trim();
  return override !== undefined && override !== '' ? override : toolBinDir(SPIRE);
}

/** Paths of both binaries, or a `SpireBinariesMissingError` that says how to install them. */
export function requireSpireBinaries(binDir = defaultSpireBinDir()): SpireBinaries {
  const missing = missingBinaries(SPIRE, binDir);
  if (missing.length > 0) throw new SpireBinariesMissingError(binDir, missing);
  return { server: join(binDir, 'spire-server'), agent: join(binDir, 'spire-agent') };
}
