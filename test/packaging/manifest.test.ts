/**
 * The npm build's pure parts: the published manifest (exports to compiled files, fields dropped,
 * manifests not ready to publish refused), the package closure, and the rewrite of `.ts` imports in
 * declarations.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ENGINES_NODE,
  ManifestError,
  publishManifest,
  type WorkspaceManifest,
} from '../../scripts/packaging/manifest.ts';
import { publishClosure, rewriteDeclarationImports } from '../../scripts/packaging/build.ts';

const versions = new Map([
  ['@spike-ts/sdk', '0.1.0'],
  ['@spike-ts/identity', '0.1.0'],
]);

const sdk = (over: Partial<WorkspaceManifest> = {}): WorkspaceManifest => ({
  name: '@spike-ts/sdk',
  version: '0.1.0',
  private: true,
  type: 'module',
  engines: { node: ENGINES_NODE },
  exports: { '.': './src/index.ts', './testing': './src/testing/index.ts' },
  files: ['dist', 'README.md'],
  scripts: { build: 'node build.ts' },
  dependencies: { '@spike-ts/identity': '0.1.0', jose: '^6.0.0' },
  devDependencies: { 'fast-check': '^4.0.0' },
  ...over,
});

describe('publishManifest', () => {
  it('points exports at compiled JavaScript and declarations, drops private, scripts, devDependencies', () => {
    const out = publishManifest(sdk(), versions);
    assert.deepEqual(out.exports, {
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './testing': { types: './dist/testing/index.d.ts', default: './dist/testing/index.js' },
    });
    assert.equal('private' in out, false);
    assert.equal('scripts' in out, false);
    assert.equal('devDependencies' in out, false);
    assert.deepEqual(out.dependencies, { '@spike-ts/identity': '0.1.0', jose: '^6.0.0' });
    assert.deepEqual(out.engines, { node: '>=22.12' });
    assert.equal(out.type, 'module');
  });

  it('does not change the manifest it is given', () => {
    const input = sdk();
    const copy = structuredClone(input);
    publishManifest(input, versions);
    assert.deepEqual(input, copy);
  });

  it('refuses exports that are not TypeScript sources under src/', () => {
    for (const target of [
      './lib/index.ts',
      './src/index.js',
      './src/index.d.ts',
      './src/../x.ts',
      'src/index.ts',
      { default: './src/index.ts' },
      42,
    ]) {
      assert.throws(
        () => publishManifest(sdk({ exports: { '.': target } }), versions),
        (e: unknown) => e instanceof ManifestError && /"\.\/src\/<file>\.ts"/.test(e.message),
        JSON.stringify(target),
      );
    }
    assert.throws(() => publishManifest(sdk({ exports: {} }), versions), /no "exports"/);
  });

  it('refuses a manifest without dist in files, without engines, or with executables but no bin', () => {
    assert.throws(() => publishManifest(sdk({ files: ['src'] }), versions), /"files" must list "dist"/);
    assert.throws(() => publishManifest(sdk({ files: undefined }), versions), /"files" must list "dist"/);
    assert.throws(() => publishManifest(sdk({ engines: undefined }), versions), /engines\.node/);
    assert.throws(() => publishManifest(sdk({ engines: { node: '>=24' } }), versions), /engines\.node/);
    assert.throws(
      () => publishManifest(sdk({ bin: { spike: './bin/spike.js' } }), versions),
      /"files" must list "bin"/,
    );
  });

  it('refuses a workspace dependency on another version or an unknown package', () => {
    assert.throws(
      () => publishManifest(sdk({ dependencies: { '@spike-ts/identity': '^0.1.0' } }), versions),
      /depends on @spike-ts\/identity@\^0\.1\.0, but the workspace holds 0\.1\.0/,
    );
    assert.throws(
      () => publishManifest(sdk({ dependencies: { '@spike-ts/nexus': '0.1.0' } }), versions),
      /unknown @spike-ts\/nexus/,
    );
  });
});

describe('publishClosure', () => {
  it('follows the workspace dependencies of the real manifests, dependencies first, no server package', () => {
    const folders = new Map(
      ['sdk', 'cli', 'identity', 'protocol', 'settings', 'core', 'nexus', 'store'].map((f) => [
        `@spike-ts/${f}`,
        f,
      ]),
    );
    const sdkOnly = publishClosure(['sdk'], folders);
    assert.deepEqual([...sdkOnly].sort(), ['identity', 'protocol', 'sdk', 'settings']);
    assert.equal(sdkOnly.at(-1), 'sdk');
    assert.ok(sdkOnly.indexOf('settings') < sdkOnly.indexOf('identity'));
    const both = publishClosure(['@spike-ts/sdk', 'cli'], folders);
    assert.deepEqual([...both].sort(), ['cli', 'identity', 'protocol', 'sdk', 'settings']);
    assert.throws(() => publishClosure(['nope'], folders), /unknown package nope/);
  });
});

describe('rewriteDeclarationImports', () => {
  it('rewrites relative .ts specifiers to .js and leaves everything else', () => {
    const before = [
      "export { a } from './a.ts';",
      "export type * from '../types.ts';",
      "import type { B } from './dir/b.ts';",
      "export declare const c: import('./c.ts').C;",
      "import type { D } from './d.d.ts';",
      "import { E } from '@spike-ts/identity';",
      "import { F } from 'pkg/file.ts';",
      "declare const s = './not-an-import.ts';",
    ].join('\n');
    assert.equal(
      rewriteDeclarationImports(before),
      [
        "export { a } from './a.js';",
        "export type * from '../types.js';",
        "import type { B } from './dir/b.js';",
        "export declare const c: import('./c.js').C;",
        "import type { D } from './d.d.ts';",
        "import { E } from '@spike-ts/identity';",
        "import { F } from 'pkg/file.ts';",
        "declare const s = './not-an-import.ts';",
      ].join('\n'),
    );
  });
});
