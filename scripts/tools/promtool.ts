/**
 * promtool, Prometheus's checker for the text exposition format and for rule files: the metrics
 * tests pipe a real Nexus scrape through `promtool check metrics` and check the example alert
 * rules with `promtool check rules` and `promtool test rules`. Built with the machine's Go
 * toolchain from the Go module proxy (no C compiler needed).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commandOutput, onPath, runStep } from './process.ts';
import { goMinor } from './spire.ts';
import type { Tool, ToolBuild } from './tool.ts';

/** The Go module version (Prometheus 3.16.0; the module tags its releases v0.3MM.P). */
const VERSION = 'v0.316.0';
const MODULE = 'github.com/prometheus/prometheus';
/** Its go.mod says `go 1.26.7`; an older Go would try to download that toolchain itself. */
const GO_MIN: readonly [number, number] = [1, 26];

export const PROMTOOL: Tool = {
  name: 'promtool',
  version: VERSION,
  binaries: ['promtool'],
  versionArgs: ['--version'],
  // `promtool, version 3.16.0 (branch: ..., revision: v0.316.0)`: the revision is stamped below.
  versionPattern: new RegExp(`^promtool, version \\S+ \\(.*revision: ${VERSION.replaceAll('.', '\\.')}\\)`),

  async missingRequirements(env) {
    if (!onPath('go', env)) return [`Go >= ${GO_MIN.join('.')} (https://go.dev/dl/; \`go\` must be on PATH)`];
    const found = goMinor(await commandOutput('go', ['env', 'GOVERSION'], env));
    if (found !== undefined && (found[0] < GO_MIN[0] || (found[0] === GO_MIN[0] && found[1] < GO_MIN[1]))) {
      return [`Go >= ${GO_MIN.join('.')} (found go${found.join('.')})`];
    }
    return [];
  },

  async build(ctx: ToolBuild) {
    const env = { ...process.env, GOBIN: ctx.binDir, CGO_ENABLED: '0' };
    ctx.say(`downloading Prometheus ${VERSION} source from the Go module proxy`);
    const info = JSON.parse(
      await commandOutput('go', ['mod', 'download', '-json', `${MODULE}@${VERSION}`], env),
    ) as { Dir?: string; Error?: string };
    if (info.Dir === undefined) {
      throw new Error(`could not download ${MODULE}@${VERSION}: ${info.Error ?? 'no folder reported'}`);
    }
    // Stamp the release version as Prometheus's own build does (from its VERSION file).
    const release = (await readFile(join(info.Dir, 'VERSION'), 'utf8')).trim();
    ctx.say(`compiling promtool ${release} (a cold build takes a few minutes on 2 cores)`);
    const stamp = 'github.com/prometheus/common/version';
    await runStep(
      'go',
      [
        'install',
        '-trimpath',
        '-ldflags',
        `-X ${stamp}.Version=${release} -X ${stamp}.Revision=${VERSION} -X ${stamp}.Branch=release`,
        `${MODULE}/cmd/promtool@${VERSION}`,
      ],
      env,
      ctx.workDir,
    );
  },
};
