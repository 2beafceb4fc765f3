#!/usr/bin/env node
// spike-dev: Nexus, the dev identity issuer (and, with --data-dir, keepers) in one process, for
// development only. Needs Node.js 24 or newer (it runs the TypeScript sources directly).
import process from 'node:process';

const major = Number(process.versions.node.split('.')[0]);
if (!Number.isInteger(major) || major < 24) {
  process.stderr.write(
    `spike-dev: Node.js 24 or newer is required (this is ${process.versions.node}). ` +
      'Run it through npm/npx in the repository, which uses the pinned Node 24.\n',
  );
  process.exit(1);
}
const { main } = await import('../src/main.ts');
process.exit(await main(process.argv.slice(2)));
