/**
 * Shared identity types. A source of X.509 material is anything that can hand out the current
 * SVID and trust bundles and tell listeners when they change (Workload API client, static
 * material in tests).
 */

/** One X.509-SVID as delivered by the Workload API, already validated. */
export interface X509Svid {
  /** The SPIFFE ID (URI SAN of the leaf). */
  readonly spiffeId: string;
  /** DER certificates, leaf first, then intermediates. */
  readonly certChainDer: readonly Uint8Array[];
  /** PEM of the same chain (leaf first), ready for `tls.createSecureContext({ cert })`. */
  readonly certChainPem: string;
  /** PKCS#8 PEM private key, ready for `tls.createSecureContext({ key })`. */
  readonly privateKeyPem: string;
  /** Optional hint from the Workload API. */
  readonly hint: string;
  readonly notAfter: Date;
}

/** Trust bundles keyed by trust domain name (e.g. `spike.ist`, not `spiffe://spike.ist`). */
export type X509Bundles = ReadonlyMap<string, readonly Uint8Array[]>;

export interface X509Source {
  /** The default (first) SVID. Throws if the source is closed or has none yet. */
  getX509Svid(): X509Svid;
  /** The current X.509 bundles (own trust domain plus federated ones). */
  getX509Bundles(): X509Bundles;
  /** Called after every update (new SVID or changed bundles). Returns an unsubscribe function. */
  onUpdate(listener: () => void): () => void;
  close(): Promise<void>;
}
