/**
 * Where the SPIRE suite finds `spire-server` and `spire-agent`: the git-ignored `.tools/` folder
 * that `npm run tools:install` (scripts/tools-install.sh) fills. Missing binaries are an error,
 * never a skip: the suite exists to prove interop with real SPIRE.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export const SPIRE_VERSION = 'v1.15.3';

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
        `in ${binDir}. Run \`npm run tools:install\` to build SPIRE into .tools/ (needs Go and the Go ` +
        'module proxy; a cold build takes several minutes) or set SPIRE_BIN_DIR to a folder holding ' +
        'both binaries, then run the SPIRE suite again.',
    );
    this.name = 'SpireBinariesMissingError';
    this.missing = missing;
  }
}

/** `SPIRE_BIN_DIR` when set (SPIRE installed elsewhere), else `<repo>/.tools/spire/<version>/bin`. */
export function defaultSpireBinDir(): string {
  const override = process.env.SPIRE_BIN_DIR?.trim();
  return override !== undefined && override !== ''
    ? override
    : join(REPO_ROOT, '.tools', 'spire', SPIRE_VERSION, 'bin');
}

/** Paths of both binaries, or a `SpireBinariesMissingError` that says how to install them. */
export function requireSpireBinaries(binDir = defaultSpireBinDir()): SpireBinaries {
  const server = join(binDir, 'spire-server');
  const agent = join(binDir, 'spire-agent');
  const missing = [server, agent].filter((file) => {
    try {
      accessSync(file, constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new SpireBinariesMissingError(
      binDir,
      missing.map((f) => f.slice(binDir.length + 1)),
    );
  }
  return { server, agent };
}
