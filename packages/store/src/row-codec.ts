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
  aesKeyObject,
  associatedData,
  DecryptionError,
  derivePurposeKey,
  hmacSha256,
  envelopeKeyId,
  openEnvelope,
  sealEnvelope,
  zeroize,
} from '@spike-ts/core';
import type { AesKeyObject, PolicyRecord, SecretMetadata, SecretVersion } from '@spike-ts/core';
import { checkName, copyData, copyMetadata, copyPolicyRecord } from './record-copy.ts';
import { StoreIntegrityError } from './store-error.ts';

/** Key generation written into every envelope header (rotation will add generation 2, ...). */
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
  /** Zeroes the derived keys; the codec is unusable afterwards. */
  destroy(): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function createRowCodec(rootKey: Uint8Array): RowCodec {
  let storageKey: AesKeyObject | undefined = keyObject(derivePurposeKey(rootKey, 'storage'));
  let indexKey: AesKeyObject | undefined = keyObject(derivePurposeKey(rootKey, 'storage-index'));
  let destroyed = false;

  const lookupId = (domain: string, name: string): Uint8Array => {
    if (destroyed || indexKey === undefined) throw new Error('row codec destroyed');
    // The domain ends in NUL, which separates it unambiguously from the name.
    return hmacSha256(indexKey, [`${SCHEME}/${domain}\0`, name]);
  };

  const seal = (aad: Uint8Array, value: unknown): Uint8Array => {
    if (destroyed || storageKey === undefined) throw new Error('row codec destroyed');
    const plaintext = encoder.encode(JSON.stringify(value));
    try {
      return sealEnvelope(storageKey, STORAGE_KEY_ID, plaintext, aad);
    } finally {
      zeroize(plaintext);
    }
  };

  const open = (aad: Uint8Array, envelope: Uint8Array, where: string): Record<string, unknown> => {
    if (destroyed || storageKey === undefined) throw new Error('row codec destroyed');
    let plaintext: Uint8Array | undefined;
    try {
      if (envelopeKeyId(envelope) !== STORAGE_KEY_ID)
        throw new StoreIntegrityError(`${where}: unknown key id`);
      plaintext = openEnvelope(storageKey, envelope, aad);
      const value: unknown = JSON.parse(decoder.decode(plaintext));
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new TypeError('not an object');
      return value as Record<string, unknown>;
    } catch (err) {
      if (err instanceof StoreIntegrityError) throw err;
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

    destroy() {
      destroyed = true;
      storageKey = undefined;
      indexKey = undefined;
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

/** A key object from freshly derived bytes, which are zeroed right away. */
function keyObject(derived: Uint8Array): AesKeyObject {
  try {
    return aesKeyObject(derived);
  } finally {
    zeroize(derived);
  }
}
