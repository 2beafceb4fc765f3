/**
 * Encoding of SQLite rows: lookup ids (keyed HMAC of a path or policy name) and sealed envelopes.
 *
 * Keys: `storage` seals every envelope, `storage-index` keys the lookup HMAC; both are derived
 * from the root key and kept only here, as `KeyObject`s (node:crypto is several times slower
 * with raw key bytes, see `aesKeyObject` in `@spike-ts/core`). The derived bytes are zeroed as soon as the key
 * objects exist; `destroy()` drops the key objects (Node releases their copy when collected).
 * Associated data binds each envelope to its place: schema label, table, purpose, the row's
 * lookup id and (for versions) the version number. A row copied to another path, version or
 * table, or edited in any byte, fails to open and surfaces as `StoreIntegrityError`.
 */
import {
  associatedData,
  DecryptionError,
  hmacSha256,
  envelopeKeyId,
  openEnvelope,
  sealEnvelope,
  zeroize,
} from '@spike-ts/core';
import type { PolicyRecord, SecretMetadata, SecretVersion } from '@spike-ts/core';
import { firstKeyRing, KeyRing, KeysReplacedError } from './key-generations.ts';
import { checkName, copyData, copyMetadata, copyPolicyRecord } from './record-copy.ts';
import { StoreIntegrityError } from './store-error.ts';

/**
 * Key generation of a store's first root key, in every envelope header it seals; each root-key
 * rotation seals under the next generation (ADR 0044, `key-generations.ts`).
 */
export const STORAGE_KEY_ID = 1;
const SCHEME = 'spike-ts/store/sqlite/v1';

/** Decrypted content of a `secrets` row. */
export interface SecretHead {
  readonly path: string;
  readonly metadata: SecretMetadata;
  /** Version numbers whose rows must exist in `secret_versions`, ascending. */
  readonly versions: readonly number[];
  /**
   * `[createdTime, deletedTime]` of each version, aligned with `versions`. Written by every head
   * since it was added, so a write can plan its rows without opening the versions it keeps;
   * absent in heads written before.
   */
  readonly times?: readonly (readonly [number, number | null])[];
}

export interface RowCodec {
  pathId(path: string): Uint8Array;
  nameId(name: string): Uint8Array;
  sealHead(pathId: Uint8Array, head: SecretHead): Uint8Array;
  openHead(pathId: Uint8Array, envelope: Uint8Array): SecretHead;
  sealVersion(pathId: Uint8Array, version: SecretVersion): Uint8Array;
  openVersion(pathId: Uint8Array, version: number, envelope: Uint8Array): SecretVersion;
  sealPolicy(nameId: Uint8Array, policy: PolicyRecord): Uint8Array;
  openPolicy(nameId: Uint8Array, envelope: Uint8Array): PolicyRecord;
  /** The same row sealed under the write generation (null when it already is). Throws like `open*`. */
  resealHead(pathId: Uint8Array, envelope: Uint8Array): Uint8Array | null;
  resealVersion(pathId: Uint8Array, version: number, envelope: Uint8Array): Uint8Array | null;
  resealPolicy(nameId: Uint8Array, envelope: Uint8Array): Uint8Array | null;
  /** The keys this codec uses (owned by it). */
  readonly ring: KeyRing;
  /** Zeroes the derived keys; the codec is unusable afterwards. */
  destroy(): void;
}

/** An envelope sealed under a generation the codec holds no key for (another process rotated). */
export class UnknownKeyGenerationError extends StoreIntegrityError {
  readonly generation: number;
  constructor(where: string, generation: number) {
    super(
      `${where}: sealed under root-key generation ${String(generation)}, which this process does not hold`,
    );
    this.generation = generation;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A codec over `keys`: a root key (generation 1, the store's first key) or a ring of generations
 * (`key-generations.ts`). The codec owns the ring and destroys it with itself.
 */
export function createRowCodec(keys: Uint8Array | KeyRing): RowCodec {
  const ring = keys instanceof KeyRing ? keys : firstKeyRing(keys);
  let destroyed = false;

  const lookupId = (domain: string, name: string): Uint8Array => {
    if (destroyed) throw new KeysReplacedError();
    // The domain ends in NUL, which separates it unambiguously from the name.
    return hmacSha256(ring.indexKey(), [`${SCHEME}/${domain}\0`, name]);
  };

  const sealBytes = (aad: Uint8Array, plaintext: Uint8Array): Uint8Array => {
    if (destroyed) throw new KeysReplacedError();
    const generation = ring.writeGeneration;
    const key = ring.storageKey(generation);
    if (key === undefined) throw new Error('row codec has no write key');
    return sealEnvelope(key, generation, plaintext, aad);
  };

  const seal = (aad: Uint8Array, value: unknown): Uint8Array => {
    const plaintext = encoder.encode(JSON.stringify(value));
    try {
      return sealBytes(aad, plaintext);
    } finally {
      zeroize(plaintext);
    }
  };

  /** The plaintext of an envelope (the caller zeroes it). */
  const openBytes = (aad: Uint8Array, envelope: Uint8Array, where: string): Uint8Array => {
    if (destroyed) throw new KeysReplacedError();
    let generation: number;
    try {
      generation = envelopeKeyId(envelope);
    } catch (err) {
      throw new StoreIntegrityError(`${where}: row does not authenticate`, { cause: err });
    }
    const key = ring.storageKey(generation);
    if (key === undefined) {
      if (generation > ring.writeGeneration) throw new UnknownKeyGenerationError(where, generation);
      throw new StoreIntegrityError(`${where}: unknown key id`);
    }
    try {
      return openEnvelope(key, envelope, aad);
    } catch (err) {
      if (err instanceof KeysReplacedError) throw err;
      throw new StoreIntegrityError(`${where}: row does not authenticate`, { cause: err });
    }
  };

  const reseal = (aad: Uint8Array, envelope: Uint8Array, where: string): Uint8Array | null => {
    if (envelopeKeyId(envelope) === ring.writeGeneration) return null;
    const plaintext = openBytes(aad, envelope, where);
    try {
      return sealBytes(aad, plaintext);
    } finally {
      zeroize(plaintext);
    }
  };

  const open = (aad: Uint8Array, envelope: Uint8Array, where: string): Record<string, unknown> => {
    let plaintext: Uint8Array | undefined;
    try {
      plaintext = openBytes(aad, envelope, where);
      const value: unknown = JSON.parse(decoder.decode(plaintext));
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new TypeError('not an object');
      return value as Record<string, unknown>;
    } catch (err) {
      if (err instanceof StoreIntegrityError || err instanceof KeysReplacedError) throw err;
      const reason =
        err instanceof DecryptionError ? 'row does not authenticate' : 'row content is malformed';
      throw new StoreIntegrityError(`${where}: ${reason}`, { cause: err });
    } finally {
      zeroize(plaintext);
    }
  };

  /** Runs a decoder over opened content; any shape error becomes an integrity error. */
  const decode = <T>(where: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreIntegrityError) throw err;
      throw new StoreIntegrityError(`${where}: row content is malformed`, { cause: err });
    }
  };

  // associatedData(a, b, c, d) is associatedData(a, b) followed by associatedData(c, d) (each
  // part is length-prefixed), so the constant leading parts are encoded once.
  const headPrefix = associatedData(SCHEME, 'secrets', 'head');
  const versionPrefix = associatedData(SCHEME, 'secret_versions', 'version');
  const policyPrefix = associatedData(SCHEME, 'policies', 'policy');
  const headAad = (pathId: Uint8Array): Uint8Array => Buffer.concat([headPrefix, associatedData(pathId)]);
  const versionAad = (pathId: Uint8Array, version: number): Uint8Array =>
    Buffer.concat([versionPrefix, associatedData(pathId, String(version))]);
  const policyAad = (nameId: Uint8Array): Uint8Array => Buffer.concat([policyPrefix, associatedData(nameId)]);

  return {
    pathId: (path) => lookupId('secret-path', path),
    nameId: (name) => lookupId('policy-name', name),

    sealHead: (pathId, head) =>
      seal(headAad(pathId), {
        p: head.path,
        m: head.metadata,
        v: head.versions,
        ...(head.times === undefined ? {} : { t: head.times }),
      }),
    openHead(pathId, envelope) {
      const where = 'table secrets';
      const o = open(headAad(pathId), envelope, where);
      return decode(where, () => {
        const versions = o['v'];
        if (
          !Array.isArray(versions) ||
          !versions.every((v) => Number.isSafeInteger(v) && (v as number) > 0)
        ) {
          throw new TypeError('bad version list');
        }
        const times = o['t'] === undefined ? undefined : versionTimes(o['t'], versions.length);
        return {
          path: checkName(o['p'], 'path'),
          metadata: copyMetadata(o['m']),
          versions: versions as number[],
          ...(times === undefined ? {} : { times }),
        };
      });
    },

    sealVersion: (pathId, v) =>
      seal(versionAad(pathId, v.version), { d: v.data, c: v.createdTime, x: v.deletedTime }),
    openVersion(pathId, version, envelope) {
      const where = `table secret_versions, version ${version}`;
      const o = open(versionAad(pathId, version), envelope, where);
      return decode(where, () => {
        const c = o['c'];
        const x = o['x'];
        if (typeof c !== 'number' || (x !== null && typeof x !== 'number')) throw new TypeError('bad times');
        return Object.freeze({ version, data: copyData(o['d']), createdTime: c, deletedTime: x });
      });
    },

    sealPolicy: (nameId, policy) => seal(policyAad(nameId), policy),
    openPolicy(nameId, envelope) {
      const where = 'table policies';
      const o = open(policyAad(nameId), envelope, where);
      return decode(where, () => copyPolicyRecord(o as unknown as PolicyRecord));
    },

    resealHead: (pathId, envelope) => reseal(headAad(pathId), envelope, 'table secrets'),
    resealVersion: (pathId, version, envelope) =>
      reseal(versionAad(pathId, version), envelope, `table secret_versions, version ${String(version)}`),
    resealPolicy: (nameId, envelope) => reseal(policyAad(nameId), envelope, 'table policies'),
    ring,

    destroy() {
      destroyed = true;
      ring.destroy();
    },
  };
}

function versionTimes(value: unknown, count: number): (readonly [number, number | null])[] {
  const isTime = (t: unknown): t is number => typeof t === 'number' && Number.isFinite(t);
  if (!Array.isArray(value) || value.length !== count) throw new TypeError('bad version times');
  return value.map((pair: unknown) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError('bad version times');
    const [created, deleted] = pair as unknown[];
    if (!isTime(created) || (deleted !== null && !isTime(deleted))) throw new TypeError('bad version times');
    return [created, deleted] as const;
  });
}
