/**
 * SPIRE server and agent for the SPIRE suite (test/spire/), built from source with the machine's
 * Go toolchain and the Go module proxy (CGO on: SPIRE's SQLite datastore needs a C compiler).
 *
 * The module proxy serves SPIRE v1.15.3 but refuses one optional dependency of it (the EJBCA
 * upstream-authority plugin's client SDK). We build from the module's source with that one plugin
 * left out; nothing else is changed and no test uses that plugin.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadModule, missingGo } from './go.ts';
import { onPath, runStep } from './process.ts';
import type { Tool, ToolBuild } from './tool.ts';

const VERSION = 'v1.15.3';
const MODULE = 'github.com/spiffe/spire';
/** SPIRE v1.15.3's go.mod says `go 1.26.6`; an older Go tries to download that toolchain itself. */
const GO_MIN: readonly [number, number] = [1, 26];

/** Drops the EJBCA plugin from the catalog and go.mod; fails loudly when the source has moved. */
async function dropEjbca(src: string): Promise<void> {
  const edits: Array<[file: string, line: RegExp]> = [
    [join(src, 'pkg/server/catalog/upstreamauthority.go'), /^.*upstreamauthority\/ejbca".*\n/m],
    [join(src, 'pkg/server/catalog/upstreamauthority.go'), /^\s*ejbca\.BuiltIn\(\),.*\n/m],
    [join(src, 'go.mod'), /^.*Keyfactor\/ejbca-go-client-sdk.*\n/m],
  ];
  for (const [file, line] of edits) {
    const text = await readFile(file, 'utf8');
    if (!line.test(text)) {
      throw new Error(`SPIRE ${VERSION} source changed: ${String(line)} not found in ${file}`);
    }
    await writeFile(file, text.replace(line, ''));
  }
}

export const SPIRE: Tool = {
  name: 'spire',
  version: VERSION,
  binaries: ['spire-server', 'spire-agent'],
  versionArgs: ['--version'],
  versionPattern: new RegExp(`^${VERSION.slice(1).replaceAll('.', '\\.')}\\b`),

  async missingRequirements(env) {
    const missing = await missingGo(GO_MIN, env);
    if (!onPath('cc', env) && !onPath('gcc', env)) {
      missing.push("a C compiler (gcc; Debian/Ubuntu: apt-get install gcc) for SPIRE's SQLite datastore");
    }
    return missing;
  },

  async build(ctx: ToolBuild) {
    const env = { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '1' };
    ctx.say(`downloading SPIRE ${VERSION} source from the Go module proxy`);
    const source = await downloadModule(MODULE, VERSION, env);
    const src = join(ctx.workDir, 'spire');
    // The module cache is read-only; build from a writable copy.
    await runStep('cp', ['-r', source, src], env);
    await runStep('chmod', ['-R', 'u+w', src], env);
    ctx.say('leaving out the EJBCA upstream-authority plugin (its SDK is not served by the module proxy)');
    await dropEjbca(src);
    ctx.say('compiling spire-server and spire-agent (a cold build takes several minutes on 2 cores)');
    // Stamp the release version the way SPIRE's Makefile does (`--version` prints 1.15.3).
    const ldflags = `-X github.com/spiffe/spire/pkg/common/version.gittag=${VERSION.slice(1)}`;
    await runStep(
      'go',
      [
        'build',
        '-trimpath',
        '-ldflags',
        ldflags,
        '-o',
        `${ctx.binDir}/`,
        './cmd/spire-server',
        './cmd/spire-agent',
      ],
      env,
      src,
    );
  },
};
