/**
 * Redocly CLI, the OpenAPI linter that checks docs/openapi.yaml against the ruleset in
 * docs/redocly.yaml (ADR 0028). Installed from the npm registry into the tools cache, never into
 * the checkout: it is a test tool and never ships.
 *
 * Layout: `bin/lib/` holds the npm install; `bin/redocly` is a small shell wrapper that runs its
 * entry point with the `node` on PATH (npm scripts put the project's Node 24 first).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onPath, runStep } from './process.ts';
import type { Tool, ToolBuild } from './tool.ts';

const VERSION = '2.77.0';
const PACKAGE = '@redocly/cli';

export const REDOCLY: Tool = {
  name: 'redocly',
  version: VERSION,
  binaries: ['redocly'],
  versionArgs: ['--version'],
  versionPattern: new RegExp(`^${VERSION.replaceAll('.', '\\.')}\\b`),

  missingRequirements(env) {
    return Promise.resolve(onPath('npm', env) ? [] : ['npm (it comes with Node.js) on PATH']);
  },

  async build(ctx: ToolBuild) {
    const lib = join(ctx.binDir, 'lib');
    await mkdir(lib);
    ctx.say(`installing ${PACKAGE}@${VERSION} from the npm registry`);
    await runStep(
      'npm',
      ['install', '--prefix', lib, '--no-audit', '--no-fund', '--ignore-scripts', `${PACKAGE}@${VERSION}`],
      process.env,
    );
    const wrapper = join(ctx.binDir, 'redocly');
    await writeFile(
      wrapper,
      `#!/bin/sh\nexec node "$(dirname "$0")/lib/node_modules/${PACKAGE}/bin/cli.js" "$@"\n`,
    );
    await chmod(wrapper, 0o755);
  },
};
