/**
 * An {@link X509Source} over fixed material that can be swapped by hand: tests, tools, and
 * anything that gets its SVID from somewhere other than the Workload API.
 */
import { derToPem } from './der.ts';
import type { MintedCa, MintedSvid } from './mint.ts';
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

/**
 * Turns minted material into an {@link X509Svid}. The chain is the leaf followed by the
 * intermediates: those of `caChain` (issuing CAs, nearest first; self-signed roots are
 * skipped) when given, otherwise the ones recorded at issuance.
 */
export function svidFromMinted(m: MintedSvid, caChain?: readonly MintedCa[]): X509Svid {
  const intermediates = caChain
    ? caChain.filter((ca) => ca.parent !== undefined).map((ca) => ca.certDer)
    : m.intermediatesDer;
  const certChainDer = [m.certDer, ...intermediates];
  return {
    spiffeId: m.spiffeId,
    certChainDer,
    certChainPem: certChainDer.map((der) => derToPem(der)).join(''),
    privateKeyPem: m.keyPem,
    hint: '',
    notAfter: m.notAfter,
  };
}

/** Bundles map from CAs: each CA's root is trusted for the CA's trust domain. */
export function bundlesFromCas(cas: readonly MintedCa[]): X509Bundles {
  const map = new Map<string, Uint8Array[]>();
  for (const ca of cas) {
    const list = map.get(ca.trustDomain) ?? [];
    if (!list.some((d) => Buffer.compare(d, ca.rootDer) === 0)) list.push(ca.rootDer);
    map.set(ca.trustDomain, list);
  }
  return map;
}
