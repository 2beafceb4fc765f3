/**
 * Holds the dev CA and the current X.509-SVID of every configured identity, renews them at
 * half their lifetime (plus a little jitter), replaces the CA before it expires, and tells
 * subscribers about every change.
 */
import { randomInt } from 'node:crypto';
import { concatDer, derToPem } from '@spike-ts/identity';
import { issueSvid } from '@spike-ts/identity/mint';
import type { MintedCa, MintedSvid } from '@spike-ts/identity/mint';
import { trustDomainId } from '@spike-ts/identity';
import type { IdentityLogger } from '@spike-ts/identity';
import type { X509BundlesResponseMessage, X509SvidResponseMessage } from '@spike-ts/identity';
import type { ResolvedIdentity } from './config.ts';

export interface SvidAuthorityOptions {
  ca: MintedCa;
  identities: readonly ResolvedIdentity[];
  svidTtlMs: number;
  /** Called when the CA must be replaced; returns the new CA (already persisted). */
  renewCa: () => Promise<MintedCa>;
  /** A CA with less validity left than this is replaced on the next renewal round. */
  caMinRemainingMs: number;
  log: IdentityLogger;
}

type Listener = () => void;

export class SvidAuthority {
  readonly #opts: SvidAuthorityOptions;
  readonly #svids = new Map<string, MintedSvid>();
  readonly #svidListeners = new Map<string, Set<Listener>>();
  readonly #bundleListeners = new Set<Listener>();
  #ca: MintedCa;
  /** The replaced CA stays in the bundle until it expires, so older SVIDs keep validating. */
  #previousCa: MintedCa | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #round: Promise<void> = Promise.resolve();

  constructor(opts: SvidAuthorityOptions) {
    this.#opts = opts;
    this.#ca = opts.ca;
  }

  get ca(): MintedCa {
    return this.#ca;
  }

  /** Issues the first SVIDs and starts the renewal timer. */
  async start(): Promise<void> {
    await this.#issueAll();
    this.#schedule();
  }

  /** Re-issues every SVID now (and notifies streams); resets the renewal timer. */
  rotateNow(): Promise<void> {
    this.#round = this.#round.then(async () => {
      if (this.#closed) return;
      await this.#renewCaIfNeeded();
      await this.#issueAll();
      this.#schedule();
    });
    return this.#round;
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const ttl = this.#opts.svidTtlMs;
    const jitterMax = Math.max(1, Math.min(Math.floor(ttl / 10), 30_000));
    const delay = Math.floor(ttl / 2) + randomInt(jitterMax);
    this.#timer = setTimeout(() => {
      this.rotateNow().catch((err: unknown) => {
        this.#opts.log.error('SVID renewal failed; retrying soon', { err });
        this.#timer = setTimeout(() => void this.rotateNow().catch(() => undefined), 1000);
      });
    }, delay);
  }

  async #renewCaIfNeeded(): Promise<void> {
    const remaining = this.#ca.notAfter.getTime() - Date.now();
    if (remaining >= this.#opts.caMinRemainingMs) return;
    const next = await this.#opts.renewCa();
    this.#previousCa = this.#ca;
    this.#ca = next;
    this.#opts.log.info('development CA replaced', { notAfter: next.notAfter.toISOString() });
    this.#emit(this.#bundleListeners);
  }

  async #issueAll(): Promise<void> {
    const caEnd = this.#ca.notAfter.getTime();
    for (const identity of this.#opts.identities) {
      const now = new Date();
      const ttlMs = Math.max(1000, Math.min(this.#opts.svidTtlMs, caEnd - now.getTime()));
      const svid = await issueSvid(this.#ca, { spiffeId: identity.spiffeId, ttlMs, now });
      const old = this.#svids.get(identity.name);
      this.#svids.set(identity.name, svid);
      old?.keyPkcs8Der.fill(0);
      this.#opts.log.debug('issued X.509-SVID', {
        identity: identity.name,
        notAfter: svid.notAfter.toISOString(),
      });
      const listeners = this.#svidListeners.get(identity.name);
      if (listeners !== undefined) this.#emit(listeners);
    }
  }

  #emit(listeners: ReadonlySet<Listener>): void {
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch (err) {
        this.#opts.log.error('listener failed', { err });
      }
    }
  }

  /** Root certificates currently trusted (current CA, then a replaced one until it expires). */
  rootsDer(): Uint8Array[] {
    const roots = [this.#ca.rootDer];
    const prev = this.#previousCa;
    if (prev !== undefined && prev.notAfter.getTime() > Date.now()) roots.push(prev.rootDer);
    return roots;
  }

  bundlePem(): string {
    return this.rootsDer()
      .map((der) => derToPem(der))
      .join('');
  }

  /** The complete `X509SVIDResponse` for one identity. */
  x509SvidResponse(name: string): X509SvidResponseMessage {
    const identity = this.#opts.identities.find((i) => i.name === name);
    const svid = this.#svids.get(name);
    if (identity === undefined || svid === undefined) throw new Error(`no SVID for identity ${name}`);
    return {
      svids: [
        {
          spiffe_id: identity.spiffeId,
          x509_svid: concatDer([svid.certDer, ...svid.intermediatesDer]),
          x509_svid_key: Buffer.from(svid.keyPkcs8Der),
          bundle: concatDer(this.rootsDer()),
          hint: '',
        },
      ],
      crl: [],
      federated_bundles: {},
    };
  }

  x509BundlesResponse(): X509BundlesResponseMessage {
    return { crl: [], bundles: { [trustDomainId(this.#ca.trustDomain)]: concatDer(this.rootsDer()) } };
  }

  currentSvid(name: string): MintedSvid | undefined {
    return this.#svids.get(name);
  }

  onSvidChange(name: string, listener: Listener): () => void {
    let set = this.#svidListeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#svidListeners.set(name, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  onBundleChange(listener: Listener): () => void {
    this.#bundleListeners.add(listener);
    return () => this.#bundleListeners.delete(listener);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const svid of this.#svids.values()) svid.keyPkcs8Der.fill(0);
    this.#svids.clear();
  }
}
