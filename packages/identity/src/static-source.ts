/**
 * An {@link X509Source} over fixed material that can be swapped by hand: tests, tools, and
 * anything that gets its SVID from somewhere other than the Workload API.
 */
import type { X509Bundles, X509Source, X509Svid } from './types.ts';

export interface StaticX509Source extends X509Source {
  /** Replaces the material and notifies every listener (synchronously, in subscription order). */
  update(svid: X509Svid, bundles: X509Bundles): void;
}

export class SourceClosedError extends Error {
  constructor() {
    super('X.509 source is closed');
    this.name = 'SourceClosedError';
  }
}

export function createStaticX509Source(svid: X509Svid, bundles: X509Bundles): StaticX509Source {
  let current = svid;
  let currentBundles = bundles;
  let closed = false;
  const listeners = new Set<() => void>();
  return {
    getX509Svid() {
      if (closed) throw new SourceClosedError();
      return current;
    },
    getX509Bundles() {
      if (closed) throw new SourceClosedError();
      return currentBundles;
    },
    onUpdate(listener) {
      const entry = (): void => listener();
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    update(next, nextBundles) {
      if (closed) throw new SourceClosedError();
      current = next;
      currentBundles = nextBundles;
      for (const l of [...listeners]) l();
    },
    close() {
      closed = true;
      listeners.clear();
      return Promise.resolve();
    },
  };
}
