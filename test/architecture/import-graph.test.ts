/**
 * The import graph, read from the sources: package edges follow boundaries.json (no upward
 * arrow), no file imports in a cycle, `node:crypto` stays in the crypto and X.509 code, clients
 * never reach server or dev-issuer code nor the CA-minting code (`devOnly`: imported only by the
 * dev issuer and tests), and suites that spawn processes live under test/.
 * ESLint enforces the same table file by file (eslint.config.js); this test also sees relative
 * paths, subpath exports, package.json declarations and whole-graph properties.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import boundaries from '../../boundaries.json' with { type: 'json' };

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const SCOPE = '@spike-ts/';

interface PackageRule {
  imports: string[];
  pure?: boolean;
}
const table: Record<string, PackageRule> = boundaries.packages;
/** Files that only the listed packages' code (and tests, scripts, benchmarks) may import. */
const devOnly: Record<string, string[]> = boundaries.devOnly;

interface Manifest {
  name: string;
  exports?: Record<string, string>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const rel = (abs: string): string => relative(ROOT, abs).split(sep).join('/');

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'results') continue;
    const abs = join(dir, name);
    if (statSync(abs).isDirectory()) walk(abs, out);
    else if (/\.(ts|js)$/.test(name)) out.push(abs);
  }
  return out;
}

const packageNames = readdirSync(join(ROOT, 'packages')).filter((n) =>
  existsSync(join(ROOT, 'packages', n, 'package.json')),
);
const manifests = new Map<string, Manifest>(
  packageNames.map((n) => [
    n,
    JSON.parse(readFileSync(join(ROOT, 'packages', n, 'package.json'), 'utf8')) as Manifest,
  ]),
);

/** The package a repository file belongs to, or undefined outside packages/. */
function packageOf(abs: string): string | undefined {
  const m = /^packages\/([^/]+)\//.exec(rel(abs));
  return m?.[1];
}

const isTestFile = (abs: string): boolean => /\.test\.ts$/.test(abs) || /\/testing\//.test(rel(abs));

/** Module specifiers of a file, type-only and dynamic imports included. */
function importsOf(abs: string): string[] {
  const info = ts.preProcessFile(readFileSync(abs, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** Resolve `@spike-ts/<pkg>[/<sub>]` through the package's `exports` map. */
function resolveScoped(spec: string): { pkg: string; file: string | undefined } {
  const rest = spec.slice(SCOPE.length);
  const slash = rest.indexOf('/');
  const pkg = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? '.' : `./${rest.slice(slash + 1)}`;
  const target = manifests.get(pkg)?.exports?.[key];
  return { pkg, file: target === undefined ? undefined : join(ROOT, 'packages', pkg, target) };
}

interface Edge {
  from: string;
  spec: string;
  /** Repository file the import resolves to (our own code only). */
  to?: string;
  /** Package of the target, for `@spike-ts/*` or relative imports into packages/. */
  toPkg?: string;
}

const files = [
  ...packageNames.flatMap((n) => [
    ...walk(join(ROOT, 'packages', n, 'src')),
    ...walk(join(ROOT, 'packages', n, 'bin')),
  ]),
  ...['test', 'scripts', 'bench', 'examples'].flatMap((d) => walk(join(ROOT, d))),
];

const edges: Edge[] = files.flatMap((from) =>
  importsOf(from).map((spec): Edge => {
    if (spec.startsWith(SCOPE)) {
      const { pkg, file } = resolveScoped(spec);
      return file === undefined ? { from, spec, toPkg: pkg } : { from, spec, to: file, toPkg: pkg };
    }
    if (spec.startsWith('.')) {
      const to = resolve(dirname(from), spec);
      const toPkg = packageOf(to);
      return toPkg === undefined ? { from, spec, to } : { from, spec, to, toPkg };
    }
    return { from, spec };
  }),
);

const inPackages = (e: Edge): boolean => packageOf(e.from) !== undefined;

describe('import graph', () => {
  it('boundaries.json lists every package, and its own graph is acyclic (a layering exists)', () => {
    assert.deepEqual(
      [...packageNames].sort(),
      Object.keys(table).sort(),
      'every directory under packages/ needs an entry in boundaries.json (and no stale entries)',
    );
    const order: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (p: string, path: string[]): void => {
      if (state.get(p) === 'done') return;
      assert.notEqual(state.get(p), 'visiting', `cycle in boundaries.json: ${[...path, p].join(' -> ')}`);
      state.set(p, 'visiting');
      for (const d of table[p]?.imports ?? []) {
        assert.ok(d in table, `${p} may import unknown package ${d}`);
        visit(d, [...path, p]);
      }
      state.set(p, 'done');
      order.push(p);
    };
    for (const p of Object.keys(table)) visit(p, []);
    assert.equal(order.length, Object.keys(table).length);
  });

  it('package.json dependencies name only packages the table allows', () => {
    for (const [name, manifest] of manifests) {
      assert.equal(manifest.name, `${SCOPE}${name}`, `packages/${name} must be named ${SCOPE}${name}`);
      for (const dep of Object.keys(manifest.dependencies ?? {})) {
        if (!dep.startsWith(SCOPE)) continue;
        const target = dep.slice(SCOPE.length);
        assert.ok(
          table[name]?.imports.includes(target),
          `${name} depends on ${dep}, which boundaries.json does not allow`,
        );
      }
    }
  });

  it('package code imports only what boundaries.json allows (tests: also their devDependencies)', () => {
    const bad: string[] = [];
    for (const e of edges.filter(inPackages)) {
      const own = packageOf(e.from)!;
      if (e.toPkg === undefined || e.toPkg === own) continue;
      const manifest = manifests.get(own)!;
      const declared = { ...manifest.dependencies, ...manifest.devDependencies };
      const allowed = isTestFile(e.from)
        ? `${SCOPE}${e.toPkg}` in declared || table[own]!.imports.includes(e.toPkg)
        : table[own]!.imports.includes(e.toPkg);
      if (!e.spec.startsWith(SCOPE)) bad.push(`${rel(e.from)}: '${e.spec}' reaches into package ${e.toPkg}`);
      else if (!allowed)
        bad.push(
          `${rel(e.from)}: '${e.spec}' (${own} may import ${table[own]!.imports.join(', ') || 'nothing of ours'})`,
        );
      else if (!(`${SCOPE}${e.toPkg}` in declared))
        bad.push(`${rel(e.from)}: '${e.spec}' is not declared in packages/${own}/package.json`);
      else if (e.to === undefined)
        bad.push(`${rel(e.from)}: '${e.spec}' is not in the exports of ${SCOPE}${e.toPkg}`);
    }
    assert.deepEqual(bad, []);
  });

  it('code outside packages/ imports packages through their exports only', () => {
    const bad = edges
      .filter(
        (e) => !inPackages(e) && e.toPkg !== undefined && (!e.spec.startsWith(SCOPE) || e.to === undefined),
      )
      .map((e) => `${rel(e.from)}: '${e.spec}'`);
    assert.deepEqual(bad, []);
  });

  it('node:crypto only in core/src/crypto and identity X.509 code; protocol and core do no I/O', () => {
    const bad: string[] = [];
    for (const e of edges.filter(inPackages)) {
      if (isTestFile(e.from)) continue;
      const file = rel(e.from);
      if (
        (e.spec === 'node:crypto' || e.spec === 'crypto') &&
        !boundaries.nodeCrypto.some((allowed) =>
          allowed.endsWith('/') ? file.startsWith(allowed) : file === allowed,
        )
      ) {
        bad.push(`${file}: node:crypto (use the helpers of @spike-ts/core)`);
      }
      const own = packageOf(e.from)!;
      if (table[own]?.pure === true && boundaries.pureForbidden.includes(e.spec))
        bad.push(`${file}: ${e.spec} in a pure package`);
    }
    assert.deepEqual(bad, []);
  });

  it('no cycle between files', () => {
    const graph = new Map<string, string[]>();
    for (const e of edges) {
      if (e.to === undefined) continue;
      const list = graph.get(e.from) ?? [];
      list.push(e.to);
      graph.set(e.from, list);
    }
    // Tarjan's strongly connected components: any component of two or more files is a cycle.
    let index = 0;
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const strong = (v: string): void => {
      idx.set(v, index);
      low.set(v, index);
      index++;
      stack.push(v);
      onStack.add(v);
      for (const w of graph.get(v) ?? []) {
        if (!idx.has(w)) {
          strong(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v)!, idx.get(w)!));
        }
      }
      if (low.get(v) === idx.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(rel(w));
        } while (w !== v);
        if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
      }
    };
    for (const v of graph.keys()) if (!idx.has(v)) strong(v);
    assert.deepEqual(cycles, [], 'files that import each other (directly or through others)');
  });

  it('the SDK and the CLI load no server, storage, dev-issuer or CA-minting code', () => {
    const next = new Map<string, string[]>();
    for (const e of edges) if (e.to !== undefined) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    for (const client of boundaries.clients) {
      const manifest = manifests.get(client)!;
      const entries = [
        ...Object.values(manifest.exports ?? {}).filter((f) => !f.includes('/testing/')),
        ...Object.values(manifest.bin ?? {}),
      ].map((f) => join(ROOT, 'packages', client, f));
      // Each reached file remembers the file that first imported it, to print the chain.
      const seen = new Map<string, string | undefined>();
      const todo: [string, string | undefined][] = entries.map((f) => [f, undefined]);
      while (todo.length > 0) {
        const [f, by] = todo.pop()!;
        if (seen.has(f)) continue;
        seen.set(f, by);
        todo.push(...(next.get(f) ?? []).map((t): [string, string] => [t, f]));
      }
      const reached = [...seen.keys()].map(rel);
      const allowed = new Set([client, ...table[client]!.imports]);
      const foreign = reached.filter((f) => !allowed.has(packageOf(join(ROOT, f)) ?? client));
      assert.deepEqual(foreign, [], `${client} loads code outside ${[...allowed].join(', ')}`);
      const chain = (f: string): string => {
        const path: string[] = [];
        for (let at: string | undefined = join(ROOT, f); at !== undefined; at = seen.get(at))
          path.unshift(rel(at));
        return path.join(' -> ');
      };
      const minting = reached.filter((f) => f in devOnly).map(chain);
      assert.deepEqual(
        minting,
        [],
        `${client} reaches dev-only code (boundaries.json devOnly; type-only imports count too)`,
      );
      assert.ok(reached.length > 5, `${client}: the walk found its files`);
    }
  });

  it('dev-only files (CA minting) are imported only by the packages boundaries.json names and by tests', () => {
    assert.ok(Object.keys(devOnly).length > 0);
    const bad: string[] = [];
    for (const [file, users] of Object.entries(devOnly)) {
      assert.ok(existsSync(join(ROOT, file)), `boundaries.json devOnly names a missing file: ${file}`);
      for (const e of edges) {
        if (e.to === undefined || rel(e.to) !== file || !inPackages(e) || isTestFile(e.from)) continue;
        if (!users.includes(packageOf(e.from)!))
          bad.push(`${rel(e.from)}: '${e.spec}' (only ${users.join(', ')} and tests may import ${file})`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('suites under packages/*/src spawn no processes (those live under test/)', () => {
    const bad = edges
      .filter((e) => inPackages(e) && isTestFile(e.from) && /^(node:)?child_process$/.test(e.spec))
      .map((e) => rel(e.from));
    assert.deepEqual(bad, []);
  });
});
