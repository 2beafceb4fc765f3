/**
 * The external tools the test suites need, and where they live once built: a per-user cache
 * outside any checkout, so every clone on the machine reuses one build.
 *
 *   ${SPIKE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/spike-ts/tools}/<tool>/<version>/bin/<binary>
 *
 * To add a tool: write its recipe next to `spire.ts` (a `Tool`: binaries, a version check, what it
 * needs on the machine, how to build or download it into a staging folder) and append it to
 * `TOOLS`. `npm run tools:install` (scripts/tools-install.ts) then builds or reuses it, and a test
 * finds its binaries with `toolBinaries(tool)`.
 */
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { HELM } from './helm.ts';
import { KEYCLOAK } from './keycloak.ts';
import { NODE22 } from './node22.ts';
import { PROMTOOL } from './promtool.ts';
import { REDOCLY } from './redocly.ts';
import { SCHEMATHESIS } from './schemathesis.ts';
import { SPIRE } from './spire.ts';
import type { Tool } from './tool.ts';

export type { Tool, ToolBuild } from './tool.ts';

/** Every tool `npm run tools:install` provides, in install order. */
export const TOOLS: readonly Tool[] = [SPIRE, NODE22, HELM, REDOCLY, SCHEMATHESIS, PROMTOOL, KEYCLOAK];

/** The cache root: `SPIKE_TOOLS_DIR`, else `$XDG_CACHE_HOME/spike-ts/tools`, else `~/.cache/...`. */
export function toolsRoot(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.SPIKE_TOOLS_DIR?.trim();
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  // The XDG spec says to ignore a relative XDG_CACHE_HOME.
  const xdg = env.XDG_CACHE_HOME?.trim();
  const home = env.HOME?.trim();
  const cache =
    xdg !== undefined && isAbsolute(xdg)
      ? xdg
      : join(home !== undefined && home !== '' ? home : homedir(), '.cache');
  return join(cache, 'spike-ts', 'tools');
}

/** `<root>/<tool>/<version>/bin`. */
export function toolBinDir(tool: Tool, env: NodeJS.ProcessEnv = process.env): string {
  return join(toolsRoot(env), tool.name, tool.version, 'bin');
}

/** The tool's binaries in `binDir` that are missing or not executable. */
export function missingBinaries(tool: Tool, binDir: string): string[] {
  return tool.binaries.filter((name) => {
    try {
      accessSync(join(binDir, name), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

export function toolByName(name: string): Tool | undefined {
  return TOOLS.find((t) => t.name === name);
}
