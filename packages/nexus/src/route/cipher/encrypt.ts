/**
 * `POST /v1/cipher/encrypt` — AES-256-GCM under the cipher purpose key with a fresh random nonce.
 * JSON: `{"plaintext":b64}` → `{"version":1,"nonce":b64,"ciphertext":b64}`.
 * Stream: raw plaintext → `0x01 ‖ nonce ‖ ciphertext‖tag`.
 * Authorization runs before the body is read.
 */
import { aesGcmEncrypt, randomBytes, zeroize } from '@spike-ts/core';
import {
  CIPHER_ENCRYPT,
  BadRequestError,
  PlainTextError,
  StreamErrorCode,
  decodeCipherEncryptRequest,
  parseJsonBody,
  type CipherEncryptResponse,
  type ResponseBody,
} from '@spike-ts/protocol';
import type { RouteDeps } from '../deps.ts';
import { rawRoute, type RawResult, type Route, type RouteContext } from '../route.ts';
import { CIPHER_NONCE_SIZE, CIPHER_VERSION, isStreamMode, toBase64 } from './cipher-mode.ts';

function seal(deps: RouteDeps, plaintext: Uint8Array): { nonce: Uint8Array; ciphertext: Uint8Array } {
  const nonce = randomBytes(CIPHER_NONCE_SIZE);
  const ciphertext = deps.state.withCipherKey((key) => aesGcmEncrypt(key, nonce, plaintext));
  return { nonce, ciphertext };
}

async function encryptStream(
  deps: RouteDeps,
  ctx: RouteContext,
): Promise<RawResult<ResponseBody<CipherEncryptResponse>>> {
  const plaintext = await ctx.readBody();
  try {
    if (plaintext.length > deps.config.maxCipherSize) {
      throw new PlainTextError(StreamErrorCode.BadRequest, 'plaintext larger than the cipher size limit');
    }
    const { nonce, ciphertext } = seal(deps, plaintext);
    const out = new Uint8Array(1 + nonce.length + ciphertext.length);
    out[0] = CIPHER_VERSION;
    out.set(nonce, 1);
    out.set(ciphertext, 1 + nonce.length);
    return { kind: 'octets', status: 200, body: out };
  } finally {
    zeroize(plaintext);
  }
}

async function encryptJson(
  deps: RouteDeps,
  ctx: RouteContext,
): Promise<RawResult<ResponseBody<CipherEncryptResponse>>> {
  const body = await ctx.readBody();
  let plaintext: Uint8Array | undefined;
  try {
    plaintext = decodeCipherEncryptRequest(parseJsonBody(body)).plaintext;
    if (plaintext.length > deps.config.maxCipherSize) {
      throw new BadRequestError('plaintext larger than the cipher size limit');
    }
    const { nonce, ciphertext } = seal(deps, plaintext);
    return {
      kind: 'json',
      status: 200,
      body: { version: CIPHER_VERSION, nonce: toBase64(nonce), ciphertext: toBase64(ciphertext) },
    };
  } finally {
    zeroize(body, plaintext);
  }
}

export function cipherEncryptRoute(deps: RouteDeps): Route {
  return rawRoute(CIPHER_ENCRYPT, {
    authorize: (peerId) => deps.authz.cipher(peerId),
    handle: (ctx) => (isStreamMode(ctx.req) ? encryptStream(deps, ctx) : encryptJson(deps, ctx)),
  });
}
