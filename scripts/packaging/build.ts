/**
 * `npm run build [-- <package>...] [--out <dir>] [--pack <dir>]`: builds the npm packages of the
 * SDK and the CLI, and of every workspace package they depend on, into publishable folders.
 *
 *   1. Follows the `@spike-ts/*` dependencies of the chosen packages (default: sdk and cli).
 *   2. Compiles their sources (tests left out) with the TypeScript compiler: JavaScript with the
 *      relative `.ts` imports rewritten to `.js`, and `.d.ts` declarations (whose relative
 *      imports get the same rewrite).
 *   3. Stages each package in `<out>/<folder>/` (default `dist/npm/`): the compiled `src/` as
 *      `dist/`, a package.json whose `exports` point there (scripts/packaging/manifest.ts),
 *      launchers for its executables, the other `files` it lists, and the licence.
 *   4. With `--pack`, runs `npm pack` on each staged folder into that folder; publish the
 *      tarballs (`npm publish <tarball>`).
 *
 * The workspace itself never needs this: Node runs its sources directly (ADR 0001, ADR 0023).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { NODE_FLOOR, publishManifest, workspaceDependencies, type WorkspaceManifest } from './manifest.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const PACKAGES = join(ROOT, 'packages');
const DEFAULT_ROOTS = ['sdk', 'cli'];

const say = (line: string): void => {
  process.stdout.write(`== build: ${line}\n`);
};

function readManifest(folder: string): WorkspaceManifest {
  return JSON.parse(readFileSync(join(PACKAGES, folder, 'package.json'), 'utf8')) as WorkspaceManifest;
}

/** Workspace folder name by package name (`@spike-ts/sdk` -> `sdk`). */
function workspaceFolders(): Map<string, string> {
  const folders = new Map<string, string>();
  for (const entry of ts.sys.getDirectories(PACKAGES)) {
    if (existsSync(join(PACKAGES, entry, 'package.json'))) folders.set(readManifest(entry).name, entry);
  }
  return folders;
}

/** The chosen packages and every workspace package they depend on, dependencies first. */
export function publishClosure(roots: readonly string[], folders: ReadonlyMap<string, string>): string[] {
  const byFolder = new Map([...folders].map(([name, folder]) => [folder, name]));
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (folder: string, via: string[]): void => {
    if (seen.has(folder)) return;
    seen.add(folder);
    for (const dep of workspaceDependencies(readManifest(folder))) {
      const depFolder = folders.get(dep);
      if (depFolder === undefined)
        throw new Error(`${[...via, folder].join(' -> ')} depends on unknown ${dep}`);
      visit(depFolder, [...via, folder]);
    }
    order.push(folder);
  };
  for (const root of roots) {
    const folder = byFolder.has(root) ? root : folders.get(root);
    if (folder === undefined) {
      throw new Error(`unknown package ${root}; workspace packages: ${[...byFolder.keys()].join(', ')}`);
    }
    visit(folder, []);
  }
  return order;
}

function listSources(dir: string): string[] {
  return ts.sys
    .readDirectory(dir, ['.ts'], undefined, undefined)
    .filter((f) => !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));
}

/** `from './x.ts'` and `import('./x.ts')` in a declaration file -> `./x.js` (TypeScript keeps `.ts`). */
export function rewriteDeclarationImports(text: string): string {
  const refs = ts
    .preProcessFile(text, true, true)
    .importedFiles.filter((f) => f.fileName.startsWith('.') && /(?<!\.d)\.ts$/.test(f.fileName));
  let out = '';
  let at = 0;
  for (const ref of refs) {
    // `pos` is at the specifier or at its opening quote, depending on the TypeScript version.
    const start = text.indexOf(ref.fileName, ref.pos);
    if (start < 0 || start > ref.pos + 1)
      throw new Error(`cannot locate import ${ref.fileName} in a declaration`);
    out += text.slice(at, start) + ref.fileName.slice(0, -'.ts'.length) + '.js';
    at = start + ref.fileName.length;
  }
  return out + text.slice(at);
}

/** Compiles the packages' sources into `outDir/<folder>/src/`; throws with every diagnostic. */
function compile(folders: readonly string[], outDir: string): void {
  const base = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  if (base.error !== undefined)
    throw new Error(ts.flattenDiagnosticMessageText(base.error.messageText, '\n'));
  const raw = (base.config as { compilerOptions: Record<string, unknown> }).compilerOptions;
  const parsed = ts.convertCompilerOptionsFromJson(raw, ROOT);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    rewriteRelativeImportExtensions: true,
    sourceMap: false,
    rootDir: PACKAGES,
    outDir,
  };
  const rootNames = folders.flatMap((f) => listSources(join(PACKAGES, f, 'src')));
  const program = ts.createProgram({ rootNames, options });
  // Only the published packages' own sources may be compiled: anything else is a missing dependency.
  const allowed = folders.map((f) => join(PACKAGES, f) + sep);
  const strays = program
    .getSourceFiles()
    .map((sf) => resolve(sf.fileName))
    .filter((f) => !f.includes(`${sep}node_modules${sep}`) && !f.endsWith('.d.ts') && !f.endsWith('.json'))
    .filter((f) => !allowed.some((a) => f.startsWith(a)))
    .map((f) => relative(ROOT, f));
  if (strays.length > 0) {
    throw new Error(`the published code imports files of unpublished packages: ${strays.join(', ')}`);
  }
  const host: ts.FormatDiagnosticsHost = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => ROOT,
    getNewLine: () => '\n',
  };
  const pre = ts.getPreEmitDiagnostics(program);
  if (pre.length > 0) throw new Error(ts.formatDiagnostics(pre, host));
  const result = program.emit(undefined, (file, text) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, file.endsWith('.d.ts') ? rewriteDeclarationImports(text) : text);
  });
  if (result.emitSkipped || result.diagnostics.length > 0) {
    throw new Error(`compilation failed:\n${ts.formatDiagnostics(result.diagnostics, host)}`);
  }
}

/** A published executable: check the Node.js version, then load the compiled entry point. */
function launcher(binName: string, entry: string): string {
  const { major, minor } = NODE_FLOOR;
  return `#!/usr/bin/env node
/* global process */
// ${binName}: checks the Node.js version, then runs the compiled program.
const [major, minor] = process.versions.node.split('.').map(Number);
if (!(major > ${String(major)} || (major === ${String(major)} && minor >= ${String(minor)}))) {
  process.stderr.write(
    \`${binName} needs Node.js ${String(major)}.${String(minor)} or newer, but this is Node.js \${process.versions.node}.\\n\`,
  );
  process.exit(1);
}
await import('${entry}');
`;
}

/** `await import('../src/main.ts')` in a workspace launcher -> `../dist/main.js`. */
function launcherEntry(folder: string, binFile: string): string {
  const text = readFileSync(join(PACKAGES, folder, binFile), 'utf8');
  const m = /import\('\.\.\/src\/((?:[\w.-]+\/)*[\w.-]+)\.ts'\)/.exec(text);
  if (m === null) throw new Error(`packages/${folder}/${binFile} does not import a "../src/<file>.ts" entry`);
  return `../dist/${m[1]!}.js`;
}

function stage(
  folder: string,
  compiledSrc: string,
  dest: string,
  versions: ReadonlyMap<string, string>,
): void {
  const source = readManifest(folder);
  const manifest = publishManifest(source, versions);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  cpSync(compiledSrc, join(dest, 'dist'), { recursive: true });
  for (const [binName, binFile] of Object.entries(manifest.bin ?? {})) {
    if (!/^\.\/bin\/[\w.-]+\.js$/.test(binFile)) {
      throw new Error(`${manifest.name}: bin ${binName} must be "./bin/<file>.js" (got ${binFile})`);
    }
    const out = join(dest, binFile);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, launcher(binName, launcherEntry(folder, binFile)));
    chmodSync(out, 0o755);
  }
  for (const entry of manifest.files ?? []) {
    if (entry === 'dist' || entry === 'bin') continue;
    const from = join(PACKAGES, folder, entry);
    if (isAbsolute(entry) || entry.split('/').includes('..') || !existsSync(from)) {
      throw new Error(`${manifest.name}: "files" lists ${entry}, which is not in packages/${folder}`);
    }
    cpSync(from, join(dest, entry), { recursive: true });
  }
  cpSync(join(ROOT, 'LICENSE'), join(dest, 'LICENSE'));
  writeFileSync(join(dest, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

function pack(staged: string, into: string): string {
  const r = spawnSync('npm', ['pack', staged, '--json', '--pack-destination', into], {
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  if (r.status !== 0) throw new Error(`npm pack ${staged} failed:\n${r.stderr}`);
  const [info] = JSON.parse(r.stdout) as Array<{ filename: string }>;
  if (info === undefined) throw new Error(`npm pack ${staged} reported no file`);
  return join(into, info.filename);
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, pack: { type: 'string' } },
  });
  const outDir = resolve(values.out ?? join(ROOT, 'dist', 'npm'));
  const folders = workspaceFolders();
  const closure = publishClosure(positionals.length > 0 ? positionals : DEFAULT_ROOTS, folders);
  const versions = new Map(
    [...folders.keys()].map((name) => [name, readManifestByName(name, folders).version]),
  );
  say(`packages: ${closure.map((f) => readManifest(f).name).join(', ')}`);
  const tscOut = join(outDir, '.tsc');
  rmSync(tscOut, { recursive: true, force: true });
  say('compiling (JavaScript and declarations)');
  compile(closure, tscOut);
  for (const folder of closure) stage(folder, join(tscOut, folder, 'src'), join(outDir, folder), versions);
  rmSync(tscOut, { recursive: true, force: true });
  say(`staged in ${outDir}`);
  if (values.pack !== undefined) {
    const into = resolve(values.pack);
    mkdirSync(into, { recursive: true });
    for (const folder of closure) say(`packed ${pack(join(outDir, folder), into)}`);
  }
}

function readManifestByName(name: string, folders: ReadonlyMap<string, string>): WorkspaceManifest {
  return readManifest(folders.get(name)!);
}

if (import.meta.main) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`build: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
