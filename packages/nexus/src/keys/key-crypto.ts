/**
 * The cryptography of named keys: generating a key pair, signing, verifying, decrypting, and the
 * public views (PEM, JWK, armored OpenPGP). Composes node:crypto (Ed25519, ECDSA, RSA-PSS,
 * RSA-OAEP) and openpgp.js (OpenPGP keys, detached signatures, messages); nothing hand-written.
 *
 * Fixed choices (documented in docs/keys.md, ADR 0039):
 * - ECDSA P-256 signs SHA-256, P-384 SHA-384; signatures are DER (what openssl writes);
 * - RSA-PSS signs SHA-256 with MGF1-SHA-256 and a 32-byte salt;
 * - RSA-OAEP decrypts SHA-256 / MGF1-SHA-256, no label;
 * - OpenPGP keys are v4: Ed25519 (legacy EdDSA) primary; backup keys add a Curve25519 ECDH
 *   encryption subkey; signatures are armored, detached, over the message as binary.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  privateDecrypt,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import * as openpgp from 'openpgp';
import { BadRequestError, isOpenPgp, type KeyAlgorithm } from '@spike-ts/protocol';

const generatePair = promisify(generateKeyPair);

async function generate(
  type: 'ed25519' | 'ec' | 'rsa',
  options: { namedCurve?: string; modulusLength?: number },
): Promise<KeyMaterial> {
  const pair = await (
    generatePair as unknown as (t: string, o: object) => Promise<{ publicKey: string; privateKey: string }>
  )(type, {
    ...options,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** One generated key version as it is stored (sealed) — the private half is secret material. */
export interface KeyMaterial {
  /** PKCS#8 PEM, or an armored OpenPGP private key. Never leaves Nexus. */
  readonly privateKey: string;
  /** SPKI PEM, or an armored OpenPGP public key. */
  readonly publicKey: string;
}

export interface PublicView {
  readonly publicKeyPem: string | null;
  readonly publicKeyJwk: Record<string, string> | null;
  readonly publicKeyArmored: string | null;
  readonly fingerprint: string | null;
}

/** A signature or ciphertext that is not well-formed for the key's algorithm (400). */
export class MalformedInputError extends BadRequestError {
  override readonly name: string = 'MalformedInputError';
}

function userIdOf(userId: string): { name?: string; email?: string } {
  const m = /^([^<>]*)<([^<>\s]+)>\s*$/.exec(userId);
  if (m === null) return { name: userId };
  const name = (m[1] ?? '').trim();
  return { ...(name === '' ? {} : { name }), email: m[2] ?? '' };
}

export async function generateKeyMaterial(algorithm: KeyAlgorithm, userId: string): Promise<KeyMaterial> {
  if (isOpenPgp(algorithm)) {
    const { privateKey, publicKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [userIdOf(userId)],
      // A signing key has no encryption subkey; a backup key gets one Curve25519 ECDH subkey.
      subkeys: algorithm === 'openpgp-ed25519' ? [] : [{ type: 'ecc', curve: 'curve25519Legacy' }],
      format: 'armored',
    });
    return { privateKey, publicKey };
  }
  switch (algorithm) {
    case 'ed25519':
      return await generate('ed25519', {});
    case 'ecdsa-p256':
      return await generate('ec', { namedCurve: 'P-256' });
    case 'ecdsa-p384':
      return await generate('ec', { namedCurve: 'P-384' });
    case 'rsa-pss-3072':
    case 'rsa-oaep-3072':
      return await generate('rsa', { modulusLength: 3072 });
    case 'rsa-pss-4096':
    case 'rsa-oaep-4096':
      return await generate('rsa', { modulusLength: 4096 });
  }
  throw new BadRequestError(`algorithm ${algorithm} cannot be generated`);
}

/** node:crypto's digest name and options for a non-OpenPGP signing algorithm. */
function signParams(
  algorithm: KeyAlgorithm,
  key: KeyObject,
): { digest: string | null; key: KeyObject | object } {
  switch (algorithm) {
    case 'ed25519':
      return { digest: null, key };
    case 'ecdsa-p256':
      return { digest: 'sha256', key };
    case 'ecdsa-p384':
      return { digest: 'sha384', key };
    case 'rsa-pss-3072':
    case 'rsa-pss-4096':
      return { digest: 'sha256', key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } };
    default:
      throw new BadRequestError(`a ${algorithm} key cannot sign`);
  }
}

/** Signs `message`: base64 of the raw signature, or an armored detached OpenPGP signature. */
export async function signMessage(
  algorithm: KeyAlgorithm,
  privateKey: string,
  message: Uint8Array,
): Promise<string> {
  if (algorithm === 'openpgp-ed25519') {
    const key = await openpgp.readPrivateKey({ armoredKey: privateKey });
    const signature: unknown = await openpgp.sign({
      message: await openpgp.createMessage({ binary: message }),
      signingKeys: key,
      detached: true,
      format: 'armored',
    });
    return signature as string;
  }
  const p = signParams(algorithm, createPrivateKey(privateKey));
  return nodeSign(p.digest, message, p.key as KeyObject).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** The key ID of a hidden recipient (`gpg --throw-keyids`). */
const WILDCARD = '0000000000000000';

/** Whether `signature` (as signMessage writes it) verifies `message` under `publicKey`. */
export async function verifyMessage(
  algorithm: KeyAlgorithm,
  publicKey: string,
  message: Uint8Array,
  signature: string,
): Promise<boolean> {
  if (algorithm === 'openpgp-ed25519') {
    let sig: openpgp.Signature;
    try {
      sig = await openpgp.readSignature({ armoredSignature: signature });
    } catch {
      throw new MalformedInputError('signature: not an armored OpenPGP signature');
    }
    const key = await openpgp.readKey({ armoredKey: publicKey });
    const result = await openpgp.verify({
      message: await openpgp.createMessage({ binary: message }),
      signature: sig,
      verificationKeys: key,
      expectSigned: false,
    });
    for (const v of result.signatures) {
      try {
        await v.verified;
        return true;
      } catch {
        // Not this key's signature, or a bad one: try the next.
      }
    }
    return false;
  }
  if (signature.length % 4 !== 0 || !BASE64.test(signature)) {
    throw new MalformedInputError('signature: must be standard base64');
  }
  const p = signParams(algorithm, createPublicKey(publicKey));
  try {
    return nodeVerify(p.digest, message, p.key as KeyObject, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** A ciphertext that does not decrypt under this key version. */
export class NotThisKeyError extends Error {
  override readonly name = 'NotThisKeyError';
}

/**
 * Checks an OpenPGP message (armored text, or base64 of the binary form) and returns it in the
 * form `decryptWith` takes: the armored text, or the binary bytes.
 */
export async function readPgpMessage(ciphertext: string): Promise<string | Uint8Array> {
  const text = ciphertext.trim();
  if (text.startsWith('-----BEGIN PGP MESSAGE-----')) {
    try {
      await openpgp.readMessage({ armoredMessage: text });
      return text;
    } catch {
      throw new MalformedInputError('ciphertext: not a well-formed armored OpenPGP message');
    }
  }
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new MalformedInputError('ciphertext: an armored OpenPGP message or base64 of a binary one');
  }
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  try {
    await openpgp.readMessage({ binaryMessage: bytes });
  } catch {
    throw new MalformedInputError('ciphertext: not a well-formed OpenPGP message');
  }
  return bytes;
}

/**
 * Decrypts with one key version. Throws `NotThisKeyError` when the ciphertext is not for this
 * key (or does not authenticate), a `BadRequestError` when the plaintext is over `limit`.
 */
export async function decryptWith(
  algorithm: KeyAlgorithm,
  privateKey: string,
  ciphertext: Uint8Array | string,
  limit: number,
): Promise<Uint8Array> {
  if (algorithm === 'openpgp-cv25519') {
    const key = await openpgp.readPrivateKey({ armoredKey: privateKey });
    // Parsed afresh for each key version tried: a parsed message is read only once.
    const message =
      typeof ciphertext === 'string'
        ? await openpgp.readMessage({ armoredMessage: ciphertext })
        : await openpgp.readMessage({ binaryMessage: ciphertext.slice() });
    // Only a key the message names (or a hidden recipient) is tried: openpgp.js is not asked to
    // decrypt with a key the message was not made for.
    const wanted = message.getEncryptionKeyIDs();
    const mine = key.getKeyIDs();
    if (!wanted.some((w) => w.toHex() === WILDCARD || mine.some((k) => k.equals(w)))) {
      throw new NotThisKeyError('not encrypted to this key');
    }
    let data: Uint8Array;
    try {
      // The cap applies while decompressing, so a small compressed message cannot expand without bound.
      const result: unknown = await openpgp.decrypt({
        message,
        decryptionKeys: key,
        format: 'binary',
        config: { maxDecompressedMessageSize: limit },
      });
      data = (result as { data: Uint8Array }).data;
    } catch (err) {
      if (err instanceof Error && /[Dd]ecompressed/.test(err.message)) {
        throw new BadRequestError('plaintext larger than the cipher size limit');
      }
      throw new NotThisKeyError('not encrypted to this key, or the message does not authenticate');
    }
    if (data.length > limit) {
      data.fill(0);
      throw new BadRequestError('plaintext larger than the cipher size limit');
    }
    return data;
  }
  if ((algorithm === 'rsa-oaep-3072' || algorithm === 'rsa-oaep-4096') && typeof ciphertext !== 'string') {
    try {
      const out = privateDecrypt(
        { key: createPrivateKey(privateKey), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        ciphertext,
      );
      const copy = new Uint8Array(out);
      out.fill(0);
      return copy;
    } catch {
      throw new NotThisKeyError('not encrypted to this key');
    }
  }
  throw new BadRequestError(`a ${algorithm} key cannot decrypt`);
}

export async function publicView(algorithm: KeyAlgorithm, publicKey: string): Promise<PublicView> {
  if (isOpenPgp(algorithm)) {
    const key = await openpgp.readKey({ armoredKey: publicKey });
    return {
      publicKeyPem: null,
      publicKeyJwk: null,
      publicKeyArmored: key.armor(),
      fingerprint: key.getFingerprint(),
    };
  }
  const key = createPublicKey(publicKey);
  const jwk = key.export({ format: 'jwk' }) as Record<string, unknown>;
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(jwk)) if (typeof v === 'string') strings[k] = v;
  return {
    publicKeyPem: key.export({ type: 'spki', format: 'pem' }) as string,
    publicKeyJwk: strings,
    publicKeyArmored: null,
    fingerprint: null,
  };
}
