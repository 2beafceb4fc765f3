/**
 * What the tools built with the machine's Go toolchain share: the Go version check of their
 * requirements and fetching a module's source from the Go module proxy.
 */
import { commandOutput, onPath } from './process.ts';

/** `go1.26.8` -> [1, 26]; undefined when the string is not a Go release. */
export function goMinor(goVersion: string): [number, number] | undefined {
  const m = /^go(\d+)\.(\d+)/.exec(goVersion.trim());
  return m === null ? undefined : [Number(m[1]), Number(m[2])];
}

/** What is missing for a build that needs Go `min` or newer: nothing, or one line saying so. */
export async function missingGo(min: readonly [number, number], env: NodeJS.ProcessEnv): Promise<string[]> {
  if (!onPath('go', env)) return [`Go >= ${min.join('.')} (https://go.dev/dl/; \`go\` must be on PATH)`];
  const found = goMinor(await commandOutput('go', ['env', 'GOVERSION'], env));
  if (found !== undefined && (found[0] < min[0] || (found[0] === min[0] && found[1] < min[1]))) {
    return [`Go >= ${min.join('.')} (found go${found.join('.')})`];
  }
  return [];
}

/** Downloads `module@version` into the module cache; its (read-only) source folder. */
export async function downloadModule(
  module: string,
  version: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const info = JSON.parse(
    await commandOutput('go', ['mod', 'download', '-json', `${module}@${version}`], env),
  ) as { Dir?: string; Error?: string };
  if (info.Dir === undefined) {
    throw new Error(`could not download ${module}@${version}: ${info.Error ?? 'no folder reported'}`);
  }
  return info.Dir;
}
