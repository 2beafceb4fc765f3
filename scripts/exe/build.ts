/**
 * `npm run build:exe`: builds the self-contained Linux x64 executable `dist/exe/spike-ts` (a
 * Node.js 24 single executable application, ADR 0024) and its hard links `spike`, `spike-nexus`,
 * `spike-keeper`, `spike-bootstrap`, `spike-dev-identity` and `spike-dev`.
 *
 * 1. esbuild bundles the multi-call entry (`multi-call.ts` plus a table of the components' main
 *    modules) into one CommonJS script; each main module is evaluated only when it runs. The two
 *    modules that read files beside the sources at run time are swapped for the versions under
 *    `embedded/` (the Workload API definitions, parsed here; the API worker thread's code).
 * 2. esbuild bundles Nexus's API worker (`api-worker.ts`) into a second script, carried as an
 *    asset of the executable.
 * 3. `node --experimental-sea-config` turns both into a blob with V8's code cache of the main
 *    script; postject injects the blob into a copy of the Node.js binary that runs this script.
 *
 * The build is skipped when its inputs (sources, lock file, this folder, the Node.js binary) are
 * unchanged since the last one: `--force` builds anyway.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  chmodSync,
  copyFileSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** Where the executable and its links go (what a package or an image copies). */
export const EXE_DIR = join(ROOT, 'dist', 'exe');
/** Intermediate files: bundles, SEA configuration and blob, the input stamp. */
const WORK_DIR = join(ROOT, 'dist', 'exe-build');
export const MULTI_CALL = 'spike-ts';
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const API_WORKER_ASSET = 'nexus-api-worker.cjs';

interface ComponentSource {
  readonly name: string;
  readonly summary: string;
  /** Main module, relative to the repository root. */
  readonly main: string;
  /**
   * How the main module runs: on evaluation (`module`, the servers and the CLI), or through its
   * exported `main(argv)`, which resolves with the exit code (`function`, like its launcher).
   */
  readonly start: 'module' | 'function';
}

/** The commands of the multi-call executable; each also gets a hard link of its name. */
export const COMPONENTS: readonly ComponentSource[] = [
  {
    name: 'spike',
    summary: 'SPIKE Pilot, the command-line client',
    main: 'packages/cli/src/main.ts',
    start: 'module',
  },
  {
    name: 'spike-nexus',
    summary: 'SPIKE Nexus, the secrets server',
    main: 'packages/nexus/src/main.ts',
    start: 'module',
  },
  {
    name: 'spike-keeper',
    summary: 'SPIKE Keeper, holds one share of the root key',
    main: 'packages/keeper/src/main.ts',
    start: 'module',
  },
  {
    name: 'spike-bootstrap',
    summary: 'SPIKE Bootstrap, creates the root key and sends its shares to the keepers',
    main: 'packages/bootstrap/src/main.ts',
    start: 'module',
  },
  {
    name: 'spike-dev-identity',
    summary: 'development-only SPIFFE Workload API issuer (not for production)',
    main: 'packages/dev-identity/src/main.ts',
    start: 'module',
  },
  {
    name: 'spike-dev',
    summary: 'development only: Nexus and the dev identity issuer in one process',
    main: 'packages/dev-mode/src/main.ts',
    start: 'function',
  },
];

/** Modules replaced inside the executable (original → replacement), both repository-relative. */
const SWAPS: ReadonlyMap<string, string> = new Map([
  ['packages/identity/src/workload/proto-definition.ts', 'scripts/exe/embedded/workload-proto-definition.ts'],
  ['packages/nexus/src/threads/start-worker.ts', 'scripts/exe/embedded/start-worker.ts'],
]);

/**
 * `workload.proto` parsed as `@grpc/proto-loader` parses it (its own protobufjs, `keepCase`), as
 * the JSON that `protoLoader.fromJSON` takes.
 */
export function workloadProtoJson(): unknown {
  const fromLoader = createRequire(createRequire(import.meta.url).resolve('@grpc/proto-loader'));
  const protobuf = fromLoader('protobufjs') as {
    Root: new () => { loadSync(file: string, o: object): { resolveAll(): { toJSON(): unknown } } };
  };
  const file = join(ROOT, 'packages/identity/proto/workload.proto');
  return new protobuf.Root().loadSync(file, { keepCase: true }).resolveAll().toJSON();
}

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'dist') continue;
    const abs = join(dir, name);
    if (statSync(abs).isDirectory()) walk(abs, out);
    else if (!name.endsWith('.test.ts')) out.push(abs);
  }
  return out;
}

/** A hash of everything the executable is built from. */
function inputsHash(): string {
  const hash = createHash('sha256');
  const files = [
    ...walk(join(ROOT, 'packages'), []),
    ...walk(join(ROOT, 'scripts', 'exe'), []),
    join(ROOT, 'package.json'),
    join(ROOT, 'package-lock.json'),
  ];
  for (const file of files) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  const node = statSync(process.execPath);
  hash.update(`${process.version} ${process.execPath} ${String(node.size)} ${String(node.mtimeMs)}`);
  return hash.digest('hex');
}

/** True when dist/exe holds the executable and every link built from these very inputs. */
function upToDate(hash: string): boolean {
  try {
    if (readFileSync(join(WORK_DIR, 'inputs.sha256'), 'utf8') !== hash) return false;
    const { ino } = statSync(join(EXE_DIR, MULTI_CALL));
    return COMPONENTS.every((c) => statSync(join(EXE_DIR, c.name)).ino === ino);
  } catch {
    return false;
  }
}

/**
 * Packages whose ES module build needs a module URL (`import.meta`) that a bundle does not have:
 * they are bundled from their CommonJS build instead (what `require` resolves them to).
 */
const REQUIRE_BUILDS: readonly string[] = ['openpgp'];

const swapPlugin: esbuild.Plugin = {
  name: 'spike-exe-swaps',
  setup(build) {
    const requireFromRoot = createRequire(join(ROOT, 'package.json'));
    const bare = new RegExp(`^(?:${REQUIRE_BUILDS.join('|')})$`);
    build.onResolve({ filter: bare }, (args) => ({ path: requireFromRoot.resolve(args.path) }));
    build.onResolve({ filter: /\.ts$/ }, (args) => {
      if (args.kind === 'entry-point' || !args.path.startsWith('.')) return undefined;
      const replacement = SWAPS.get(relative(ROOT, resolve(args.resolveDir, args.path)));
      return replacement === undefined ? undefined : { path: join(ROOT, replacement) };
    });
  },
};

async function bundle(
  options: esbuild.BuildOptions & { outfile: string },
  protoJson: unknown,
): Promise<void> {
  const result = await esbuild.build({
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // A bundle has no module URL: code that needs one would fail at run time, so fail here.
    logOverride: { 'empty-import-meta': 'error' },
    // A string, inlined where it is used (an object would be shared through a module of its own).
    define: { SPIKE_EXE_WORKLOAD_PROTO_JSON: JSON.stringify(JSON.stringify(protoJson)) },
    plugins: [swapPlugin],
    ...options,
  });
  const inputs = Object.keys(result.metafile?.inputs ?? {});
  if (inputs.some((input) => input.endsWith('.node')))
    throw new Error(`${options.outfile}: native addons cannot be bundled`);
  const unswapped = [...SWAPS.keys()].filter((original) => inputs.includes(original));
  if (unswapped.length > 0) throw new Error(`not replaced in ${options.outfile}: ${unswapped.join(', ')}`);
  // The executable must not depend on where it was built.
  if (readFileSync(options.outfile, 'utf8').includes(ROOT))
    throw new Error(`${options.outfile} names ${ROOT}`);
}

function run(command: string, args: string[]): void {
  const res = spawnSync(command, args, { stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${String(res.status)})`);
}

export interface BuildResult {
  /** False when the previous build was still up to date. */
  readonly built: boolean;
  readonly dir: string;
}

/** Where a build in progress holds its lock (a directory: `mkdir` is atomic). */
const LOCK_DIR = join(ROOT, 'dist', 'exe-build.lock');
/** A lock older than this is left over from a build that was killed. */
const STALE_LOCK_MS = 10 * 60_000;

/** Runs `fn` while holding the build lock, so that a test and a benchmark never build at once. */
async function withBuildLock<T>(fn: () => Promise<T>, log: (line: string) => void): Promise<T> {
  mkdirSync(dirname(LOCK_DIR), { recursive: true });
  let said = false;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let age = 0;
      try {
        age = Date.now() - statSync(LOCK_DIR).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (age > STALE_LOCK_MS) {
        rmSync(LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (!said) log(`build:exe: waiting for another build (${relative(ROOT, LOCK_DIR)})`);
      said = true;
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

export async function buildExecutables(
  opts: { force?: boolean; log?: (line: string) => void } = {},
): Promise<BuildResult> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `the executables are built for Linux x64 only (this is ${process.platform} ${process.arch})`,
    );
  }
  return withBuildLock(() => build(opts.force === true, log), log);
}

async function build(force: boolean, log: (line: string) => void): Promise<BuildResult> {
  const hash = inputsHash();
  if (!force && upToDate(hash)) {
    log(`build:exe: ${relative(ROOT, EXE_DIR)} is up to date`);
    return { built: false, dir: EXE_DIR };
  }
  rmSync(WORK_DIR, { recursive: true, force: true });
  mkdirSync(WORK_DIR, { recursive: true });
  mkdirSync(EXE_DIR, { recursive: true });
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
    .version;
  const protoJson = workloadProtoJson();

  log('build:exe: bundling');
  const table = COMPONENTS.map((c) => {
    const load = `import(${JSON.stringify(`./${c.main}`)})`;
    const start =
      c.start === 'module'
        ? load
        : `${load}.then((m) => m.main(process.argv.slice(2))).then((code) => process.exit(code))`;
    return `{ name: ${JSON.stringify(c.name)}, summary: ${JSON.stringify(c.summary)}, load: () => ${start} }`;
  });
  const mainJs = join(WORK_DIR, 'main.cjs');
  await bundle(
    {
      stdin: {
        contents:
          `import { runMultiCall } from './scripts/exe/multi-call.ts';\n` +
          `runMultiCall([\n${table.join(',\n')}\n], ${JSON.stringify(version)});\n`,
        resolveDir: ROOT,
        sourcefile: 'spike-ts-entry.ts',
        loader: 'ts',
      },
      outfile: mainJs,
    },
    protoJson,
  );
  const workerJs = join(WORK_DIR, API_WORKER_ASSET);
  await bundle(
    { entryPoints: [join(ROOT, 'packages/nexus/src/threads/api-worker.ts')], outfile: workerJs },
    protoJson,
  );

  log('build:exe: single executable application blob (with code cache)');
  const blob = join(WORK_DIR, 'sea.blob');
  const seaConfig = join(WORK_DIR, 'sea-config.json');
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: mainJs,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      assets: { [API_WORKER_ASSET]: workerJs },
    }),
  );
  run(process.execPath, ['--experimental-sea-config', seaConfig]);

  log(`build:exe: injecting into a copy of ${process.execPath} (Node.js ${process.version})`);
  const staged = join(WORK_DIR, MULTI_CALL);
  copyFileSync(process.execPath, staged);
  chmodSync(staged, 0o755);
  const postject = createRequire(import.meta.url)('postject') as {
    inject(file: string, name: string, data: Buffer, o: { sentinelFuse: string }): Promise<void>;
  };
  await postject.inject(staged, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SENTINEL_FUSE });

  // Replace the executable and its links as a whole (a running copy keeps its old inode).
  const target = join(EXE_DIR, MULTI_CALL);
  for (const name of [MULTI_CALL, ...COMPONENTS.map((c) => c.name)])
    rmSync(join(EXE_DIR, name), { force: true });
  renameSync(staged, target);
  for (const c of COMPONENTS) linkSync(target, join(EXE_DIR, c.name));
  writeFileSync(join(WORK_DIR, 'inputs.sha256'), hash);
  log(
    `build:exe: ${relative(ROOT, target)} (${(statSync(target).size / 2 ** 20).toFixed(0)} MiB) and hard links ${COMPONENTS.map((c) => c.name).join(', ')}`,
  );
  return { built: true, dir: EXE_DIR };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { force: { type: 'boolean', default: false } } });
  await buildExecutables({ force: values.force });
}
