/**
 * The README's commands work on a fresh clone: the test command builds or reuses the tools the
 * suites need before the tests run, CI runs exactly the README's command, and `npm ci` has no
 * unreviewed dependency install script to warn about (npm 11's `allowScripts`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

interface PackageJson {
  scripts: Record<string, string>;
  allowScripts?: Record<string, boolean>;
}
interface LockEntry {
  version?: string;
  hasInstallScript?: boolean;
  link?: boolean;
}

const pkg = JSON.parse(read('package.json')) as PackageJson;

/** Does an `allowScripts` key (`name`, `name@*` or `name@1.2.3 || 1.2.4`) cover name@version? */
function covers(key: string, name: string, version: string): boolean {
  const at = key.lastIndexOf('@');
  if (at <= 0) return key === name;
  if (key.slice(0, at) !== name) return false;
  const spec = key.slice(at + 1).trim();
  return spec === '*' || spec.split('||').some((v) => v.trim() === version);
}

describe('a fresh clone', () => {
  it("the README's test command is `npm ci && npm run check`", () => {
    assert.match(read('README.md'), /^npm ci && npm run check(\s|$)/m);
  });

  it('npm run check runs npm test, and npm test builds or reuses the tools first', () => {
    assert.match(pkg.scripts['check'] ?? '', /(^|&& )npm test($| &&)/);
    assert.equal(pkg.scripts['pretest'], 'npm run tools:install');
    assert.equal(pkg.scripts['pretest:spire'], 'npm run tools:install');
    assert.equal(pkg.scripts['tools:install'], 'node scripts/tools-install.ts');
  });

  it(".ci/run ends by running exactly the README's command", () => {
    const commands = read('.ci/run')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('echo '));
    assert.equal(commands.at(-1), 'npm ci && npm run check');
    // Nothing else of the README's command is run separately (it would hide what a user sees).
    assert.equal(commands.filter((c) => /\bnpm (ci|run|test)\b/.test(c)).length, 1, commands.join('\n'));
  });

  it('every dependency with an install script is approved or denied in allowScripts', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockEntry> };
    const policy = Object.keys(pkg.allowScripts ?? {});
    const unreviewed: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (entry.hasInstallScript !== true || entry.link === true || !path.includes('node_modules/')) continue;
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const version = entry.version ?? '';
      if (!policy.some((key) => covers(key, name, version))) unreviewed.push(`${name}@${version}`);
    }
    assert.deepEqual(unreviewed, [], 'add these to "allowScripts" in package.json after reviewing them');
  });

  it('allowScripts runs the Node 24 installer (the `node` package) and denies everything else', () => {
    const { node, ...others } = pkg.allowScripts ?? {};
    assert.equal(node, true);
    for (const [key, allowed] of Object.entries(others)) assert.equal(allowed, false, key);
  });
});
