#!/usr/bin/env node
// Launcher for SPIKE Keeper. The sources are TypeScript run directly by Node 24 (type stripping).
import process from 'node:process';

const major = Number(process.versions.node.split('.')[0]);
if (!(major >= 24)) {
  process.stderr.write(
    `spike-keeper needs Node.js 24 or newer; this is ${process.version}.\n` +
      'Run it through npm (npx spike-keeper) or with the node binary in node_modules/.bin.\n',
  );
  process.exit(1);
}
await import('../src/main.ts');
