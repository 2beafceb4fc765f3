/**
 * Starts one API worker thread from `api-worker.ts`. The self-contained executable
 * (scripts/exe/build.ts) replaces this one module with a copy that starts the worker from the
 * bundled worker code it carries, because it has no source files beside it.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The worker script (`script` replaces it in tests). */
export function startApiWorker(script: URL | undefined, options: WorkerOptions): Worker {
  return new Worker(script ?? new URL('./api-worker.ts', import.meta.url), options);
}
