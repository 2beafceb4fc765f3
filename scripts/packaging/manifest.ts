/**
 * The published shape of a workspace package's package.json. In the workspace, `exports` point at
 * the TypeScript sources (Node runs them by type stripping); a published package holds compiled
 * JavaScript and declarations instead, because Node refuses to strip types under node_modules.
 * This module turns one into the other and refuses manifests that are not ready to publish.
 */

/** The oldest Node.js the published packages support (commander 15, the CLI's parser, needs it too). */
export const NODE_FLOOR = { major: 22, minor: 12 } as const;
export const ENGINES_NODE = `>=${String(NODE_FLOOR.major)}.${String(NODE_FLOOR.minor)}`;

export interface WorkspaceManifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, unknown>;
  bin?: Record<string, string>;
  files?: string[];
  engines?: Record<string, string>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  [field: string]: unknown;
}

export interface ConditionalExport {
  types: string;
  default: string;
}

export class ManifestError extends Error {
  constructor(name: string, problem: string) {
    super(`${name}: ${problem}`);
    this.name = 'ManifestError';
  }
}

const SOURCE = /^\.\/src\/((?:[\w.-]+\/)*[\w.-]+)\.ts$/;

/** `./src/a/b.ts` -> `{ types: './dist/a/b.d.ts', default: './dist/a/b.js' }`. */
export function compiledExport(pkg: string, key: string, target: unknown): ConditionalExport {
  const m = typeof target === 'string' ? SOURCE.exec(target) : null;
  if (m === null || m[1]!.endsWith('.d') || m[1]!.split('/').includes('..')) {
    throw new ManifestError(
      pkg,
      `exports[${JSON.stringify(key)}] must be a "./src/<file>.ts" path (got ${JSON.stringify(target)})`,
    );
  }
  return { types: `./dist/${m[1]!}.d.ts`, default: `./dist/${m[1]!}.js` };
}

/** The workspace packages (`@spike-ts/*`) a manifest depends on at run time. */
export function workspaceDependencies(manifest: WorkspaceManifest, scope = '@spike-ts/'): string[] {
  return Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith(scope));
}

/**
 * The manifest to publish: no `private`, `scripts` or `devDependencies`; `exports` as
 * `{ types, default }` pairs under `dist/`; everything else as written in the workspace.
 * `versions` maps each workspace package name to its version; a workspace dependency must name
 * exactly that version, so the packages are published and installed as one matched set.
 */
export function publishManifest(
  manifest: WorkspaceManifest,
  versions: ReadonlyMap<string, string>,
): WorkspaceManifest {
  const name = typeof manifest.name === 'string' ? manifest.name : '(unnamed package)';
  if (manifest.exports === undefined || Object.keys(manifest.exports).length === 0) {
    throw new ManifestError(name, 'has no "exports" to publish');
  }
  if (!Array.isArray(manifest.files) || !manifest.files.includes('dist')) {
    throw new ManifestError(
      name,
      '"files" must list "dist" (the compiled output is all a consumer can load)',
    );
  }
  if (manifest.engines?.node !== ENGINES_NODE) {
    throw new ManifestError(name, `"engines.node" must be "${ENGINES_NODE}" (the supported Node.js lines)`);
  }
  if (manifest.bin !== undefined && !manifest.files.includes('bin')) {
    throw new ManifestError(name, '"files" must list "bin" when the package has executables');
  }
  for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
    const version = versions.get(dep);
    if (version === undefined) {
      if (dep.startsWith('@spike-ts/')) throw new ManifestError(name, `depends on unknown ${dep}`);
      continue;
    }
    if (range !== version) {
      throw new ManifestError(name, `depends on ${dep}@${range}, but the workspace holds ${version}`);
    }
  }
  const exports: Record<string, ConditionalExport> = {};
  for (const [key, target] of Object.entries(manifest.exports))
    exports[key] = compiledExport(name, key, target);
  const published: WorkspaceManifest = { ...manifest, exports };
  delete published.private;
  delete published.scripts;
  delete published.devDependencies;
  return published;
}
