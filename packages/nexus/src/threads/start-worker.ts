/**
 * Starts one API worker thread from `api-worker.ts`. The self-contained executable
 * (scripts/exe/build.ts) replaces this one module with a copy that starts the worker from the
 * bundled worker code it carries, because it has no source files beside it.
 *
 * Run from TypeScript sources, every thread would strip the types of every module it loads
 * itself, and Node's type stripper (a WebAssembly module) keeps about 35 MiB per thread once it
 * has seen Nexus's sources (ADR 0034). So the main thread, which has stripped them already
 * anyway, strips the sources of Nexus and of the workspace packages it depends on once, and
 * hands them to each worker, whose module loader takes them instead of stripping again.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type WorkerOptions } from 'node:worker_threads';

const ENTRY = new URL('./api-worker.ts', import.meta.url);

/**
 * What the worker runs first: a module loader hook that answers from the stripped sources (any
 * other module is loaded as usual), then the entry. The sources arrive on a port rather than in
 * `workerData`, so that they can be dropped once the entry has loaded.
 */
const PRELOADED_ENTRY = `
const { registerHooks } = require('node:module');
const { receiveMessageOnPort, workerData } = require('node:worker_threads');
const { sources, entry } = receiveMessageOnPort(workerData.preloadPort).message;
workerData.preloadPort.close();
const hooks = registerHooks({
  load(url, context, nextLoad) {
    const source = sources.get(url);
    return source === undefined ? nextLoad(url, context) : { format: 'module', source, shortCircuit: true };
  },
});
import(entry).finally(() => {
  sources.clear();
  hooks.deregister();
});
`;

/** The workspace packages `api-worker.ts` may load: this one and its `@spike-ts/*` dependencies. */
function sourceDirs(): string[] {
  const nexusSrc = dirname(fileURLToPath(new URL('../index.ts', import.meta.url)));
  const manifest = JSON.parse(readFileSync(join(nexusSrc, '..', 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const dirs = [nexusSrc];
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (!name.startsWith('@spike-ts/')) continue;
    dirs.push(dirname(fileURLToPath(import.meta.resolve(name))));
  }
  return dirs;
}

function* typeScriptFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* typeScriptFiles(path);
    else if (
      entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.test.ts') &&
      !entry.name.endsWith('.d.ts')
    ) {
      yield path;
    }
  }
}

/** `stripTypeScriptTypes` without its one-time "experimental" warning on Nexus's output. */
function strip(code: string): string {
  const descriptor = Object.getOwnPropertyDescriptor(process, 'emitWarning');
  Object.defineProperty(process, 'emitWarning', {
    value: () => undefined,
    configurable: true,
    writable: true,
  });
  try {
    return stripTypeScriptTypes(code);
  } finally {
    if (descriptor !== undefined) Object.defineProperty(process, 'emitWarning', descriptor);
  }
}

let stripped: Map<string, string> | undefined;

/** File URL → stripped source of every module a worker may load from the sources (built once). */
export function strippedSources(): Map<string, string> {
  if (stripped !== undefined) return stripped;
  const out = new Map<string, string>();
  for (const dir of sourceDirs()) {
    for (const file of typeScriptFiles(dir)) {
      out.set(pathToFileURL(realpathSync(file)).href, strip(readFileSync(file, 'utf8')));
    }
  }
  stripped = out;
  return out;
}

/**
 * Starts `entry` in a worker whose module loader takes the modules in `sources` (file URL →
 * JavaScript) from there instead of their files.
 */
export function startPreloaded(entry: URL, sources: Map<string, string>, options: WorkerOptions): Worker {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage({ sources, entry: entry.href });
  port1.close();
  return new Worker(PRELOADED_ENTRY, {
    ...options,
    eval: true,
    workerData: { ...(options.workerData as object), preloadPort: port2 },
    transferList: [...(options.transferList ?? []), port2],
  });
}

/** The worker script (`script` replaces it in tests). */
export function startApiWorker(script: URL | undefined, options: WorkerOptions): Worker {
  if (script !== undefined) return new Worker(script, options);
  // Run from compiled JavaScript (a package build), there is nothing to strip.
  if (!ENTRY.pathname.endsWith('.ts')) return new Worker(ENTRY, options);
  return startPreloaded(ENTRY, strippedSources(), options);
}
