#!/usr/bin/env node
/* global process */
// SPIKE Pilot launcher: check the Node.js version first (older runtimes cannot load the
// TypeScript sources), then hand over to the CLI.
const major = Number(process.versions.node.split('.')[0]);
if (!Number.isInteger(major) || major < 24) {
  process.stderr.write(
    `spike needs Node.js 24 or newer, but this is Node.js ${process.versions.node}.\n` +
      "Install Node.js 24 (or run it through npm scripts / npx, which use the project's pinned Node 24).\n",
  );
  process.exit(1);
}
await import('../src/main.ts');
