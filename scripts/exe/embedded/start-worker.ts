/**
 * Replaces packages/nexus/src/threads/start-worker.ts inside the self-contained executable: an
 * API worker thread runs the bundled `api-worker.ts`, which the executable carries as an asset
 * (`API_WORKER_ASSET`), evaluated as the worker's script.
 */
import { getAsset } from 'node:sea';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export const API_WORKER_ASSET = 'nexus-api-worker.cjs';

export function startApiWorker(script: URL | undefined, options: WorkerOptions): Worker {
  if (script !== undefined) return new Worker(script, options);
  return new Worker(getAsset(API_WORKER_ASSET, 'utf8'), { ...options, eval: true });
}
