/**
 * @module key-client
 * SDK methods for the named keys of a SPIKE-TS Nexus (ours, not SPIKE's): create, rotate,
 * retire, list, fetch public keys, sign, verify, decrypt. Private keys never reach the client.
 */
import {
  KEY_CREATE,
  KEY_DECRYPT,
  KEY_LIST,
  KEY_PUBLIC,
  KEY_RETIRE,
  KEY_ROTATE,
  KEY_SIGN,
  KEY_VERIFY,
  type ResponseBody,
  type RouteSpec,
} from '@spike-ts/protocol';
import { readBase64, readBool, readInt, readString } from './decode-response.ts';
import { SpikeError } from './spike-error.ts';

export interface KeySummary {
  readonly name: string;
  readonly algorithm: string;
  readonly purpose: 'sign' | 'decrypt';
  readonly latestVersion: number;
}

export interface KeyVersionInfo {
  readonly version: number;
  readonly createdTime: string;
  /** null while the version is in use. */
  readonly retiredTime: string | null;
  readonly publicKeyPem: string | null;
  readonly publicKeyJwk: Readonly<Record<string, string>> | null;
  readonly publicKeyArmored: string | null;
  readonly fingerprint: string | null;
}

export interface KeyInfo {
  readonly name: string;
  readonly algorithm: string;
  readonly purpose: 'sign' | 'decrypt';
  readonly approvalRequired: boolean;
  readonly versions: readonly KeyVersionInfo[];
}

export interface KeyMethods {
  /** Generate a key inside Nexus (`write` on its name); returns version 1. */
  create(name: string, algorithm: string, opts?: { userId?: string }): Promise<number>;
  /** A new version (`write`); signing uses it from now on. */
  rotate(name: string): Promise<number>;
  /** Retire versions (`write`): they no longer sign, verify or decrypt. */
  retire(name: string, versions: readonly number[]): Promise<void>;
  /** Every key (`list` on `spike/system/keys`). */
  list(): Promise<KeySummary[]>;
  /** Versions and public keys (`read` or `verify`). */
  get(name: string): Promise<KeyInfo>;
  /** Sign with the newest version (`sign`): base64, or an armored OpenPGP signature. */
  sign(name: string, message: Uint8Array): Promise<{ version: number; signature: string }>;
  /** Verify against every version not retired (`verify`). */
  verify(name: string, message: Uint8Array, signature: string): Promise<{ valid: boolean; version: number }>;
  /** Decrypt inside Nexus (`decrypt`): base64 RSA-OAEP output or an OpenPGP message. */
  decrypt(name: string, ciphertext: string): Promise<{ version: number; plaintext: Uint8Array }>;
}

type Answer<Res> = { readonly [K in keyof ResponseBody<Res>]?: unknown };
type Post = <Req, Decoded, Res>(spec: RouteSpec<Req, Decoded, Res>, body: Req) => Promise<Answer<Res>>;

function malformed(): SpikeError {
  return new SpikeError('unknown', 200, 'SPIKE Nexus sent a malformed key answer.');
}
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const purpose = (v: string): 'sign' | 'decrypt' => {
  if (v !== 'sign' && v !== 'decrypt') throw malformed();
  return v;
};
const nullableString = (o: Record<string, unknown>, f: string): string | null => {
  const v = o[f];
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw malformed();
  return v;
};

export function createKeyMethods(post: Post): KeyMethods {
  return {
    async create(name, algorithm, opts = {}) {
      const res = await post(KEY_CREATE, {
        name,
        algorithm,
        ...(opts.userId === undefined ? {} : { userId: opts.userId }),
      });
      return readInt(res, 'version');
    },
    async rotate(name) {
      return readInt(await post(KEY_ROTATE, { name }), 'version');
    },
    async retire(name, versions) {
      await post(KEY_RETIRE, { name, versions: [...versions] });
    },
    async list() {
      const res = await post(KEY_LIST, {});
      const keys = res.keys ?? [];
      if (!Array.isArray(keys)) throw malformed();
      return keys.map((k: unknown) => {
        const o = (typeof k === 'object' && k !== null ? k : {}) as Record<string, unknown>;
        return {
          name: readString(o, 'name'),
          algorithm: readString(o, 'algorithm'),
          purpose: purpose(readString(o, 'purpose')),
          latestVersion: readInt(o, 'latestVersion'),
        };
      });
    },
    async get(name) {
      const res = await post(KEY_PUBLIC, { name });
      const versions = res.versions ?? [];
      if (!Array.isArray(versions)) throw malformed();
      return {
        name: readString(res, 'name'),
        algorithm: readString(res, 'algorithm'),
        purpose: purpose(readString(res, 'purpose')),
        approvalRequired: readBool(res, 'approvalRequired'),
        versions: versions.map((v: unknown) => {
          const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
          const jwk = o['publicKeyJwk'];
          if (jwk !== null && jwk !== undefined && (typeof jwk !== 'object' || Array.isArray(jwk)))
            throw malformed();
          return {
            version: readInt(o, 'version'),
            createdTime: readString(o, 'createdTime'),
            retiredTime: nullableString(o, 'retiredTime'),
            publicKeyPem: nullableString(o, 'publicKeyPem'),
            publicKeyJwk: jwk === null || jwk === undefined ? null : (jwk as Record<string, string>),
            publicKeyArmored: nullableString(o, 'publicKeyArmored'),
            fingerprint: nullableString(o, 'fingerprint'),
          };
        }),
      };
    },
    async sign(name, message) {
      const res = await post(KEY_SIGN, { name, message: b64(message) });
      return { version: readInt(res, 'version'), signature: readString(res, 'signature') };
    },
    async verify(name, message, signature) {
      const res = await post(KEY_VERIFY, { name, message: b64(message), signature });
      return { valid: readBool(res, 'valid'), version: readInt(res, 'version') };
    },
    async decrypt(name, ciphertext) {
      const res = await post(KEY_DECRYPT, { name, ciphertext });
      return { version: readInt(res, 'version'), plaintext: readBase64(res, 'plaintext') };
    },
  };
}
