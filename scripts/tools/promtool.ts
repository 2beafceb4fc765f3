/**
 * promtool, Prometheus's checker for the text exposition format and for rule files: the metrics
 * tests pipe a real Nexus scrape through `promtool check metrics` and check the example alert
 * rules with `promtool check rules` and `promtool test rules`. Built with the machine's Go
 * toolchain from the Go module proxy (no C compiler needed).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadModule, missingGo } from './go.ts';
import { runStep } from './process.ts';
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

  missingRequirements(env) {
    return missingGo(GO_MIN, env);
  },

  async build(ctx: ToolBuild) {
    const env = { ...process.env, GOBIN: ctx.binDir, CGO_ENABLED: '0' };
    ctx.say(`downloading Prometheus ${VERSION} source from the Go module proxy`);
    const source = await downloadModule(MODULE, VERSION, env);
    // Stamp the release version as Prometheus's own build does (from its VERSION file).
    const release = (await readFile(join(source, 'VERSION'), 'utf8')).trim();
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
