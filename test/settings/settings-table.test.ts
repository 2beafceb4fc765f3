/**
 * The settings table is the one place a `SPIKE_*` variable is defined: the committed
 * docs/configuration.md is what the table renders, and no package reads a `SPIKE_*` variable
 * the table does not know.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigurationDoc, SETTINGS, SPIKE_VARIABLES_NOT_READ } from '@spike-ts/settings';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `SPIKE_*` names in source that are not environment variables, or belong to the dev issuer. */
const NOT_SETTINGS = new Set([
  'SPIKE_ROLES',
  'SPIKE_ERROR_BRAND',
  'SPIKE_BIN',
  'SPIKE_DEV_IDENTITY_LOG_LEVEL',
  'SPIKE_VARIABLES_NOT_READ',
  ...SPIKE_VARIABLES_NOT_READ,
]);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

describe('settings table', () => {
  it('docs/configuration.md is generated from it (run `npm run docs:config` after changing the table)', () => {
    const committed = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    assert.equal(committed, renderConfigurationDoc());
  });

  it('knows every SPIKE_* variable the packages read', () => {
    const known = new Set(SETTINGS.map((s) => s.name));
    const unknown = new Map<string, string>();
    for (const pkg of readdirSync(join(ROOT, 'packages'))) {
      for (const file of sourceFiles(join(ROOT, 'packages', pkg, 'src'))) {
        for (const m of readFileSync(file, 'utf8').matchAll(/\bSPIKE_[A-Z0-9_]*[A-Z0-9]\b/g)) {
          const name = m[0];
          if (!known.has(name) && !NOT_SETTINGS.has(name) && !unknown.has(name)) {
            unknown.set(name, file.slice(ROOT.length));
          }
        }
      }
    }
    assert.deepEqual(Object.fromEntries(unknown), {}, 'add these to packages/settings/src/table.ts');
  });
});
