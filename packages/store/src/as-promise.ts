/**
 * Runs `fn` now and returns its result as a promise; a synchronous throw becomes a rejection.
 * Store methods are async by contract but the in-process backends do their work synchronously.
 */
export function asPromise<T>(fn: () => T | Promise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(fn()));
}
