/**
 * Named keys kept in the store (ADR 0039). A key is one sealed secret record under the
 * `spike:keys/` namespace — a path no secret route accepts (`:` is not a secret-path character)
 * and that the secret list leaves out — so every backend, the read cache, replica coherence and a
 * root-key rotation cover keys as they cover secrets. Each version of the record is one version
 * of the key: its data holds the algorithm and the private and public halves; a retired version
 * carries the retirement time where a secret version carries its deletion time. Nothing here
 * returns a private half to a caller.
 */
import type { SecretRecord, SecretStore, SecretVersion } from '@spike-ts/core';
import {
  BadRequestError,
  NotFoundError,
  isOpenPgp,
  purposeOf,
  validateKeyAlgorithm,
  type KeyAlgorithm,
  type KeyListEntry,
  type KeyPublicResponse,
  type ResponseBody,
} from '@spike-ts/protocol';
import { NO_KEY_APPROVALS, type KeyApprovalHook } from './approval-hook.ts';
import {
  decryptWith,
  generateKeyMaterial,
  NotThisKeyError,
  publicView,
  readPgpMessage,
  signMessage,
  verifyMessage,
} from './key-crypto.ts';

/** Store paths of keys start with this; secret routes can neither name nor list them. */
export const KEY_NAMESPACE = 'spike:keys/';

export function keyStorePath(name: string): string {
  return KEY_NAMESPACE + name;
}
export function isKeyStorePath(path: string): boolean {
  return path.startsWith(KEY_NAMESPACE);
}

export interface KeyServiceOptions {
  readonly store: SecretStore;
  readonly now: () => number;
  /** Upper bound of a message to sign or verify and of a plaintext to return (bytes). */
  readonly maxPayload: number;
  readonly approvals?: KeyApprovalHook;
}

interface StoredVersion {
  readonly version: number;
  readonly algorithm: KeyAlgorithm;
  readonly privateKey: string;
  readonly publicKey: string;
  readonly createdTime: number;
  readonly retiredTime: number | null;
}

function algorithmOf(v: SecretVersion): KeyAlgorithm {
  return validateKeyAlgorithm(v.data['algorithm'] ?? '');
}

function stored(v: SecretVersion): StoredVersion {
  return {
    version: v.version,
    algorithm: algorithmOf(v),
    privateKey: v.data['privateKey'] ?? '',
    publicKey: v.data['publicKey'] ?? '',
    createdTime: v.createdTime,
    retiredTime: v.deletedTime,
  };
}

const iso = (t: number): string => new Date(t).toISOString();

export class KeyService {
  private readonly store: SecretStore;
  private readonly now: () => number;
  private readonly maxPayload: number;
  readonly approvals: KeyApprovalHook;

  constructor(opts: KeyServiceOptions) {
    this.store = opts.store;
    this.now = opts.now;
    this.maxPayload = opts.maxPayload;
    this.approvals = opts.approvals ?? NO_KEY_APPROVALS;
  }

  private async record(name: string): Promise<SecretRecord> {
    const rec = await this.store.getSecret(keyStorePath(name));
    if (rec === undefined || rec.versions.length === 0) throw new NotFoundError(`no key named ${name}`);
    return rec;
  }

  private checkPayload(bytes: Uint8Array, what: string): void {
    if (bytes.length > this.maxPayload) {
      throw new BadRequestError(`${what} larger than the cipher size limit (${this.maxPayload} bytes)`);
    }
  }

  async create(name: string, algorithm: KeyAlgorithm, userId: string | undefined): Promise<number> {
    const path = keyStorePath(name);
    if ((await this.store.getSecret(path)) !== undefined) {
      throw new BadRequestError(`a key named ${name} exists already; rotate it instead`);
    }
    if (userId !== undefined && !isOpenPgp(algorithm)) {
      throw new BadRequestError('userId: only OpenPGP keys have a user ID');
    }
    const material = await generateKeyMaterial(algorithm, userId ?? `spike key ${name}`);
    const t = this.now();
    return await this.store.updateSecret(path, (current) => {
      if (current !== undefined)
        throw new BadRequestError(`a key named ${name} exists already; rotate it instead`);
      const next: SecretRecord = {
        path,
        versions: [
          {
            version: 1,
            data: { algorithm, ...material, userId: userId ?? '' },
            createdTime: t,
            deletedTime: null,
          },
        ],
        metadata: { currentVersion: 1, oldestVersion: 1, createdTime: t, updatedTime: t, maxVersions: 0 },
      };
      return { next, result: 1 };
    });
  }

  async rotate(name: string): Promise<number> {
    const first = await this.record(name);
    const newest = first.versions.at(-1) as SecretVersion;
    const algorithm = algorithmOf(newest);
    const userId = newest.data['userId'] ?? '';
    const material = await generateKeyMaterial(algorithm, userId === '' ? `spike key ${name}` : userId);
    const t = this.now();
    const path = keyStorePath(name);
    return await this.store.updateSecret(path, (current) => {
      if (current === undefined || current.versions.length === 0)
        throw new NotFoundError(`no key named ${name}`);
      const last = current.versions.at(-1) as SecretVersion;
      const version = last.version + 1;
      const next: SecretRecord = {
        path,
        versions: [
          ...current.versions,
          { version, data: { algorithm, ...material, userId }, createdTime: t, deletedTime: null },
        ],
        metadata: { ...current.metadata, currentVersion: version, updatedTime: t },
      };
      return { next, result: version };
    });
  }

  async retire(name: string, versions: readonly number[]): Promise<void> {
    if (versions.length === 0) throw new BadRequestError('versions: name at least one version to retire');
    const path = keyStorePath(name);
    const t = this.now();
    await this.store.updateSecret(path, (current) => {
      if (current === undefined || current.versions.length === 0)
        throw new NotFoundError(`no key named ${name}`);
      const known = new Set(current.versions.map((v) => v.version));
      for (const n of versions) if (!known.has(n)) throw new NotFoundError(`key ${name} has no version ${n}`);
      const wanted = new Set(versions);
      const next: SecretRecord = {
        path,
        versions: current.versions.map((v) =>
          wanted.has(v.version) && v.deletedTime === null ? { ...v, deletedTime: t } : v,
        ),
        metadata: { ...current.metadata, updatedTime: t },
      };
      return { next, result: undefined };
    });
  }

  async list(): Promise<KeyListEntry[]> {
    const scan = await this.store.scanSecretPaths();
    const out: KeyListEntry[] = [];
    for (const path of scan.paths) {
      if (!isKeyStorePath(path)) continue;
      const read = await this.store.getSecretVersion(path, 0);
      if (read?.version === undefined) continue;
      const algorithm = algorithmOf(read.version);
      out.push({
        name: path.slice(KEY_NAMESPACE.length),
        algorithm,
        purpose: purposeOf(algorithm),
        latestVersion: read.version.version,
      });
    }
    return out;
  }

  async describe(name: string): Promise<ResponseBody<KeyPublicResponse>> {
    const rec = await this.record(name);
    const versions = rec.versions.map(stored);
    const algorithm = (versions.at(-1) as StoredVersion).algorithm;
    return {
      name,
      algorithm,
      purpose: purposeOf(algorithm),
      approvalRequired: this.approvals.required(name),
      versions: await Promise.all(
        versions.map(async (v) => ({
          version: v.version,
          createdTime: iso(v.createdTime),
          retiredTime: v.retiredTime === null ? null : iso(v.retiredTime),
          ...(await publicView(v.algorithm, v.publicKey)),
        })),
      ),
    };
  }

  async sign(
    peerId: string,
    name: string,
    message: Uint8Array,
    note?: Parameters<KeyApprovalHook['check']>[3],
  ): Promise<{ version: number; signature: string }> {
    this.checkPayload(message, 'message');
    // Opens only the newest version, however many the key has.
    const read = await this.store.getSecretVersion(keyStorePath(name), 0);
    if (read?.version === undefined) throw new NotFoundError(`no key named ${name}`);
    const newest = stored(read.version);
    if (purposeOf(newest.algorithm) !== 'sign') {
      throw new BadRequestError(`key ${name} is a ${newest.algorithm} key: it decrypts, it does not sign`);
    }
    if (newest.retiredTime !== null) {
      throw new BadRequestError(
        `the newest version (${newest.version}) of key ${name} is retired; rotate the key`,
      );
    }
    await this.approvals.check(peerId, name, 'sign', note);
    return {
      version: newest.version,
      signature: await signMessage(newest.algorithm, newest.privateKey, message),
    };
  }

  async verify(
    name: string,
    message: Uint8Array,
    signature: string,
  ): Promise<{ valid: boolean; version: number }> {
    this.checkPayload(message, 'message');
    const rec = await this.record(name);
    const live = rec.versions.map(stored).filter((v) => v.retiredTime === null);
    const algorithm = stored(rec.versions.at(-1) as SecretVersion).algorithm;
    if (purposeOf(algorithm) !== 'sign') {
      throw new BadRequestError(`key ${name} is a ${algorithm} key: it decrypts, it does not verify`);
    }
    for (const v of live.reverse()) {
      if (await verifyMessage(v.algorithm, v.publicKey, message, signature)) {
        return { valid: true, version: v.version };
      }
    }
    return { valid: false, version: 0 };
  }

  async decrypt(
    peerId: string,
    name: string,
    ciphertext: string,
    note?: Parameters<KeyApprovalHook['check']>[3],
  ): Promise<{ version: number; plaintext: Uint8Array }> {
    const rec = await this.record(name);
    const versions = rec.versions.map(stored);
    const algorithm = (versions.at(-1) as StoredVersion).algorithm;
    if (purposeOf(algorithm) !== 'decrypt') {
      throw new BadRequestError(`key ${name} is a ${algorithm} key: it signs, it does not decrypt`);
    }
    let bytes: Uint8Array | string;
    if (isOpenPgp(algorithm)) {
      bytes = await readPgpMessage(ciphertext);
    } else {
      const text = ciphertext.trim();
      if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
        throw new BadRequestError('ciphertext: must be standard base64 of the RSA-OAEP output');
      }
      bytes = new Uint8Array(Buffer.from(text, 'base64'));
    }
    await this.approvals.check(peerId, name, 'decrypt', note);
    for (const v of versions.filter((x) => x.retiredTime === null).reverse()) {
      try {
        return {
          version: v.version,
          plaintext: await decryptWith(v.algorithm, v.privateKey, bytes, this.maxPayload),
        };
      } catch (err) {
        if (!(err instanceof NotThisKeyError)) throw err;
      }
    }
    throw new BadRequestError(
      `the ciphertext does not decrypt under any version of key ${name} that is not retired`,
    );
  }
}
