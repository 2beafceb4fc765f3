/**
 * Helm for the chart test (test/deploy/helm-chart.test.ts: `helm lint` and `helm template` on
 * deploy/helm/spike), built from the Go module proxy with the machine's Go toolchain. Pure Go
 * (CGO off), so no C compiler is needed. The version is stamped the way Helm's Makefile does, so
 * `helm version` reports the pinned release.
 */
import { missingGo } from './go.ts';
import { runStep } from './process.ts';
import type { Tool, ToolBuild } from './tool.ts';

const VERSION = 'v4.3.2';
const MODULE = 'helm.sh/helm/v4';
/** Helm v4.3.2's go.mod says `go 1.26.0`; an older Go tries to download that toolchain itself. */
const GO_MIN: readonly [number, number] = [1, 26];

export const HELM: Tool = {
  name: 'helm',
  version: VERSION,
  binaries: ['helm'],
  versionArgs: ['version', '--short'],
  versionPattern: new RegExp(`^${VERSION.replaceAll('.', '\\.')}\\b`),

  missingRequirements(env) {
    return missingGo(GO_MIN, env);
  },

  async build(ctx: ToolBuild) {
    // GOFLAGS from the caller's environment (e.g. -mod=vendor) must not leak into `go install`.
    const env = { ...process.env, CGO_ENABLED: '0', GOBIN: ctx.binDir, GOFLAGS: '-buildvcs=false' };
    ctx.say(
      `compiling helm ${VERSION} from the Go module proxy (a cold build takes a few minutes on 2 cores)`,
    );
    await runStep(
      'go',
      [
        'install',
        '-trimpath',
        '-ldflags',
        `-s -w -X ${MODULE}/internal/version.version=${VERSION}`,
        `${MODULE}/cmd/helm@${VERSION}`,
      ],
      env,
      ctx.workDir,
    );
  },
};
