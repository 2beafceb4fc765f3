/**
 * Writes docs/configuration.md from the settings table (`npm run docs:config`). The test
 * test/settings/settings-table.test.ts fails when the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigurationDoc } from '@spike-ts/settings';

const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
writeFileSync(target, renderConfigurationDoc());
process.stdout.write(`wrote ${target}\n`);
